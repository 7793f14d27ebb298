"""realvlg training: GRPO / GSPO with verifiable rewards, SFT baselines and export (see docs/training.md).

Importing this package is cheap: TRL, datasets and accelerate are imported only by the modules
that train (:mod:`training.grpo`, :mod:`training.sft`).
"""
