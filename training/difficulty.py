"""UniVG-R1's difficulty-aware weighting (§3.4, eq. 4): each prompt's group of G completions gets
the weight φ(mIoU), mIoU = the mean ACCURACY reward of the group (the task reward, not the format
reward), and φ scales that group's policy-gradient term (not the KL term).

φ options (UniVG-R1 Table 5): ``exp`` = exp(1 − mIoU) (the default, best in the paper),
``neg_log`` = −log(mIoU) (mIoU clipped below at ``NEG_LOG_FLOOR`` so that a group that got
everything wrong has a finite weight), ``square`` = (1 − mIoU)².
"""

from __future__ import annotations

import numpy as np

from realvlg.errors import InvalidInputError

DIFFICULTY_FUNCTIONS = ("exp", "neg_log", "square")
NEG_LOG_FLOOR = 1e-3


def difficulty_weight(miou, function: str = "exp") -> np.ndarray:
    """φ(mIoU) elementwise; ``miou`` in [0, 1]."""
    m = np.clip(np.asarray(miou, dtype=float), 0.0, 1.0)
    if function == "exp":
        return np.exp(1.0 - m)
    if function == "neg_log":
        return -np.log(np.maximum(m, NEG_LOG_FLOOR)) + 0.0
    if function == "square":
        return (1.0 - m) ** 2
    raise InvalidInputError(f"unknown difficulty function {function!r}; expected one of {DIFFICULTY_FUNCTIONS}")


def group_weights(accuracy, group_size: int, function: str = "exp") -> np.ndarray:
    """Per-completion weights from per-completion accuracies laid out group after group
    (``group_size`` consecutive completions share a prompt, TRL's order)."""
    acc = np.asarray(accuracy, dtype=float).reshape(-1, group_size)
    return np.repeat(difficulty_weight(acc.mean(axis=1), function), group_size)
