"""The camera interface of realvlg: a config dataclass per backend, ``open``/``read``/``close``.

Every backend returns the same :class:`RGBDFrame`:

* ``color``: RGB, ``uint8``, shape ``(H, W, 3)``.
* ``depth``: ``float32`` metres along the optical axis (z, not ray length), shape ``(H, W)``,
  registered to ``color`` pixel for pixel (aligned depth); ``0`` marks an invalid pixel (no NaN).
* ``intrinsics``: :class:`~realvlg.geometry.camera.CameraIntrinsics` of the colour stream, which
  are also the intrinsics of the aligned depth.
* ``timestamp``: seconds of the colour image (device clock or header stamp, per backend),
  ``frame_number`` the backend's frame counter, ``frame_id`` the REP-103 optical frame
  (``camera_color_optical_frame``), ``depth_scale`` the metres per raw depth unit of the source
  (kept for the record; ``depth`` is already in metres).

Use a camera as a context manager::

    with make_camera(RealSenseCameraConfig(serial="123456789012")) as cam:
        frame = cam.read(timeout=1.0)

Errors are typed (all :class:`CameraError`, a :class:`~realvlg.errors.RealVLGError`): no frame
within the timeout → :class:`CameraTimeoutError`; a recording that ran out →
:class:`EndOfRecordingError` (a kind of timeout: no frame will come); no such device →
:class:`CameraNotFoundError`; a missing or unusable stream → :class:`CameraStreamError`.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar

import numpy as np

from realvlg.cameras.topics import COLOR_OPTICAL_FRAME
from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.geometry.camera import CameraIntrinsics


class CameraError(RealVLGError):
    """A camera could not deliver frames."""


class CameraTimeoutError(CameraError):
    """No synchronised colour + depth pair arrived within the timeout."""


class EndOfRecordingError(CameraTimeoutError):
    """A played-back recording has no frames left."""


class CameraNotFoundError(CameraError):
    """No device (with the requested serial number) or no recording at the given path."""


class CameraStreamError(CameraError):
    """A required stream is missing or has a format/resolution realvlg cannot use."""


@dataclass(frozen=True, eq=False)
class RGBDFrame:
    """One synchronised colour image and depth map aligned to it (see the module docstring)."""

    color: np.ndarray
    depth: np.ndarray
    intrinsics: CameraIntrinsics
    timestamp: float
    frame_number: int
    frame_id: str = COLOR_OPTICAL_FRAME
    depth_scale: float = 0.001

    def __post_init__(self) -> None:
        h, w = self.intrinsics.height, self.intrinsics.width
        if self.color.dtype != np.uint8 or self.color.shape != (h, w, 3):
            raise InvalidInputError(f"colour must be uint8 of shape {(h, w, 3)}, "
                                    f"got {self.color.dtype} {self.color.shape}")
        if self.depth.dtype != np.float32 or self.depth.shape != (h, w):
            raise InvalidInputError(f"depth must be float32 metres of shape {(h, w)}, "
                                    f"got {self.depth.dtype} {self.depth.shape}")

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


@dataclass(kw_only=True)
class CameraConfig:
    """Fields shared by every backend's config. ``backend`` names the implementation."""

    backend: ClassVar[str]
    frame_id: str = COLOR_OPTICAL_FRAME


class Camera(abc.ABC):
    """A source of :class:`RGBDFrame`. Subclasses implement ``_open``, ``_close`` and ``read``."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self._is_open = False

    @property
    def is_open(self) -> bool:
        return self._is_open

    def open(self) -> None:
        if self._is_open:
            return
        self._open()
        self._is_open = True

    def close(self) -> None:
        if not self._is_open:
            return
        try:
            self._close()
        finally:
            self._is_open = False

    @abc.abstractmethod
    def _open(self) -> None: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    @abc.abstractmethod
    def read(self, timeout: float = 1.0) -> RGBDFrame:
        """The next synchronised pair; :class:`CameraTimeoutError` if none within ``timeout`` s."""

    @property
    @abc.abstractmethod
    def intrinsics(self) -> CameraIntrinsics:
        """Colour-stream intrinsics (valid once open)."""

    def _require_open(self) -> None:
        if not self._is_open:
            raise CameraError(f"{type(self).__name__} is not open; call open() or use it in a with-block")

    def __enter__(self) -> "Camera":
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# backend name → (module, camera class); imported lazily so replay needs no pyrealsense2.
CAMERA_BACKENDS = {
    "realsense": ("realvlg.cameras.realsense", "RealSenseCamera"),
    "replay": ("realvlg.cameras.replay", "ReplayCamera"),
}


def make_camera(config: CameraConfig) -> Camera:
    """The camera implementation for ``config`` (by its ``backend`` name)."""
    try:
        module, name = CAMERA_BACKENDS[config.backend]
    except KeyError:
        raise InvalidInputError(f"unknown camera backend {config.backend!r}; "
                                f"known: {', '.join(CAMERA_BACKENDS)}") from None
    return getattr(importlib.import_module(module), name)(config)
