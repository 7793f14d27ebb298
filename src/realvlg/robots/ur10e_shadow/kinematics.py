"""Universal Robots UR10e kinematics from its published DH parameters (standard DH: each link is
``RotZ(q) · TransZ(d) · TransX(a) · RotX(alpha)``). Frames (:mod:`realvlg.frames`): ``base`` = the
DH base, z up — the frame the UR controller reports poses in (``getActualTCPPose`` with a zero
TCP offset) and ur_description's ``base`` (its ``base_link`` is this frame turned by π about z);
``tool0`` = the flange (z out of the flange). Metres, radians.

:func:`solve_ik` inverts :func:`forward_kinematics` in closed form (:func:`ik_candidates`: the
8 shoulder/elbow/wrist branches of the UR geometry, batched over poses) and picks the branch
nearest a reference configuration within the joint limits. :class:`UR10eReach` is what the
DexVLG ranking asks of the arm: can it hold the palm at a grasp and at its pre-grasp, and how far
from a singularity (the hand's mount :data:`realvlg.frames.TOOL0_T_PALM` brings palm poses to the
flange).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.frames import TOOL0_T_PALM

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
UR10E_READY_Q = (0.0, -math.pi / 2, math.pi / 2, -math.pi / 2, -math.pi / 2, 0.0)
"""Shoulder left, elbow up, wrist down over the table: the configuration IK prefers by default."""


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


def _link(theta: np.ndarray, i: int) -> np.ndarray:
    """(...,) angles → (..., 4, 4) transform of link i (0-based) of the DH table."""
    d, a, alpha = UR10E_DH[i]
    ct, st, ca, sa = np.cos(theta), np.sin(theta), math.cos(alpha), math.sin(alpha)
    A = np.zeros(np.shape(theta) + (4, 4))
    A[..., 0, 0], A[..., 0, 1], A[..., 0, 2], A[..., 0, 3] = ct, -st * ca, st * sa, a * ct
    A[..., 1, 0], A[..., 1, 1], A[..., 1, 2], A[..., 1, 3] = st, ct * ca, -ct * sa, a * st
    A[..., 2, 1], A[..., 2, 2], A[..., 2, 3] = sa, ca, d
    A[..., 3, 3] = 1.0
    return A


def _inv(T: np.ndarray) -> np.ndarray:
    out = np.zeros_like(T)
    R = np.swapaxes(T[..., :3, :3], -1, -2)
    out[..., :3, :3] = R
    out[..., :3, 3] = -(R @ T[..., :3, 3, None])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def ik_candidates(T_base_tool0: np.ndarray) -> np.ndarray:
    """(..., 4, 4) base←tool0 → (..., 8, 6) analytic IK branches (shoulder left/right × wrist
    up/down × elbow up/down) in (−π, π]; NaN where a branch has no solution (out of reach)."""
    T = np.asarray(T_base_tool0, dtype=float)
    d4, d6 = UR10E_DH[3, 0], UR10E_DH[5, 0]
    a2, a3 = UR10E_DH[1, 1], UR10E_DH[2, 1]
    batch = T.shape[:-2]
    R, p = T[..., :3, :3], T[..., :3, 3]
    p05 = p - d6 * R[..., :, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        # θ1: the wrist centre p05 seen from the base, offset by d4 sideways (2 branches)
        r = np.hypot(p05[..., 0], p05[..., 1])
        psi = np.arccos(d4 / r)
        phi = np.arctan2(p05[..., 1], p05[..., 0])
        t1 = np.stack([phi + psi, phi - psi], -1) + math.pi / 2                      # (..., 2)
        s1, c1 = np.sin(t1), np.cos(t1)
        # θ5: from the flange's position along the θ1 normal (2 branches each)
        c5 = (p[..., None, 0] * s1 - p[..., None, 1] * c1 - d4) / d6
        a5 = np.arccos(np.clip(c5, -1.0, 1.0))
        a5 = np.where(np.abs(c5) > 1.0 + 1e-9, np.nan, a5)
        t5 = np.stack([a5, -a5], -1)                                                # (..., 2, 2)
        s5 = np.sin(t5)
        t1 = np.broadcast_to(t1[..., None], t5.shape)
        s1, c1 = np.sin(t1), np.cos(t1)
        # θ6: from base axes seen in the flange frame (free when sin θ5 = 0: pick 0)
        Xx, Xy = R[..., 0, 0, None, None], R[..., 0, 1, None, None]
        Yx, Yy = R[..., 1, 0, None, None], R[..., 1, 1, None, None]
        t6 = np.arctan2((-Xy * s1 + Yy * c1) / s5, (Xx * s1 - Yx * c1) / s5)
        t6 = np.where(np.abs(s5) < 1e-9, 0.0, t6)
        # the planar 2-R chain θ2, θ3 (2 branches each) and θ4 closing the rotation
        T06 = T[..., None, None, :, :]
        T14 = _inv(_link(t1, 0)) @ T06 @ _inv(_link(t5, 4) @ _link(t6, 5))
        p13 = T14[..., :3, 3] - d4 * T14[..., :3, 1]
        n13 = np.linalg.norm(p13, axis=-1)
        c3 = (n13 ** 2 - a2 ** 2 - a3 ** 2) / (2 * a2 * a3)
        a3v = np.arccos(np.clip(c3, -1.0, 1.0))
        a3v = np.where(np.abs(c3) > 1.0 + 1e-9, np.nan, a3v)
        t3 = np.stack([a3v, -a3v], -1)                                              # (..., 2, 2, 2)
        p13x, p13y, n13 = p13[..., 0, None], p13[..., 1, None], n13[..., None]
        t2 = -np.arctan2(p13y, -p13x) + np.arcsin(np.clip(a3 * np.sin(t3) / n13, -1.0, 1.0))
        T14 = np.broadcast_to(T14[..., None, :, :], t3.shape + (4, 4))
        T34 = _inv(_link(t2, 1) @ _link(t3, 2)) @ T14
        t4 = np.arctan2(T34[..., 1, 0], T34[..., 0, 0])
    q = np.stack([np.broadcast_to(t1[..., None], t3.shape), t2, t3, t4,
                  np.broadcast_to(t5[..., None], t3.shape), np.broadcast_to(t6[..., None], t3.shape)], -1)
    q = q.reshape(batch + (8, 6))
    return np.angle(np.exp(1j * q))


@dataclass(frozen=True)
class IKSolution:
    """Batched IK result: ``q`` (..., 6) [rad] (NaN where unreachable), ``reachable`` (...,) bool,
    ``candidates`` (..., 8, 6): every analytic branch moved within the limits next to ``q_near``
    (NaN where a branch has no solution or leaves the limits)."""

    q: np.ndarray
    reachable: np.ndarray
    candidates: np.ndarray


def solve_ik(T_base_tool0: np.ndarray, q_near: np.ndarray | None = None, *,
             q_min: np.ndarray = UR10E_Q_MIN, q_max: np.ndarray = UR10E_Q_MAX,
             tolerance: float = 1e-6) -> IKSolution:
    """Inverse kinematics of the UR10e for (..., 4, 4) base←tool0 poses.

    Uses the closed-form solution of the UR's DH chain (8 branches, :func:`ik_candidates`). Each
    branch is moved by whole turns to the equivalent angles nearest ``q_near`` (default: zeros)
    that lie within ``[q_min, q_max]``, checked against :func:`forward_kinematics` (a branch
    whose pose misses the target by more than ``tolerance`` in any matrix entry is dropped), and
    the branch nearest ``q_near`` (largest joint move) is returned. Unreachable poses (beyond the
    arm's reach, inside the shoulder's d4 cylinder, or no branch within the limits) get
    ``reachable`` False and NaN angles."""
    T = np.asarray(T_base_tool0, dtype=float)
    if T.shape[-2:] != (4, 4):
        raise InvalidInputError(f"solve_ik takes (..., 4, 4) poses, got shape {T.shape}")
    if not np.isfinite(T).all():
        raise InvalidInputError("solve_ik: the target pose is not finite")
    batch = T.shape[:-2]
    near = np.zeros(batch + (6,)) if q_near is None else np.broadcast_to(np.asarray(q_near, dtype=float), batch + (6,))
    q_min, q_max = np.asarray(q_min, dtype=float), np.asarray(q_max, dtype=float)
    cand = ik_candidates(T)
    # whole turns towards q_near, then into the limits where a turn more or less fits
    cand = cand + 2 * math.pi * np.round((near[..., None, :] - cand) / (2 * math.pi))
    cand = np.where(cand < q_min, cand + 2 * math.pi, cand)
    cand = np.where(cand > q_max, cand - 2 * math.pi, cand)
    ok = np.all((cand >= q_min) & (cand <= q_max), axis=-1)          # False for NaN too
    residual = np.abs(forward_kinematics(np.nan_to_num(cand)) - T[..., None, :, :]).max(axis=(-1, -2))
    ok &= residual <= tolerance
    cand = np.where(ok[..., None], cand, np.nan)
    move = np.where(ok, np.abs(cand - near[..., None, :]).max(-1), np.inf)
    best = np.argmin(move, axis=-1)
    q = np.take_along_axis(cand, best[..., None, None], axis=-2)[..., 0, :]
    return IKSolution(q, ok.any(-1), cand)


@dataclass(frozen=True)
class UR10eReach:
    """UR10e reachability of Shadow Hand palm poses (the ranking's ``reach`` term).

    :meth:`reach` moves each base←palm pose to the flange through ``tool0_T_palm`` and solves IK
    near ``q_near`` within the joint limits, for the grasp and for its pre-grasp. The term is the
    distance from the UR's singularities at the grasp configuration: min(|sin q3| (elbow),
    |sin q5| (wrist)) over ``singularity_margin``, and the wrist centre's horizontal distance from
    the base axis minus d4 (shoulder; the two shoulder branches meet there) over
    ``shoulder_margin``, each saturating at 1."""

    q_near: tuple = UR10E_READY_Q
    q_min: tuple = tuple(UR10E_Q_MIN)
    q_max: tuple = tuple(UR10E_Q_MAX)
    tool0_T_palm: tuple = tuple(map(tuple, TOOL0_T_PALM))
    singularity_margin: float = math.sin(math.radians(15))
    shoulder_margin: float = 0.15

    def __post_init__(self) -> None:
        if not (self.singularity_margin > 0 and self.shoulder_margin > 0):
            raise InvalidInputError("UR10eReach: singularity_margin and shoulder_margin must be positive")

    def reach(self, T_base_palm: np.ndarray, T_base_pre: np.ndarray):
        """(N, 4, 4) grasp and pre-grasp palm poses → ``(q (N, 6), grasp ok (N,), pre-grasp ok
        (N,), term (N,) in [0, 1])``; q is NaN where the grasp is unreachable."""
        palm_T_tool0 = np.linalg.inv(np.asarray(self.tool0_T_palm, dtype=float))
        limits = {"q_min": np.asarray(self.q_min), "q_max": np.asarray(self.q_max)}
        sol = solve_ik(np.asarray(T_base_palm) @ palm_T_tool0, np.asarray(self.q_near), **limits)
        q_pre_near = np.where(sol.reachable[:, None], sol.q, np.asarray(self.q_near))
        pre_sol = solve_ik(np.asarray(T_base_pre) @ palm_T_tool0, q_pre_near, **limits)
        q = np.nan_to_num(sol.q)
        wrist = dh_transforms(q)[:, 4, :3, 3]                       # frame 5's origin (p05 of the IK)
        shoulder = (np.hypot(wrist[:, 0], wrist[:, 1]) - UR10E_DH[3, 0]) / self.shoulder_margin
        m = self.singularity_margin
        term = np.minimum.reduce([np.abs(np.sin(q[:, 2])) / m, np.abs(np.sin(q[:, 4])) / m, shoulder])
        return sol.q, sol.reachable, pre_sol.reachable, np.clip(term, 0.0, 1.0)
