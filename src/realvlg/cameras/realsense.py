"""Intel RealSense D435i / D415 through pyrealsense2's pipeline, live or from a recording.

One code path for both sources: ``rs.config`` (``enable_device(serial)`` or
``enable_device_from_file(path)``) → ``rs.pipeline.start`` → ``try_wait_for_frames`` → optional
depth post-processing (spatial, temporal, hole filling; off by default, applied to depth before
alignment as Intel recommends) → ``rs.align(rs.stream.color)`` → :class:`RGBDFrame`.

* Streams: colour RGB8 and depth Z16 at the preset's resolution/fps (:data:`PRESETS`; the paper's
  deployment uses 1280×720 colour). A recording is read with the formats it holds (colour RGB8,
  BGR8, RGBA8 or BGRA8, converted to RGB).
* Depth: Z16 × the device's depth scale (``first_depth_sensor().get_depth_scale()``, 1 mm by
  default on D400) → float32 metres, 0 = invalid; aligned to colour, so the intrinsics of the
  colour stream (``CameraIntrinsics.from_realsense``) hold for both.
* Synchronisation: a pair is returned only when the colour and depth timestamps differ by at most
  ``max_pair_skew`` (default half a colour frame period); a colour frame is never returned twice.
* Timestamps: the colour frame's ``get_timestamp()`` in seconds (the D400 global time by default,
  i.e. host-clock aligned; a recording keeps the recorded values).
* Playback: ``repeat_playback=False``; ``real_time=False`` (default) delivers recorded frames as
  fast as they are read, ``True`` at the recorded pace. When the recording runs out, ``read`` raises
  :class:`EndOfRecordingError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyrealsense2 as rs

from realvlg.cameras.camera import (
    Camera,
    CameraConfig,
    CameraError,
    CameraNotFoundError,
    CameraStreamError,
    CameraTimeoutError,
    EndOfRecordingError,
    RGBDFrame,
)
from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics


@dataclass(frozen=True)
class StreamPreset:
    """Colour and depth stream modes, each ``(width, height, fps)``."""

    color: tuple[int, int, int]
    depth: tuple[int, int, int]


PRESETS: dict[str, StreamPreset] = {
    # The paper's eye-in-hand D435i at 1280×720; 848×480 is Intel's recommended D435 depth mode.
    "d435i": StreamPreset(color=(1280, 720, 30), depth=(1280, 720, 30)),
    "d435i-848": StreamPreset(color=(1280, 720, 30), depth=(848, 480, 30)),
    "d435i-640": StreamPreset(color=(640, 480, 30), depth=(640, 480, 30)),
    # D415: 1280×720 is its best depth mode.
    "d415": StreamPreset(color=(1280, 720, 30), depth=(1280, 720, 30)),
    "d415-640": StreamPreset(color=(640, 480, 30), depth=(640, 480, 30)),
}

DEPTH_FILTERS = {
    "spatial": rs.spatial_filter,
    "temporal": rs.temporal_filter,
    "hole_filling": rs.hole_filling_filter,
}

# colour formats a recording may hold → slice of the channels giving RGB
_COLOR_TO_RGB = {
    rs.format.rgb8: np.s_[..., :3],
    rs.format.rgba8: np.s_[..., :3],
    rs.format.bgr8: np.s_[..., 2::-1],
    rs.format.bgra8: np.s_[..., 2::-1],
}

_PLAYBACK_POLL_S = 0.05


@dataclass(kw_only=True)
class RealSenseCameraConfig(CameraConfig):
    """A RealSense camera: ``serial`` picks a device (None: the only one), ``file`` plays back a
    librealsense recording (``.bag``/``.db3``) instead. ``profile`` names a :data:`PRESETS` entry
    (live only; a recording is read in its own modes). ``filters``: any of
    ``spatial, temporal, hole_filling`` (in that order). ``max_pair_skew`` in seconds."""

    backend: ClassVar[str] = "realsense"
    serial: str | None = None
    file: str | Path | None = None
    profile: str = "d435i"
    filters: tuple[str, ...] = ()
    real_time: bool = False
    max_pair_skew: float | None = None


def connected_serials(ctx: rs.context | None = None) -> list[str]:
    """Serial numbers of the RealSense devices on this machine."""
    return [d.get_info(rs.camera_info.serial_number) for d in (ctx or rs.context()).query_devices()]


def _fmt_profile(p: rs.stream_profile) -> str:
    v = p.as_video_stream_profile()
    return f"{p.stream_name()} {p.format()} {v.width()}x{v.height()}@{p.fps()}"


class RealSenseCamera(Camera):
    """See the module docstring."""

    config: RealSenseCameraConfig

    def __init__(self, config: RealSenseCameraConfig) -> None:
        super().__init__(config)
        unknown = [f for f in config.filters if f not in DEPTH_FILTERS]
        if unknown:
            raise InvalidInputError(f"unknown depth filter(s) {unknown}; known: {', '.join(DEPTH_FILTERS)}")
        if config.file is None and config.profile not in PRESETS:
            raise InvalidInputError(f"unknown RealSense profile {config.profile!r}; known: {', '.join(PRESETS)}")
        self.skipped_framesets = 0
        self.device_info: dict[str, str] = {}
        self._pipeline: rs.pipeline | None = None
        self._playback: rs.playback | None = None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "RealSenseCamera":
        """A camera playing back a librealsense recording (``.bag`` or ``.db3``)."""
        return cls(RealSenseCameraConfig(file=path, **kwargs))

    # -- open / close ------------------------------------------------------------------------
    def _open(self) -> None:
        cfg = rs.config()
        if self.config.file is not None:
            self._configure_playback(cfg, Path(self.config.file))
        else:
            self._configure_live(cfg)
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(cfg)
        except RuntimeError as exc:
            raise CameraStreamError(f"RealSense pipeline could not start {self._source()}: {exc}") from None
        try:
            self._setup_after_start(profile)
        except BaseException:
            pipeline.stop()
            raise
        self._pipeline = pipeline

    def _source(self) -> str:
        return f"recording {self.config.file}" if self.config.file is not None else \
            f"device {self.config.serial or '(first found)'}"

    def _configure_playback(self, cfg: rs.config, path: Path) -> None:
        if not path.is_file():
            raise CameraNotFoundError(f"no RealSense recording at {path}")
        try:
            device = rs.context().load_device(str(path))
        except RuntimeError as exc:
            raise CameraStreamError(f"{path} is not a readable librealsense recording: {exc}") from None
        profiles = [p for s in device.query_sensors() for p in s.get_stream_profiles()]
        del device
        depth = [p for p in profiles if p.stream_type() == rs.stream.depth and p.format() == rs.format.z16]
        color = [p for p in profiles if p.stream_type() == rs.stream.color and p.format() in _COLOR_TO_RGB]
        held = ", ".join(_fmt_profile(p) for p in profiles if p.is_video_stream_profile()) or "no video streams"
        for name, found in (("Z16 depth", depth), ("RGB/BGR colour", color)):
            if not found:
                raise CameraStreamError(f"recording {path} has no {name} stream (it holds: {held})")
        cfg.enable_device_from_file(str(path), repeat_playback=False)
        for p in (depth[0], color[0]):
            v = p.as_video_stream_profile()
            cfg.enable_stream(p.stream_type(), v.width(), v.height(), p.format(), p.fps())

    def _configure_live(self, cfg: rs.config) -> None:
        serials = connected_serials()
        if not serials:
            raise CameraNotFoundError("no RealSense device connected (check the USB 3 cable and udev rules)")
        if self.config.serial is not None and self.config.serial not in serials:
            raise CameraNotFoundError(f"no RealSense device with serial {self.config.serial}; "
                                      f"connected: {', '.join(serials)}")
        cfg.enable_device(self.config.serial or serials[0])
        preset = PRESETS[self.config.profile]
        cfg.enable_stream(rs.stream.depth, preset.depth[0], preset.depth[1], rs.format.z16, preset.depth[2])
        cfg.enable_stream(rs.stream.color, preset.color[0], preset.color[1], rs.format.rgb8, preset.color[2])

    def _setup_after_start(self, profile: rs.pipeline_profile) -> None:
        device = profile.get_device()
        self._playback = device.as_playback() if device.is_playback() else None
        if self._playback is not None:
            self._playback.set_real_time(self.config.real_time)
        self.device_info = {str(k).split(".")[-1]: device.get_info(k) for k in
                            (rs.camera_info.name, rs.camera_info.serial_number, rs.camera_info.firmware_version)
                            if device.supports(k)}
        try:
            self._depth_scale = float(device.first_depth_sensor().get_depth_scale())
        except RuntimeError as exc:
            raise CameraStreamError(f"{self._source()} reports no depth scale: {exc}") from None
        color_profile = profile.get_stream(rs.stream.color).as_video_stream_profile()
        self._color_slice = _COLOR_TO_RGB[color_profile.format()]
        self._intrinsics = CameraIntrinsics.from_realsense(color_profile.get_intrinsics())
        self.fps = color_profile.fps()
        self._max_skew_ms = 1000.0 * (self.config.max_pair_skew if self.config.max_pair_skew is not None
                                      else 0.5 / self.fps)
        self._align = rs.align(rs.stream.color)
        self._filters = [DEPTH_FILTERS[name]() for name in DEPTH_FILTERS if name in self.config.filters]
        self._last_color_number: int | None = None

    def _close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None

    # -- frames ------------------------------------------------------------------------------
    @property
    def intrinsics(self) -> CameraIntrinsics:
        self._require_open()
        return self._intrinsics

    @property
    def depth_scale(self) -> float:
        self._require_open()
        return self._depth_scale

    def read(self, timeout: float = 1.0) -> RGBDFrame:
        self._require_open()
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            wait = min(remaining, _PLAYBACK_POLL_S) if self._playback is not None else remaining
            ok, frames = self._pipeline.try_wait_for_frames(max(1, int(wait * 1000)))
            if not ok:
                if self._playback is not None and self._playback.current_status() == rs.playback_status.stopped:
                    raise EndOfRecordingError(f"recording {self.config.file} has no frames left")
                continue
            frame = self._to_rgbd(frames)
            if frame is not None:
                return frame
        raise CameraTimeoutError(f"no synchronised colour + depth pair from {self._source()} within {timeout:g} s")

    def _to_rgbd(self, frames: rs.composite_frame) -> RGBDFrame | None:
        """The aligned pair of ``frames``, or None when it is incomplete, unsynchronised or seen."""
        color, depth = frames.get_color_frame(), frames.get_depth_frame()
        if not color or not depth:
            return None
        number = color.get_frame_number()
        if number == self._last_color_number or abs(color.get_timestamp() - depth.get_timestamp()) > self._max_skew_ms:
            self.skipped_framesets += 1
            return None
        for f in self._filters:
            frames = f.process(frames).as_frameset()
        aligned = self._align.process(frames)
        depth = aligned.get_depth_frame()
        if not depth:
            raise CameraError(f"rs.align returned no depth frame for colour frame {number}")
        self._last_color_number = number
        rgb = np.array(np.asanyarray(color.get_data())[self._color_slice], order="C")  # copy: buffers recycle
        metres = np.asanyarray(depth.get_data()).astype(np.float32) * np.float32(self._depth_scale)
        return RGBDFrame(color=rgb, depth=metres, intrinsics=self._intrinsics,
                         timestamp=color.get_timestamp() / 1000.0, frame_number=int(number),
                         frame_id=self.config.frame_id, depth_scale=self._depth_scale)


__all__ = ["PRESETS", "DEPTH_FILTERS", "RealSenseCamera", "RealSenseCameraConfig", "StreamPreset",
           "connected_serials"]
