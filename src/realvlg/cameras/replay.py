"""Replay a rosbag2 recording (MCAP or sqlite3) of realsense-ros topics as a :class:`Camera`.

Reads, with rosbags (no rclpy), the colour image, the aligned depth image and the colour
``camera_info`` (topic names from :mod:`realvlg.cameras.topics` by default) and pairs each colour
image with the depth image whose ``header.stamp`` is nearest, if within ``max_pair_skew`` seconds;
unpaired colour images are skipped and counted in ``unpaired``. Pairing is streaming: messages are
read in log order and a colour image is decided once a depth image later than its stamp plus the
tolerance has been seen (or the bag ended), so bags larger than memory replay fine.

Frames: ``timestamp`` = the colour ``header.stamp`` in seconds, ``frame_number`` = 0, 1, … in the
order pairs are returned, intrinsics from the latest colour ``camera_info`` (they must match the
colour image size), depth decoded by :mod:`realvlg.cameras.messages` (``16UC1`` × ``depth_unit``
or ``32FC1`` metres). ``real_time=True`` paces frames by their stamps; ``loop=True`` starts over at
the end instead of raising :class:`EndOfRecordingError`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Iterator

from rosbags.rosbag2 import Reader, ReaderError

from realvlg.cameras import topics
from realvlg.cameras.camera import (
    Camera,
    CameraConfig,
    CameraNotFoundError,
    CameraStreamError,
    CameraTimeoutError,
    EndOfRecordingError,
)
from realvlg.cameras.messages import (
    CAMERA_INFO_MSGTYPE,
    IMAGE_MSGTYPE,
    decode_color,
    decode_depth,
    default_typestore,
    stamp_ns,
)
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.observation import RGBDFrame

_MAX_PENDING_COLOR = 64  # colour images waiting for depth before the oldest is given up


@dataclass(kw_only=True)
class ReplayCameraConfig(CameraConfig):
    """A rosbag2 recording: ``path`` is the bag directory or a single ``.mcap``/``.db3`` file."""

    backend: ClassVar[str] = "replay"
    path: str | Path
    color_topic: str = topics.COLOR_IMAGE_TOPIC
    depth_topic: str = topics.ALIGNED_DEPTH_IMAGE_TOPIC
    info_topic: str = topics.COLOR_INFO_TOPIC
    max_pair_skew: float = 0.015
    depth_unit: float = topics.DEPTH_16UC1_UNIT_M
    real_time: bool = False
    loop: bool = False


class ReplayCamera(Camera):
    """See the module docstring."""

    config: ReplayCameraConfig

    def __init__(self, config: ReplayCameraConfig) -> None:
        super().__init__(config)
        self._typestore = default_typestore()
        self._reader: Reader | None = None
        self.unpaired = 0

    # -- open / close ------------------------------------------------------------------------
    def _open(self) -> None:
        path = Path(self.config.path)
        if not path.exists():
            raise CameraNotFoundError(f"no rosbag2 recording at {path}")
        try:
            reader = Reader(path)
            reader.open()
        except (ReaderError, OSError, ValueError) as exc:
            raise CameraStreamError(f"{path} is not a readable rosbag2 recording: {exc}") from None
        try:
            self._connections = self._find_connections(reader)
            self._reader = reader
            self._info = self._first_info()
        except BaseException:
            reader.close()
            self._reader = None
            raise
        self._rewind()

    def _find_connections(self, reader: Reader) -> dict[str, list]:
        wanted = {self.config.color_topic: IMAGE_MSGTYPE, self.config.depth_topic: IMAGE_MSGTYPE,
                  self.config.info_topic: CAMERA_INFO_MSGTYPE}
        found: dict[str, list] = {}
        for topic, msgtype in wanted.items():
            conns = [c for c in reader.connections if c.topic == topic and c.msgtype == msgtype]
            if not conns or sum(c.msgcount for c in conns) == 0:
                held = ", ".join(f"{c.topic} ({c.msgtype}, {c.msgcount})" for c in reader.connections) or "nothing"
                raise CameraStreamError(f"recording {self.config.path} has no {msgtype} messages on {topic} "
                                        f"(it holds: {held})")
            found[topic] = conns
        return found

    def _first_info(self) -> CameraIntrinsics:
        conns = self._connections[self.config.info_topic]
        conn, _, raw = next(iter(self._reader.messages(connections=conns)))
        return CameraIntrinsics.from_camera_info(self._typestore.deserialize_cdr(raw, conn.msgtype))

    def _rewind(self) -> None:
        self._pairs = self._pair_stream()
        self._next_number = 0
        self._pending: tuple | None = None
        self._clock_origin: tuple[float, int] | None = None

    def _close(self) -> None:
        if self._reader is not None:
            self._pairs.close()
            self._reader.close()
            self._reader = None

    @property
    def intrinsics(self) -> CameraIntrinsics:
        self._require_open()
        return self._info

    # -- pairing -----------------------------------------------------------------------------
    def _pair_stream(self) -> Iterator[tuple[int, object, object]]:
        """(colour stamp ns, colour msg, depth msg) pairs in colour-stamp order of arrival."""
        cfg = self.config
        tol = round(cfg.max_pair_skew * 1e9)
        colors: deque = deque()
        depths: deque = deque()
        conns = [c for group in self._connections.values() for c in group]

        def decide(final: bool) -> Iterator[tuple[int, object, object]]:
            while colors:
                c_stamp, c_msg = colors[0]
                newest_depth = max((s for s, _ in depths), default=None)
                waiting = newest_depth is None or newest_depth <= c_stamp + tol
                if waiting and not final and len(colors) <= _MAX_PENDING_COLOR:
                    return
                colors.popleft()
                near = [(abs(s - c_stamp), s, m) for s, m in depths if abs(s - c_stamp) <= tol]
                if not near:
                    self.unpaired += 1
                    continue
                _, d_stamp, d_msg = min(near, key=lambda x: x[0])
                # that depth and every older one are used up
                for item in [d for d in depths if d[0] <= d_stamp]:
                    depths.remove(item)
                yield c_stamp, c_msg, d_msg

        for conn, _, raw in self._reader.messages(connections=conns):
            msg = self._typestore.deserialize_cdr(raw, conn.msgtype)
            if conn.topic == cfg.info_topic:
                self._info = CameraIntrinsics.from_camera_info(msg)
                continue
            (colors if conn.topic == cfg.color_topic else depths).append((stamp_ns(msg.header), msg))
            # depth older than the oldest undecided colour image (and the tolerance) pairs with nothing
            while depths and colors and depths[0][0] < colors[0][0] - tol:
                depths.popleft()
            yield from decide(final=False)
        yield from decide(final=True)

    # -- frames ------------------------------------------------------------------------------
    def read(self, timeout: float = 1.0) -> RGBDFrame:
        self._require_open()
        if self._pending is None:
            self._pending = self._next_pair()
        stamp, color_msg, depth_msg = self._pending
        if self.config.real_time:
            self._wait_for(stamp, timeout)
        self._pending = None
        return self._to_rgbd(stamp, color_msg, depth_msg)

    def _next_pair(self) -> tuple[int, object, object]:
        for attempt in range(2):
            try:
                return next(self._pairs)
            except StopIteration:
                if not self.config.loop or attempt:
                    break
                self._rewind()
        raise EndOfRecordingError(f"recording {self.config.path} has no synchronised colour + depth pairs left")

    def _wait_for(self, stamp: int, timeout: float) -> None:
        """Sleep until ``stamp`` is due at the recorded pace; time out if it is further away."""
        now = time.monotonic()
        if self._clock_origin is None:
            self._clock_origin = (now, stamp)
        due = self._clock_origin[0] + (stamp - self._clock_origin[1]) * 1e-9
        if due - now > timeout:
            time.sleep(timeout)
            raise CameraTimeoutError(f"next frame of {self.config.path} is due in {due - now:.3f} s, "
                                     f"beyond the {timeout:g} s timeout")
        time.sleep(max(0.0, due - now))

    def _to_rgbd(self, stamp: int, color_msg, depth_msg) -> RGBDFrame:
        color = decode_color(color_msg)
        depth = decode_depth(depth_msg, self.config.depth_unit)
        if depth.shape != color.shape[:2]:
            raise CameraStreamError(f"depth {depth.shape[1]}x{depth.shape[0]} on {self.config.depth_topic} is "
                                    f"not aligned to colour {color.shape[1]}x{color.shape[0]}")
        if (self._info.width, self._info.height) != (color.shape[1], color.shape[0]):
            raise CameraStreamError(f"camera_info on {self.config.info_topic} is for "
                                    f"{self._info.width}x{self._info.height}, the colour image is "
                                    f"{color.shape[1]}x{color.shape[0]}")
        number = self._next_number
        self._next_number += 1
        return RGBDFrame(color=color, depth=depth, intrinsics=self._info, timestamp=stamp / 1e9,
                         frame_number=number, frame_id=color_msg.header.frame_id or self.config.frame_id,
                         depth_scale=self.config.depth_unit)


__all__ = ["ReplayCamera", "ReplayCameraConfig"]
