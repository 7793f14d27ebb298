"""Universal Robots UR10e kinematics from its published DH parameters (standard DH: each link is
``RotZ(q) · TransZ(d) · TransX(a) · RotX(alpha)``). Frames: ``base`` = the robot's base_link
(z up), ``tool0`` = the flange (z out of the flange). Metres, radians.
"""

from __future__ import annotations

import math

import numpy as np

# (d, a, alpha) of joints 1–6, Universal Robots' published UR10e DH table
UR10E_DH = np.array([
    [0.1807, 0.0, math.pi / 2],
    [0.0, -0.6127, 0.0],
    [0.0, -0.57155, 0.0],
    [0.17415, 0.0, math.pi / 2],
    [0.11985, 0.0, -math.pi / 2],
    [0.11655, 0.0, 0.0],
])
UR10E_Q_MIN = np.full(6, -2 * math.pi)
UR10E_Q_MAX = np.full(6, 2 * math.pi)
UR10E_REACH = 1.3  # m, the data sheet's reach


def dh_transforms(q: np.ndarray) -> np.ndarray:
    """(..., 6) joint angles → (..., 6, 4, 4) base←link_i transforms (i = 1..6, the last = tool0)."""
    q = np.asarray(q, dtype=float)
    d, a, alpha = UR10E_DH.T
    ct, st = np.cos(q), np.sin(q)
    ca, sa = np.cos(alpha), np.sin(alpha)
    A = np.zeros(q.shape + (4, 4))
    A[..., 0, 0], A[..., 0, 1], A[..., 0, 2], A[..., 0, 3] = ct, -st * ca, st * sa, a * ct
    A[..., 1, 0], A[..., 1, 1], A[..., 1, 2], A[..., 1, 3] = st, ct * ca, -ct * sa, a * st
    A[..., 2, 1], A[..., 2, 2], A[..., 2, 3] = sa, ca, d
    A[..., 3, 3] = 1.0
    out = np.empty_like(A)
    T = np.broadcast_to(np.eye(4), q.shape[:-1] + (4, 4))
    for i in range(6):
        T = T @ A[..., i, :, :]
        out[..., i, :, :] = T
    return out


def forward_kinematics(q: np.ndarray) -> np.ndarray:
    """(..., 6) → (..., 4, 4) base←tool0."""
    return dh_transforms(q)[..., -1, :, :]
