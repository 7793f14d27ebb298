"""Automatic sweeps of safe calibration poses, and collecting samples along them.

:func:`orbit_poses` turns a start pose about a pivot point, the board centre: each pose tilts the
start pose by ``tilt`` about a horizontal axis through the pivot (the axis direction going round
the circle from pose to pose, so the tilts cover two independent axes) and yaws it about the
vertical through the pivot; a camera that looked at the pivot keeps looking at it, and a board
held at the pivot keeps facing the camera. Every pose is checked against the workspace box before
any motion.

:func:`collect` moves a robot through the poses and grabs an image at each, after the robot has
stopped, with the pose it reports (base←ee); :func:`sweep_robot` does it with a
:class:`~realvlg.robots.franka.franka.FrankaExecutor` from its current pose and returns there;
:func:`pivot_ahead` is the point the sweep turns about for an eye-in-hand camera.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from realvlg.errors import InvalidInputError
from realvlg.robots.limits import WorkspaceBox


def orbit_poses(start: np.ndarray, pivot: Sequence[float], count: int = 12, *, tilt_deg: tuple[float, float] = (12, 25),
                yaw_deg: float = 25.0, approach_m: float = 0.04) -> np.ndarray:
    """``count`` poses (count, 4, 4) about ``pivot`` [m] from ``start`` (4x4, base frame), see the
    module docstring. Tilts alternate between ``tilt_deg`` values, yaws between ±``yaw_deg``;
    ``approach_m`` moves every other pose that far towards/away from the pivot."""
    if count < 1:
        raise InvalidInputError(f"count must be ≥ 1, got {count}")
    start, pivot = np.asarray(start, dtype=float), np.asarray(pivot, dtype=float)
    k = np.arange(count)
    phi = 2 * np.pi * k / count
    tilt = np.radians(np.where(k % 2 == 0, tilt_deg[1], tilt_deg[0]))
    yaw = np.radians(yaw_deg) * np.where(k % 3 == 0, 0.0, np.where(k % 3 == 1, 1.0, -1.0))
    axes = np.stack([np.cos(phi), np.sin(phi), np.zeros(count)], axis=1)
    R = (Rotation.from_rotvec(np.stack([np.zeros(count), np.zeros(count), yaw], axis=1))
         * Rotation.from_rotvec(axes * tilt[:, None])).as_matrix()
    poses = np.repeat(start[None], count, axis=0)
    poses[:, :3, :3] = R @ start[:3, :3]
    offset = R @ (start[:3, 3] - pivot)
    scale = 1.0 + np.where(k % 4 == 1, 1.0, np.where(k % 4 == 3, -1.0, 0.0)) * approach_m / np.linalg.norm(offset[0])
    poses[:, :3, 3] = pivot + offset * scale[:, None]
    return poses


def check_poses(poses: np.ndarray, workspace: WorkspaceBox) -> None:
    """Refuse (before any motion) a sweep with a pose outside the workspace box."""
    outside = ~workspace.contains(poses[:, :3, 3])
    if outside.any():
        k = int(np.argmax(outside))
        raise InvalidInputError(f"calibration pose {k} at {np.round(poses[k, :3, 3], 3).tolist()} m is outside the "
                                f"workspace box x {workspace.x} y {workspace.y} z {workspace.z}: reduce the tilt or "
                                f"move the centre pose")


def sweep_robot(executor, grab: Callable[[], np.ndarray], pivot: Sequence[float], count: int = 12, *,
                settle: Callable[[], None] = lambda: None, progress: bool = True) -> tuple[list[np.ndarray],
                                                                                       list[np.ndarray]]:
    """Sweep a :class:`~realvlg.robots.franka.franka.FrankaExecutor` (connected) through
    :func:`orbit_poses` about ``pivot`` from its current pose, grab an image at each pose, and
    return to the start. Every pose is checked against ``executor.config.workspace`` first."""
    start = executor.current_pose()
    poses = orbit_poses(start, pivot, count)
    check_poses(poses, executor.config.workspace)
    try:
        return collect(executor.move_to, executor.current_pose, grab, poses, settle, progress)
    finally:
        executor.move_to(start)


def pivot_ahead(base_T_ee: np.ndarray, distance: float, ee_T_camera: np.ndarray | None = None) -> np.ndarray:
    """The point ``distance`` [m] along the camera's optical axis (or, without a camera mount,
    along the ee approach axis z): where the board should lie for an eye-in-hand sweep."""
    T = np.asarray(base_T_ee, dtype=float) @ (np.eye(4) if ee_T_camera is None else ee_T_camera)
    return T[:3, 3] + distance * T[:3, 2]


def collect(move_to: Callable[[np.ndarray], None], current_pose: Callable[[], np.ndarray],
            grab: Callable[[], np.ndarray], poses: np.ndarray, settle: Callable[[], None] = lambda: None,
            progress: bool = True) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Move through ``poses``; at each: ``settle()``, read the robot pose, grab an RGB image.
    Returns (images, base_T_ee poses)."""
    images, measured = [], []
    for T in tqdm(poses, desc="calibration poses", disable=not progress):
        move_to(T)
        settle()
        measured.append(np.asarray(current_pose(), dtype=float))
        images.append(grab())
    return images, measured
