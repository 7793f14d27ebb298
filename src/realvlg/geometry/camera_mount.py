"""The camera's own frames (realsense-ros's convention) and the hand-eye mount to its root frame.

realsense-ros publishes, on ``/tf_static``, ``camera_link`` (the camera's root: the depth
stream's body frame — the left infrared imager, x forward, y left, z up) → ``camera_color_frame``
(the colour imager's body frame) → ``camera_color_optical_frame`` (REP-103 optical: x right, y
down, z forward; images and aligned depth are in it):

* ``camera_link←camera_color_frame``: the device's colour→depth extrinsics (``p_depth_optical =
  R · p_color_optical + t``) turned into body axes, ``B · R · Bᵀ`` and ``B · t = (t_z, −t_x, −t_y)``
  with ``B`` = body←optical (:data:`~realvlg.frames.OPTICAL_RPY`);
  :data:`~realvlg.frames.D435I_COLOR_IN_CAMERA_LINK` (no turn) where a backend has no extrinsics;
* ``camera_color_frame←camera_color_optical_frame``: ``B``, no translation.

The hand-eye calibration is the mount ``fr3_hand_tcp←camera_link`` (:func:`camera_mount`), so a
running realsense2_camera and the mount form one tree; the camera pose is then
``base←tcp(t) · tcp←camera_link · camera_link←camera_color_optical_frame``. Calibration files
that hold ``←camera_color_optical_frame`` (realvlg before the camera_link convention) are
converted on load with the nominal chain: the composed camera pose stays the same.
"""

from __future__ import annotations

import pathlib

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.frames import CAMERA_LINK_FRAME, COLOR_FRAME, COLOR_OPTICAL_FRAME, D435I_COLOR_IN_CAMERA_LINK, OPTICAL_RPY
from realvlg.geometry.transforms import Transform, load_transform

BODY_FROM_OPTICAL = Rotation.from_euler("xyz", OPTICAL_RPY)


def color_chain(color_to_depth: Transform | None = None) -> list[Transform]:
    """[camera_link←camera_color_frame, camera_color_frame←camera_color_optical_frame]: from the
    device's colour→depth extrinsics (a Transform depth-optical←colour-optical, frames named as
    the caller likes) or, without them, the nominal D435i offset."""
    if color_to_depth is None:
        link_from_color = Transform.from_translation_rotation(D435I_COLOR_IN_CAMERA_LINK, Rotation.identity(),
                                                              CAMERA_LINK_FRAME, COLOR_FRAME)
    else:
        B = BODY_FROM_OPTICAL.as_matrix()
        link_from_color = Transform.from_translation_rotation(
            B @ color_to_depth.translation, Rotation.from_matrix(B @ color_to_depth.rotation.as_matrix() @ B.T),
            CAMERA_LINK_FRAME, COLOR_FRAME)
    return [link_from_color, Transform.from_translation_rotation(np.zeros(3), BODY_FROM_OPTICAL, COLOR_FRAME,
                                                                 COLOR_OPTICAL_FRAME)]


def link_from_optical(chain: list[Transform] | None = None) -> Transform:
    """camera_link←camera_color_optical_frame of a :func:`color_chain` (default: the nominal one)."""
    first, second = chain or color_chain()
    return first @ second


def camera_mount(calibration: Transform, link_from_optical_frame: Transform | None = None) -> Transform:
    """The hand-eye calibration as parent←camera_link (the file's ``parent`` kept). A calibration
    to ``camera_color_optical_frame`` is converted: ``parent←link = parent←optical ·
    (link←optical)⁻¹`` with ``link_from_optical_frame`` (default: the nominal chain, the one the
    simulator and realvlg's camera node publish without device extrinsics)."""
    if calibration.child == CAMERA_LINK_FRAME:
        return calibration
    if calibration.child != COLOR_OPTICAL_FRAME:
        raise InvalidInputError(f"the camera calibration must locate {CAMERA_LINK_FRAME!r} (or, older files, "
                                f"{COLOR_OPTICAL_FRAME!r}); this one holds {calibration.parent}←{calibration.child}")
    mount = calibration @ (link_from_optical_frame or link_from_optical()).inverse()
    return Transform(mount.parent, mount.child, mount.matrix,
                     {**calibration.metadata, "converted_from": COLOR_OPTICAL_FRAME})


def load_camera_mount(path: str | pathlib.Path) -> Transform:
    """A calibration file as parent←camera_link (:func:`camera_mount`)."""
    return camera_mount(load_transform(path))


def to_optical(calibration: Transform, link_from_optical_frame: Transform | None = None) -> Transform:
    """parent←camera_color_optical_frame (the frame images are in) of a calibration: a mount to
    ``camera_link`` composed with ``link_from_optical_frame`` (default: the nominal chain); any
    other calibration as it is."""
    if calibration.child != CAMERA_LINK_FRAME:
        return calibration
    return calibration @ (link_from_optical_frame or link_from_optical())
