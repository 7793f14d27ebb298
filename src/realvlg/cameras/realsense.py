"""Intel RealSense D435i / D415 through pyrealsense2, live or from a librealsense recording.

Two frame sources, one processing path:

* live: ``rs.config.enable_device(serial)`` + ``enable_stream`` → ``rs.pipeline.start`` →
  ``try_wait_for_frames`` (the pipeline's own syncer pairs colour and depth);
* recording (``.bag`` from realsense-viewer, or ``.db3``): ``rs.context.load_device`` → the
  playback device's depth and colour sensors (non-real-time: started while playback is paused)
  deliver every recorded frame into a bounded queue (non-real-time playback then waits for the
  reader instead of dropping); each colour frame is paired with the depth frame next to it in time and the pair is
  made an ``rs.frameset`` by a processing block. ``rs.pipeline`` over a file loses frames while it
  starts its sensors one after another (realsense-ros stopped using it for bags for that reason),
  so it is not used there;

then, for both: optional depth post-processing (spatial, temporal, hole filling; off by default;
on the depth frame before alignment, as Intel recommends) → ``rs.align(rs.stream.color)`` →
:class:`RGBDFrame`.

* Streams: colour RGB8 and depth Z16 at the preset's resolution/fps (:data:`PRESETS`; the paper's
  deployment uses 1280×720 colour). A recording is read with the modes it holds (colour RGB8,
  BGR8, RGBA8 or BGRA8, converted to RGB).
* Depth: Z16 × the device's depth scale (``first_depth_sensor().get_depth_scale()``, 1 mm by
  default on D400) → float32 metres, 0 = invalid; aligned to colour, so the intrinsics of the
  colour stream (``CameraIntrinsics.from_realsense``) hold for both.
* Synchronisation: a pair is returned only when the colour and depth timestamps differ by at most
  ``max_pair_skew`` (default 0.75 colour frame periods: the D400 colour and depth imagers are not
  triggered together, so nearest frames may be half a period apart, while a neighbouring frame is a
  full period away); a colour frame is never returned twice.
* Timestamps: the colour frame's ``get_timestamp()`` in seconds (the D400 global time by default,
  i.e. host-clock aligned; a recording keeps the recorded values).
* Playback: ``real_time=False`` (default) delivers every recorded frame as fast as it is read,
  ``True`` at the recorded pace. When the recording runs out, ``read`` raises
  :class:`EndOfRecordingError`.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyrealsense2 as rs
from scipy.spatial.transform import Rotation

from realvlg.cameras.camera import (
    Camera,
    CameraConfig,
    CameraError,
    CameraNotFoundError,
    CameraStreamError,
    CameraTimeoutError,
    EndOfRecordingError,
)
from realvlg.errors import InvalidInputError
from realvlg.frames import COLOR_OPTICAL_FRAME, DEPTH_OPTICAL_FRAME
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.transforms import Transform
from realvlg.observation import RGBDFrame


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

_POLL_S = 0.05  # playback: how often a waiting read checks whether the recording has ended


@dataclass(kw_only=True)
class RealSenseCameraConfig(CameraConfig):
    """A RealSense camera: ``serial`` picks a device (None: the first found), ``file`` plays back a
    librealsense recording (``.bag``/``.db3``) instead. ``profile`` names a :data:`PRESETS` entry
    (live only; a recording is read in its own modes). ``filters``: any of
    ``spatial, temporal, hole_filling`` (applied in that order). ``max_pair_skew`` in seconds."""

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


def _describe(p: rs.stream_profile) -> str:
    v = p.as_video_stream_profile()
    return f"{p.stream_name()} {str(p.format()).split('.')[-1]} {v.width()}x{v.height()}@{p.fps()}"


class _PipelineSource:
    """A live device through ``rs.pipeline``."""

    def __init__(self, serial: str | None, preset: StreamPreset) -> None:
        serials = connected_serials()
        if not serials:
            raise CameraNotFoundError("no RealSense device connected (check the USB 3 cable and udev rules)")
        if serial is not None and serial not in serials:
            raise CameraNotFoundError(f"no RealSense device with serial {serial}; connected: {', '.join(serials)}")
        self.name = f"device {serial or serials[0]}"
        cfg = rs.config()
        cfg.enable_device(serial or serials[0])
        cfg.enable_stream(rs.stream.depth, preset.depth[0], preset.depth[1], rs.format.z16, preset.depth[2])
        cfg.enable_stream(rs.stream.color, preset.color[0], preset.color[1], rs.format.rgb8, preset.color[2])
        self._pipeline = rs.pipeline()
        try:
            profile = self._pipeline.start(cfg)
        except RuntimeError as exc:
            raise CameraStreamError(f"{self.name} cannot stream depth {preset.depth} and colour {preset.color}: "
                                    f"{exc}") from None
        self.device = profile.get_device()
        self.color_profile = profile.get_stream(rs.stream.color).as_video_stream_profile()
        self.depth_profile = profile.get_stream(rs.stream.depth)

    def wait(self, timeout: float) -> rs.composite_frame | None:
        ok, frames = self._pipeline.try_wait_for_frames(max(1, int(timeout * 1000)))
        return frames if ok else None

    def finished(self) -> bool:
        return False

    def close(self) -> None:
        self._pipeline.stop()


class _PlaybackSource:
    """A librealsense recording through its playback device (see the module docstring)."""

    def __init__(self, path: Path, real_time: bool, max_skew_s: float | None) -> None:
        if not path.is_file():
            raise CameraNotFoundError(f"no RealSense recording at {path}")
        self.name = f"recording {path}"
        try:
            self.device = rs.context().load_device(str(path))
        except RuntimeError as exc:
            raise CameraStreamError(f"{path} is not a readable librealsense recording: {exc}") from None
        self._playback = self.device.as_playback()
        self._playback.set_real_time(real_time)
        chosen: dict[rs.stream, tuple[rs.sensor, rs.stream_profile]] = {}
        held = []
        for sensor in self.device.query_sensors():
            for p in sensor.get_stream_profiles():
                if not p.is_video_stream_profile():
                    continue
                held.append(_describe(p))
                usable = (p.format() == rs.format.z16 if p.stream_type() == rs.stream.depth
                          else p.stream_type() == rs.stream.color and p.format() in _COLOR_TO_RGB)
                if usable and p.stream_type() not in chosen:
                    chosen[p.stream_type()] = (sensor, p)
        for name, kind in (("Z16 depth", rs.stream.depth), ("RGB/BGR colour", rs.stream.color)):
            if kind not in chosen:
                raise CameraStreamError(f"recording {path} has no {name} stream "
                                        f"(it holds: {', '.join(held) or 'no video streams'})")
        self.color_profile = chosen[rs.stream.color][1].as_video_stream_profile()
        self.depth_profile = chosen[rs.stream.depth][1]
        fps = self.color_profile.fps()
        self._max_skew_ms = 1000.0 * (max_skew_s if max_skew_s is not None else 0.75 / fps)
        # a bounded queue: in non-real-time playback a full queue holds the reader thread back
        self._frames: queue.Queue = queue.Queue(maxsize=4)
        self._closing = False
        self._latest: dict[rs.stream, rs.frame] = {}
        self._to_compose: list[rs.frame] = []  # the pair _compose turns into a frameset
        self._pairs = rs.frame_queue(2)
        self._composer = rs.processing_block(self._compose)
        self._composer.start(self._pairs)
        self._sensors = [sensor for sensor, _ in chosen.values()]
        for sensor, p in chosen.values():
            sensor.open(p)
        # Non-real-time: paused until both sensors listen, else the first frames of the sensor
        # started second are lost. Real-time playback is not paused: resuming it re-bases its clock
        # and can then deliver the next frames early.
        if not real_time:
            self._playback.pause()
        for sensor in self._sensors:
            sensor.start(self._on_frame)
        if not real_time:
            self._playback.resume()

    def _on_frame(self, frame: rs.frame) -> None:
        while not self._closing:
            try:
                self._frames.put(frame, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _compose(self, _trigger: rs.frame, source: rs.frame_source) -> None:
        source.frame_ready(source.allocate_composite_frame(self._to_compose))

    def wait(self, timeout: float) -> rs.composite_frame | None:
        """The next colour + depth pair within ``timeout`` s as a frameset, or None."""
        deadline = time.monotonic() + timeout
        stopped_polls = 0
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame = self._frames.get(timeout=min(remaining, _POLL_S))
            except queue.Empty:
                # stopped and empty twice in a row: a last frame may still be on its way the first time
                stopped_polls = stopped_polls + 1 if self.finished() else 0
                if stopped_polls == 2:
                    return None
                continue
            kind = frame.profile.stream_type()
            self._latest[kind] = frame
            other = self._latest.get(rs.stream.color if kind == rs.stream.depth else rs.stream.depth)
            if other is not None and abs(other.get_timestamp() - frame.get_timestamp()) <= self._max_skew_ms:
                self._to_compose = [self._latest.pop(rs.stream.depth), self._latest.pop(rs.stream.color)]
                self._composer.invoke(frame)
                ok, frameset = self._pairs.try_wait_for_frame(1000)
                self._to_compose = []
                if not ok:
                    raise CameraError(f"librealsense did not combine colour frame "
                                      f"{frame.get_frame_number()} and its depth frame into a frameset")
                return frameset.as_frameset()
        return None

    def finished(self) -> bool:
        return self._playback.current_status() == rs.playback_status.stopped and self._frames.empty()

    def close(self) -> None:
        self._closing = True
        for sensor in self._sensors:
            sensor.stop()
            sensor.close()
        self._composer = None


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
        self._source: _PipelineSource | _PlaybackSource | None = None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "RealSenseCamera":
        """A camera playing back a librealsense recording (``.bag`` or ``.db3``)."""
        return cls(RealSenseCameraConfig(file=path, **kwargs))

    # -- open / close ------------------------------------------------------------------------
    def _open(self) -> None:
        cfg = self.config
        source = (_PlaybackSource(Path(cfg.file), cfg.real_time, cfg.max_pair_skew) if cfg.file is not None
                  else _PipelineSource(cfg.serial, PRESETS[cfg.profile]))
        try:
            self._setup(source)
        except BaseException:
            source.close()
            raise
        self._source = source

    def _setup(self, source: _PipelineSource | _PlaybackSource) -> None:
        device = source.device
        self.device_info = {str(k).split(".")[-1]: device.get_info(k) for k in
                            (rs.camera_info.name, rs.camera_info.serial_number, rs.camera_info.firmware_version)
                            if device.supports(k)}
        try:
            self._depth_scale = float(device.first_depth_sensor().get_depth_scale())
        except RuntimeError as exc:
            raise CameraStreamError(f"{source.name} reports no depth scale: {exc}") from None
        color = source.color_profile
        self._color_slice = _COLOR_TO_RGB[color.format()]
        self._intrinsics = CameraIntrinsics.from_realsense(color.get_intrinsics())
        try:
            ex = color.get_extrinsics_to(source.depth_profile)   # p_depth = R · p_color + t, R column-major
            self._color_to_depth = Transform.from_translation_rotation(
                ex.translation, Rotation.from_matrix(np.reshape(ex.rotation, (3, 3)).T), DEPTH_OPTICAL_FRAME,
                COLOR_OPTICAL_FRAME)
        except (RuntimeError, InvalidInputError):   # a recording without extrinsics
            self._color_to_depth = None
        self.fps = color.fps()
        skew = self.config.max_pair_skew if self.config.max_pair_skew is not None else 0.75 / self.fps
        self._max_skew_ms = 1000.0 * skew
        self._align = rs.align(rs.stream.color)
        self._filters = [make() for name, make in DEPTH_FILTERS.items() if name in self.config.filters]
        self._last_color_number: int | None = None

    def _close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    # -- frames ------------------------------------------------------------------------------
    @property
    def intrinsics(self) -> CameraIntrinsics:
        self._require_open()
        return self._intrinsics

    @property
    def color_to_depth(self) -> Transform | None:
        self._require_open()
        return self._color_to_depth

    @property
    def depth_scale(self) -> float:
        self._require_open()
        return self._depth_scale

    def read(self, timeout: float = 1.0) -> RGBDFrame:
        self._require_open()
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            frames = self._source.wait(remaining)
            if frames is None:
                if self._source.finished():
                    raise EndOfRecordingError(f"{self._source.name} has no frames left")
                continue
            frame = self._to_rgbd(frames)
            if frame is not None:
                return frame
        raise CameraTimeoutError(f"no synchronised colour + depth pair from {self._source.name} within {timeout:g} s")

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
        depth = self._align.process(frames).get_depth_frame()
        if not depth:
            raise CameraError(f"rs.align returned no depth frame for colour frame {number}")
        self._last_color_number = number
        rgb = np.array(np.asanyarray(color.get_data())[self._color_slice], order="C")  # copy: buffers recycle
        metres = np.asanyarray(depth.get_data()).astype(np.float32) * np.float32(self._depth_scale)
        return RGBDFrame(color=rgb, depth=metres, intrinsics=self._intrinsics,
                         timestamp=color.get_timestamp() / 1000.0, frame_number=int(number),
                         frame_id=self.config.frame_id, depth_scale=self._depth_scale)


__all__ = ["DEPTH_FILTERS", "PRESETS", "RealSenseCamera", "RealSenseCameraConfig", "StreamPreset",
           "connected_serials"]
