"""The camera interface of realvlg: a config dataclass per backend, ``open``/``read``/``close``.

Every backend returns realvlg's one RGB-D type, :class:`realvlg.observation.RGBDFrame` (colour,
aligned depth in metres, intrinsics, timestamp, frame id; see there).

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

from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.frames import COLOR_OPTICAL_FRAME
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.transforms import Transform
from realvlg.observation import RGBDFrame


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

    @property
    def color_to_depth(self) -> Transform | None:
        """The device's colour→depth extrinsics, depth-optical←colour-optical (REP-103 optical
        frames; realsense-ros builds ``camera_link → camera_color_frame`` from them), or None
        where the source has none (recordings without them, replays): then the nominal offset is used."""
        return None

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
