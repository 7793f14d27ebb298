"""Franka FR3 kinematics from its public parameters: forward kinematics and batched numerical IK.

Model: Franka's published Craig (modified) Denavit–Hartenberg table for the FR3 arm (the same
geometry as the Panda), the flange 0.107 m past joint 7, and the Franka Hand's TCP 0.1034 m past
the flange turned −45° about its z (:func:`realvlg.geometry.transforms.franka_hand_tcp`). Each
link transform is ``RotX(alpha) · TransX(a) · RotZ(q) · TransZ(d)``. Joint limits are the FR3's
(``FR3_Q_MIN`` / ``FR3_Q_MAX``, rad).

IK (:func:`solve_ik`): damped least squares on the 6-D pose error (position [m] and rotation
vector [rad]) with the geometric Jacobian, for a batch of targets at once, clamped to the joint
limits after each step, from several start configurations; a target is *reachable* when some
start converges below ``position_tolerance`` and ``rotation_tolerance``. The Franka hand is
symmetric under a half-turn about the approach, so :func:`reachable_grasps` tries both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.frames import FR3_HAND_TCP_OFFSET, FR3_HAND_YAW, FR3_LINK8_OFFSET

# Craig DH rows (a, d, alpha) of joints 1–7, then the flange (q = 0)
FR3_DH = np.array([
    [0.0, 0.333, 0.0],
    [0.0, 0.0, -math.pi / 2],
    [0.0, 0.316, math.pi / 2],
    [0.0825, 0.0, math.pi / 2],
    [-0.0825, 0.384, -math.pi / 2],
    [0.0, 0.0, math.pi / 2],
    [0.088, 0.0, math.pi / 2],
])
FR3_Q_MIN = np.array([-2.7437, -1.7837, -2.9007, -3.0421, -2.8065, 0.5445, -3.0159])
FR3_Q_MAX = np.array([2.7437, 1.7837, 2.9007, -0.1518, 2.8065, 4.5169, 3.0159])
IK_STARTS = np.array([
    [0.0, -0.5, 0.0, -2.2, 0.0, 1.7, 0.785],    # realvlg's home / observation pose
    [0.0, 0.2, 0.0, -1.8, 0.0, 2.0, 0.785],     # reaching forward and low
    [0.8, -0.2, 0.0, -2.0, 0.0, 1.8, 0.0],
    [-0.8, -0.2, 0.0, -2.0, 0.0, 1.8, 1.57],
])


def _link(a: float, d: float, alpha: float, q: np.ndarray) -> np.ndarray:
    """(B, 4, 4) Craig DH transforms for joint angles q (B,)."""
    ca, sa = math.cos(alpha), math.sin(alpha)
    cq, sq = np.cos(q), np.sin(q)
    T = np.zeros(q.shape + (4, 4))
    T[..., 0, 0], T[..., 0, 1], T[..., 0, 3] = cq, -sq, a
    T[..., 1, 0], T[..., 1, 1], T[..., 1, 2], T[..., 1, 3] = sq * ca, cq * ca, -sa, -sa * d
    T[..., 2, 0], T[..., 2, 1], T[..., 2, 2], T[..., 2, 3] = sq * sa, cq * sa, ca, ca * d
    T[..., 3, 3] = 1.0
    return T


def _joint7_to_tcp() -> np.ndarray:
    """joint-7 frame ← TCP: the flange FR3_LINK8_OFFSET along z, then the hand's offset and yaw."""
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec([0.0, 0.0, FR3_HAND_YAW]).as_matrix()
    T[2, 3] = FR3_LINK8_OFFSET + FR3_HAND_TCP_OFFSET
    return T


_J7_TO_TCP = _joint7_to_tcp()


def forward_kinematics(q: np.ndarray, joint_frames: bool = False):
    """base←TCP (B, 4, 4) for joint vectors q (B, 7) [rad]; with ``joint_frames`` also the (B, 7, 4, 4)
    frames of joints 1–7 (their z axes are the joint axes)."""
    q = np.atleast_2d(np.asarray(q, dtype=float))
    T = np.broadcast_to(np.eye(4), (len(q), 4, 4)).copy()
    frames = []
    for i, (a, d, alpha) in enumerate(FR3_DH):
        T = T @ _link(a, d, alpha, q[:, i])
        frames.append(T)
    tcp = T @ _J7_TO_TCP
    return (tcp, np.stack(frames, axis=1)) if joint_frames else tcp


def _jacobian(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TCP poses (B, 4, 4) and geometric Jacobians (B, 6, 7): rows 0–2 linear, 3–5 angular."""
    tcp, frames = forward_kinematics(q, joint_frames=True)
    z = frames[:, :, :3, 2]
    o = frames[:, :, :3, 3]
    J = np.concatenate([np.cross(z, tcp[:, None, :3, 3] - o), z], axis=-1)  # (B, 7, 6)
    return tcp, np.transpose(J, (0, 2, 1))


@dataclass(frozen=True)
class IKConfig:
    iterations: int = 80
    damping: float = 0.05
    position_tolerance: float = 0.005     # m
    rotation_tolerance: float = math.radians(3)
    max_step: float = 0.3                 # rad per joint per iteration


def solve_ik(targets: np.ndarray, config: IKConfig = IKConfig(),
             starts: np.ndarray = IK_STARTS) -> tuple[np.ndarray, np.ndarray]:
    """Joint solutions (N, 7) and a reachable flag (N,) for base←TCP targets (N, 4, 4)."""
    targets = np.asarray(targets, dtype=float).reshape(-1, 4, 4)
    n, s = len(targets), len(starts)
    goal = np.repeat(targets, s, axis=0)
    q = np.tile(starts, (n, 1))
    lam2 = config.damping ** 2
    for _ in range(config.iterations):
        tcp, J = _jacobian(q)
        dp = goal[:, :3, 3] - tcp[:, :3, 3]
        dr = Rotation.from_matrix(goal[:, :3, :3] @ np.transpose(tcp[:, :3, :3], (0, 2, 1))).as_rotvec()
        err = np.concatenate([dp, dr], axis=1)
        JJt = J @ np.transpose(J, (0, 2, 1)) + lam2 * np.eye(6)
        dq = np.einsum("bji,bj->bi", J, np.linalg.solve(JJt, err[..., None])[..., 0])
        dq = np.clip(dq, -config.max_step, config.max_step)
        q = np.clip(q + dq, FR3_Q_MIN, FR3_Q_MAX)
    tcp = forward_kinematics(q)
    pos_err = np.linalg.norm(goal[:, :3, 3] - tcp[:, :3, 3], axis=1)
    rot_err = np.linalg.norm(Rotation.from_matrix(goal[:, :3, :3] @ np.transpose(tcp[:, :3, :3], (0, 2, 1)))
                             .as_rotvec(), axis=1)
    ok = ((pos_err < config.position_tolerance) & (rot_err < config.rotation_tolerance)).reshape(n, s)
    cost = (pos_err + 0.1 * rot_err).reshape(n, s) + ~ok * 1e3
    pick = cost.argmin(axis=1)
    return q.reshape(n, s, 7)[np.arange(n), pick], ok.any(axis=1)


def reachable_grasps(base_from_grasp: np.ndarray, config: IKConfig = IKConfig()) -> tuple[np.ndarray, np.ndarray]:
    """For base-frame grasp poses (N, 4, 4) (= TCP targets, see :mod:`realvlg.robots.franka.franka`):
    (reachable (N,), joints (N, 7)), trying each grasp and its half-turn about the approach."""
    poses = np.asarray(base_from_grasp, dtype=float).reshape(-1, 4, 4)
    flipped = poses.copy()
    flipped[:, :3, :2] *= -1  # half-turn about z: x → −x, y → −y
    q, ok = solve_ik(np.concatenate([poses, flipped]), config)
    n = len(poses)
    use_flip = ~ok[:n] & ok[n:]
    return ok[:n] | ok[n:], np.where(use_flip[:, None], q[n:], q[:n])
