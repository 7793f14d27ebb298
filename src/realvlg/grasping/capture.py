"""Assembling a capture from streams, ROS-free: synchronised colour/depth/intrinsics and the
robot pose at the moment the image was taken (:class:`FrameCapture` puts them together into an
:class:`~realvlg.observation.RGBDFrame` with its camera pose).

:class:`StreamSynchronizer` pairs messages of several streams by timestamp (realsense-ros stamps
colour, aligned depth and their camera_info identically; a tolerance covers other drivers) and
hands out the newest complete set. :class:`PoseHistory` keeps the recent robot poses and answers
the pose at an image's timestamp, interpolating between the two nearest (linear translation,
slerp rotation), so an eye-in-hand camera moving with the arm is placed where it really was.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Hashable

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.geometry.tf_tree import FrameLookupError, TransformTree
from realvlg.geometry.transforms import Transform, base_from_camera
from realvlg.observation import RGBDFrame


class CaptureError(RealVLGError):
    """No usable capture: no synchronised frames, or no robot pose near the image's time.
    ``silent``: the streams that delivered nothing new (empty for other causes)."""

    def __init__(self, message: str, silent: tuple[Hashable, ...] = ()):
        super().__init__(message)
        self.silent = silent


class StreamSynchronizer:
    """Newest set of messages, one per stream, whose stamps agree within ``tolerance`` seconds;
    ``labels`` name the streams in errors (e.g. their topics; default: the stream keys)."""

    def __init__(self, streams: tuple[Hashable, ...], tolerance: float = 1e-3, history: int = 10,
                 labels: dict[Hashable, str] | None = None):
        self.streams = streams
        self.labels = {s: str(s) for s in streams} | dict(labels or {})
        self.tolerance = tolerance
        self._buffers: dict[Hashable, deque] = {s: deque(maxlen=history) for s in streams}
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)

    def add(self, stream: Hashable, stamp: float, message: Any) -> None:
        with self._ready:
            self._buffers[stream].append((stamp, message))
            self._ready.notify_all()

    def _newest_complete(self, newer_than: float) -> tuple[float, dict] | None:
        first, *others = self.streams
        for stamp, message in reversed(self._buffers[first]):
            if stamp <= newer_than:
                return None
            found = {first: message}
            for stream in others:
                match = min(self._buffers[stream], key=lambda sm: abs(sm[0] - stamp), default=None)
                if match is None or abs(match[0] - stamp) > self.tolerance:
                    break
                found[stream] = match[1]
            else:
                return stamp, found
        return None

    def wait(self, timeout: float, newer_than: float = -np.inf) -> tuple[float, dict]:
        """The newest complete set with a stamp after ``newer_than``; waits up to ``timeout``
        seconds for one, then raises :class:`CaptureError` saying which streams are silent."""
        with self._ready:
            if self._ready.wait_for(lambda: self._newest_complete(newer_than) is not None, timeout):
                return self._newest_complete(newer_than)
            # silent: nothing after newer_than — nothing at all, or only older frames (a camera that
            # stopped, or one whose stamps run on another clock)
            silent = tuple(s for s, buf in self._buffers.items() if not any(stamp > newer_than for stamp, _ in buf))
            empty = [self.labels[s] for s in silent if not self._buffers[s]]
            old = {self.labels[s]: newer_than - self._buffers[s][-1][0] for s in silent if self._buffers[s]}
            parts = ([f"nothing received on {', '.join(empty)}"] if empty else []) + (
                [f"only older frames on {', '.join(old)} (newest {max(old.values()):.1f} s before the "
                 "frames wanted: the camera stopped, or stamps them with another clock)"] if old else [])
            detail = "; ".join(parts) or "the streams' timestamps never matched"
            raise CaptureError(f"no synchronised camera frames within {timeout:.1f} s: {detail}", silent)


REST_TRANSLATION = 1e-3   # m: two poses this close (and REST_ROTATION) mean the robot did not move —
REST_ROTATION = 5e-3      # rad   below what hand-eye calibration resolves (~0.5 mm, ~0.1°)


def _at_rest(a: np.ndarray, b: np.ndarray) -> bool:
    rotation = Rotation.from_matrix(a[:3, :3].T @ b[:3, :3]).magnitude()
    return float(np.linalg.norm(a[:3, 3] - b[:3, 3])) <= REST_TRANSLATION and rotation <= REST_ROTATION


class PoseHistory:
    """Recent ``parent←child`` poses by time; :meth:`at` interpolates to a given stamp."""

    def __init__(self, parent: str, child: str, horizon: int = 500):
        self.parent, self.child = parent, child
        self._stamps: deque[float] = deque(maxlen=horizon)
        self._poses: deque[np.ndarray] = deque(maxlen=horizon)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    def add(self, stamp: float, matrix: np.ndarray) -> None:
        with self._arrived:
            if self._stamps and stamp <= self._stamps[-1]:
                return  # out of order or repeated: keep the history sorted
            self._stamps.append(float(stamp))
            self._poses.append(np.asarray(matrix, dtype=float))
            self._arrived.notify_all()

    def wait_past(self, stamp: float, timeout: float) -> bool:
        """Wait until a pose at or after ``stamp`` has arrived (so :meth:`at` can bracket it);
        False when none came within ``timeout`` seconds."""
        with self._arrived:
            return self._arrived.wait_for(lambda: bool(self._stamps) and self._stamps[-1] >= stamp, timeout)

    @property
    def first_stamp(self) -> float | None:
        """The oldest pose's time (None before any): frames older than it cannot be placed."""
        with self._lock:
            return self._stamps[0] if self._stamps else None

    def at(self, stamp: float, max_gap: float = 0.05) -> Transform:
        """The pose at ``stamp``: the pose either side when the robot was at rest between them
        (however far apart), interpolated between them when they are at most ``2 · max_gap``
        apart, else the nearest one if within ``max_gap``. Raises
        :class:`CaptureError` otherwise (the robot state stream stopped, or the clocks disagree)."""
        with self._lock:
            stamps, poses = list(self._stamps), list(self._poses)
        if not stamps:
            raise CaptureError(f"no robot pose ({self.parent}←{self.child}) received yet")
        i = bisect.bisect_left(stamps, stamp)
        if 0 < i < len(stamps) and _at_rest(poses[i - 1], poses[i]):
            return Transform(self.parent, self.child, poses[i])  # did not move across the gap
        if 0 < i < len(stamps) and stamps[i] - stamps[i - 1] <= 2 * max_gap + 1e-9:
            t0, t1, p0, p1 = stamps[i - 1], stamps[i], poses[i - 1], poses[i]
            w = (stamp - t0) / (t1 - t0)
            matrix = np.eye(4)
            matrix[:3, :3] = Slerp([0.0, 1.0], Rotation.from_matrix([p0[:3, :3], p1[:3, :3]]))(w).as_matrix()
            matrix[:3, 3] = (1 - w) * p0[:3, 3] + w * p1[:3, 3]
            return Transform(self.parent, self.child, matrix)
        nearest = min((j for j in (i - 1, i) if 0 <= j < len(stamps)), key=lambda j: abs(stamps[j] - stamp))
        if abs(stamps[nearest] - stamp) > max_gap + 1e-9:
            raise CaptureError(f"the nearest robot pose is {abs(stamps[nearest] - stamp):.3f} s away from the "
                               f"image (allowed {max_gap:.3f} s)")
        return Transform(self.parent, self.child, poses[nearest])


@dataclass(frozen=True)
class CaptureConfig:
    camera_mount: str = "eye_in_hand"  # or "fixed": the calibration is then base←camera
    capture_timeout: float = 5.0       # s to wait for a synchronised frame the robot poses can place
    max_frame_age: float = 0.0         # s: frames up to this old at the request count (0: only newer ones)
    pose_max_gap: float = 0.1          # s between an image and the robot poses around it
    sync_tolerance: float = 0.002      # s between the stamps of colour, depth and camera_info

    def __post_init__(self) -> None:
        if self.camera_mount not in ("eye_in_hand", "fixed"):
            raise InvalidInputError(f"camera_mount must be eye_in_hand or fixed, got {self.camera_mount!r}")


class FrameCapture:
    """An :class:`~realvlg.observation.RGBDFrame` with its camera pose from streamed messages: feed
    :attr:`sync` (streams ``color``, ``depth``, ``info``: ``sensor_msgs`` Image / CameraInfo of
    any ROS binding; ``topics`` maps them to where they come from, for errors), :attr:`poses`
    (base←TCP, eye-in-hand only) and :attr:`camera_frames` (the
    camera driver's static transforms, e.g. realsense-ros's ``camera_link → … →
    camera_color_optical_frame``). The camera pose is ``base←tcp(t) · calibration ·
    calibration.child←image frame`` (the last looked up in :attr:`camera_frames`; identity when the
    calibration already locates the image's frame); :meth:`capture` returns the
    first frame taken after ``now`` − ``max_frame_age`` that the pose history can place, trying the
    next frame while the pose stream lags, or raises :class:`CaptureError`. Colour ``rgb8`` /
    ``bgr8`` / ``rgba8`` / ``bgra8`` and depth ``16UC1`` (mm) / ``32FC1`` (m) decode with
    :mod:`realvlg.cameras.messages`."""

    def __init__(self, calibration: Transform, base_frame: str, tcp_frame: str, config: CaptureConfig = CaptureConfig(),
                 camera_frames: TransformTree | None = None, topics: dict[str, str] | None = None):
        self.calibration, self.base_frame, self.config = calibration, base_frame, config
        self.camera_frames = camera_frames if camera_frames is not None else TransformTree()
        self.topics = dict(topics or {})
        self.sync = StreamSynchronizer(("color", "depth", "info"), tolerance=config.sync_tolerance,
                                       labels={s: f"{s} ({t})" for s, t in self.topics.items()})
        self.poses = PoseHistory(base_frame, tcp_frame)

    def capture(self, now: float) -> RGBDFrame:
        from realvlg.cameras.messages import decode_color, decode_depth
        from realvlg.geometry.camera import CameraIntrinsics

        cfg = self.config
        deadline = time.monotonic() + cfg.capture_timeout
        newer_than, unplaced = now - cfg.max_frame_age, None
        while True:
            if cfg.camera_mount == "eye_in_hand" and self.poses.first_stamp is not None:
                newer_than = max(newer_than, self.poses.first_stamp)  # a frame the robot poses can place
            try:
                stamp, msgs = self.sync.wait(max(0.0, deadline - time.monotonic()), newer_than=newer_than)
            except CaptureError:
                if unplaced is not None:
                    raise unplaced from None   # frames came, none could be placed: that is the reason
                raise
            try:
                camera = self._camera_pose(stamp, deadline, msgs["color"].header.frame_id)
                break
            except CaptureError as exc:
                if time.monotonic() >= deadline:
                    raise
                newer_than, unplaced = stamp, exc
        try:
            color, depth = decode_color(msgs["color"]), decode_depth(msgs["depth"])
            intrinsics = CameraIntrinsics.from_camera_info(msgs["info"])
            return RGBDFrame(color, depth, intrinsics, stamp, frame_id=camera.child, base_from_camera=camera,
                             depth_scale=0.001 if msgs["depth"].encoding == "16UC1" else 1.0)
        except (RealVLGError, ValueError) as exc:
            raise CaptureError(f"the camera frame at {stamp:.3f} s cannot be used: {exc}") from None

    def _camera_pose(self, stamp: float, deadline: float, image_frame: str) -> Transform:
        try:
            mount = self.calibration @ self.camera_frames.lookup(self.calibration.child, image_frame)
        except FrameLookupError as exc:
            raise CaptureError(f"the camera's own frames are unknown ({exc}): is the camera driver publishing "
                               f"/tf_static?") from None
        if self.config.camera_mount != "eye_in_hand":
            return base_from_camera(mount, self.base_frame)
        self.poses.wait_past(stamp, max(0.0, deadline - time.monotonic()))  # the pose stream may lag the camera
        return base_from_camera(mount, self.base_frame, self.poses.at(stamp, self.config.pose_max_gap))
