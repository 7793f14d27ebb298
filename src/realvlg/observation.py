"""realvlg's one RGB-D observation type: what cameras read, simulators render and the grasp
attempt plans on.

:class:`RGBDFrame`:

* ``color``: RGB, ``uint8``, shape ``(H, W, 3)``.
* ``depth``: ``float32`` metres along the optical axis (z, not ray length), shape ``(H, W)``,
  registered to ``color`` pixel for pixel (aligned depth); ``0`` marks an invalid pixel (no NaN).
* ``intrinsics``: :class:`~realvlg.geometry.camera.CameraIntrinsics` of the colour stream, which
  are also the intrinsics of the aligned depth.
* ``timestamp``: seconds of the colour image (device clock or header stamp, per source),
  ``frame_number`` the source's frame counter, ``frame_id`` the REP-103 optical frame
  (``camera_color_optical_frame``), ``depth_scale`` the metres per raw depth unit of the source
  (kept for the record; ``depth`` is already in metres).
* ``base_from_camera``: where the camera was — the robot base←optical frame transform at
  ``timestamp`` (eye-in-hand: the robot pose then times the hand-eye calibration), when known.
* ``labels``: per-pixel object and part labels (:class:`SceneLabels`) when the source has them —
  the simulators' ground truth, or a segmenter's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.frames import COLOR_OPTICAL_FRAME
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.transforms import Transform


@dataclass(frozen=True, eq=False)
class SceneLabels:
    """Per-pixel labels: ``objects`` int16 (H, W) indexes ``object_names`` (−1: robot, table,
    background); ``parts`` int16 (H, W) indexes ``part_names``, (object, part) pairs (−1: no part)."""

    objects: np.ndarray
    parts: np.ndarray
    object_names: tuple[str, ...]
    part_names: tuple[tuple[str, str], ...] = ()

    def object_mask(self, name: str) -> np.ndarray:
        if name not in self.object_names:
            raise InvalidInputError(f"no object {name!r} in this scene ({', '.join(self.object_names)})")
        return self.objects == self.object_names.index(name)

    def part_mask(self, name: str, part: str) -> np.ndarray:
        if (name, part) not in self.part_names:
            raise InvalidInputError(f"{name!r} in this scene has no part {part!r}")
        return self.parts == self.part_names.index((name, part))


@dataclass(frozen=True, eq=False)
class RGBDFrame:
    """One synchronised colour image and the depth aligned to it (see the module docstring)."""

    color: np.ndarray
    depth: np.ndarray
    intrinsics: CameraIntrinsics
    timestamp: float = 0.0
    frame_number: int = 0
    frame_id: str = COLOR_OPTICAL_FRAME
    depth_scale: float = 0.001
    base_from_camera: Transform | None = None
    labels: SceneLabels | None = None

    def __post_init__(self) -> None:
        h, w = self.intrinsics.height, self.intrinsics.width
        if self.color.dtype != np.uint8 or self.color.shape != (h, w, 3):
            raise InvalidInputError(f"colour must be uint8 of shape {(h, w, 3)}, "
                                    f"got {self.color.dtype} {self.color.shape}")
        if self.depth.dtype != np.float32 or self.depth.shape != (h, w):
            raise InvalidInputError(f"depth must be float32 metres of shape {(h, w)}, "
                                    f"got {self.depth.dtype} {self.depth.shape}")
        if self.base_from_camera is not None and self.base_from_camera.child != self.frame_id:
            raise InvalidInputError(f"the camera pose is for '{self.base_from_camera.child}', the image is in "
                                    f"'{self.frame_id}'")
        if self.labels is not None and self.labels.objects.shape != (h, w):
            raise InvalidInputError(f"labels of shape {self.labels.objects.shape} for a {w}x{h} image")

    @property
    def width(self) -> int:
        return self.intrinsics.width

    @property
    def height(self) -> int:
        return self.intrinsics.height

    @property
    def valid_depth(self) -> np.ndarray:
        """Boolean mask of pixels with a depth measurement."""
        return self.depth > 0

    @property
    def valid_depth_fraction(self) -> float:
        return float(np.count_nonzero(self.depth > 0)) / self.depth.size
