"""graspnetAPI interop at the file boundary: realvlg grasps → a ``GraspGroup`` ``.npy``, and a
GraspNet-1Billion ``meta.mat`` → camera intrinsics and depth scale.

graspnetAPI's conventions (``graspnetAPI.grasp.GraspGroup``; one row of 17 floats per grasp):
``score, width, height, depth, R (3x3, row-major), t (3), object_id``, in the camera frame, metres.

* ``R``: graspnetAPI's gripper frame has x = approach, y = closing, z = x × y; realvlg's
  (:class:`~realvlg.geometry.grasps.Grasp6D`, franky's TCP frame) has z = approach, y = closing,
  x = y × z. So graspnetAPI's columns are realvlg's ``[z, y, -x]``
  (:func:`~realvlg.geometry.grasps.to_graspnet_rotation`, and back with ``from_graspnet_rotation``).
* ``t``: realvlg's grasp centre (midway between the contacts) — the origin of both frames.
* ``width``: the opening between the fingers [m], realvlg's ``width``.
* ``depth``: how far the fingertips reach past ``t`` along the approach [m] (graspnetAPI draws the
  fingers from ``-depth_base`` to ``+depth`` along x). A grasp from the graspnet backend keeps its
  own (``extras["tip_depth"]``); otherwise the gripper's ``tip_beyond`` (Franka Hand: 1 cm).
* ``height``: the fingers' extent across the closing plane (graspnetAPI's z), ``finger_width``.
* ``object_id``: −1 (realvlg's grasps are not tied to a GraspNet object).

``meta.mat`` (GraspNet-1Billion ``scenes/scene_XXXX/<camera>/meta/XXXX.mat``): ``intrinsic_matrix``
(3x3 pinhole K) and ``factor_depth`` (depth units per metre: 1000 for its millimetre PNGs, so the
depth scale is ``1 / factor_depth`` metres per unit). It holds no image size: the caller gives the
depth image's.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import Grasp6D
from realvlg.planning.antipodal import GripperGeometry, graspnet_api, to_grasp_array


def grasp_group(grasps: Sequence[Grasp6D], gripper: GripperGeometry = GripperGeometry()):
    """A graspnetAPI ``GraspGroup`` of ``grasps`` (camera frame), in their order (module docstring)."""
    api = graspnet_api()
    if not grasps:
        return api.GraspGroup()
    rows = to_grasp_array(np.array([g.position for g in grasps]), np.array([g.matrix for g in grasps]),
                          np.array([g.width for g in grasps]), np.array([g.score for g in grasps]), gripper)
    rows[:, 3] = [g.extras.get("tip_depth", gripper.tip_beyond) for g in grasps]
    return api.GraspGroup(rows)


def save_grasp_group(grasps: Sequence[Grasp6D], path: str | os.PathLike,
                     gripper: GripperGeometry = GripperGeometry()) -> None:
    """Write ``grasps`` as a ``GraspGroup`` ``.npy`` that ``GraspGroup().from_npy(path)`` reads."""
    try:
        grasp_group(grasps, gripper).save_npy(str(path))
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot write the GraspGroup ({exc})") from None


def read_graspnet_meta(path: str | os.PathLike, width: int, height: int) -> tuple[CameraIntrinsics, float]:
    """(intrinsics of a ``width`` x ``height`` image, depth scale [m per unit]) from a GraspNet
    ``meta.mat``; InvalidInputError when the file is unreadable or lacks a usable K / factor_depth."""
    import scipy.io
    from scipy.io.matlab import MatReadError

    try:
        meta = scipy.io.loadmat(str(path))
    except (OSError, ValueError, NotImplementedError, MatReadError) as exc:
        raise InvalidInputError(f"{path}: not a readable GraspNet meta.mat ({exc})") from None
    missing = [key for key in ("intrinsic_matrix", "factor_depth") if key not in meta]
    if missing:
        raise InvalidInputError(f"{path}: a GraspNet meta.mat needs {', '.join(missing)}")
    K = np.asarray(meta["intrinsic_matrix"], dtype=float)
    factor = np.asarray(meta["factor_depth"], dtype=float).reshape(-1)
    if K.shape != (3, 3) or not np.isfinite(K).all() or factor.size != 1 or not np.isfinite(factor[0]) \
            or factor[0] <= 0:
        raise InvalidInputError(f"{path}: intrinsic_matrix must be a finite 3x3 matrix and factor_depth one "
                                f"positive number, got {K.shape} and {factor.tolist()}")
    intrinsics = CameraIntrinsics(int(width), int(height), K[0, 0], K[1, 1], K[0, 2], K[1, 2])
    return intrinsics, 1.0 / float(factor[0])
