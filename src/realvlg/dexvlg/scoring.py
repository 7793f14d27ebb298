"""The paper's part-contact scores (DexVLG §6.2), pure: which fingers touch the instructed part,
PTA (at least one finger on it) and PGA (at least three). Used by ``realvlg dex-eval``
(:mod:`realvlg.sim.dex_eval`) and the generator's preview sheet."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from realvlg.errors import InvalidInputError


def finger_part_contacts(finger_points: np.ndarray, part_points: np.ndarray, part_ids: np.ndarray, target: int,
                         distance: float = 0.01) -> np.ndarray:
    """(F,) bool: finger ``f`` (points ``finger_points[f]`` (K, 3)) is on part ``target`` — its
    nearest distance to the part's points is < ``distance`` and smaller than to every other part.
    ``part_points`` (M, 3), ``part_ids`` (M,) label each point with its part."""
    fingers = np.asarray(finger_points, dtype=float)
    ids = np.asarray(part_ids).astype(int)
    if fingers.ndim != 3 or fingers.shape[-1] != 3:
        raise InvalidInputError(f"finger points are (F, K, 3), got {fingers.shape}")
    if not np.any(ids == target):
        raise InvalidInputError(f"no object points carry the target part id {target}")
    flat = fingers.reshape(-1, 3)
    nearest = {}
    for part in np.unique(ids):
        d, _ = cKDTree(np.asarray(part_points)[ids == part]).query(flat)
        nearest[int(part)] = d.reshape(fingers.shape[:2]).min(axis=1)
    on = nearest[target] < distance
    for part, d in nearest.items():
        if part != target:
            on &= nearest[target] < d
    return on


def pta_pga(contacts: np.ndarray) -> tuple[bool, bool]:
    """Paper §6.2: PTA = at least one finger on the target part, PGA = at least three."""
    n = int(np.count_nonzero(contacts))
    return n >= 1, n >= 3
