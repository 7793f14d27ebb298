"""DexVLG (paper: ../shared/papers/dexvlg.md): language-instructed dexterous grasps with a Shadow Hand on a UR10e."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering, set before anything imports mujoco
