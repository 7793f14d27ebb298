"""Record camera frames and any ROS message to a rosbag2 (MCAP or sqlite3) with rosbags, no rclpy.

Used to keep each grasp attempt's inputs and outputs: :meth:`BagRecorder.write_rgbd` writes a
frame on the realsense-ros topics (:mod:`realvlg.cameras.topics`: colour ``rgb8``, aligned depth
``16UC1`` mm by default, and both ``camera_info``), which :class:`~realvlg.cameras.replay.ReplayCamera`
reads back; :meth:`BagRecorder.write` writes any message built from the typestore
(``rec.types["geometry_msgs/msg/PoseStamped"](...)``); :meth:`BagRecorder.write_cdr` writes bytes
that rclpy's ``serialize_message`` produced, so a ROS node can record its own messages unchanged;
:meth:`BagRecorder.register_msg` adds a custom ``.msg`` definition (e.g. realvlg_interfaces).

Log time: each message is logged at its ``header.stamp`` when it has one, else at ``stamp_ns`` or
the wall clock. The bag is a rosbag2 directory (``metadata.yaml`` + ``*.mcap``/``*.db3``) that
``ros2 bag play`` and Foxglove open.

Crash safety: :meth:`BagRecorder.commit` closes what was written since the last commit as one
complete file of the bag (``<name>_<n>.mcap``, as rosbag2 names the files of a split bag) and lists
it in ``metadata.yaml`` (replaced atomically), so a process killed at any moment leaves a bag
holding everything committed before (rosbags, ``ros2 bag`` and the replay camera read it); the
segment in progress sits in a hidden ``.part_<n>`` folder that readers ignore. :meth:`close`
commits. A grasp attempt commits at each stage without waiting (``commit(wait=False)``: a
background thread finishes the file while the attempt goes on; ``bench/recording.py`` measures
the ways).

:class:`MessageBuffer` keeps the recent serialised messages of a few topics (TF, joint states) so
that the ones around a capture can go into its bag.

    with BagRecorder("runs/attempt_0001/bag") as rec:
        rec.write_rgbd(frame)
        rec.write("/realvlg/grasp_pose", pose_msg)
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import yaml
from rosbags.rosbag2 import StoragePlugin, Writer, WriterError
from rosbags.typesys import get_types_from_msg

from realvlg.cameras import topics
from realvlg.cameras.messages import (
    CAMERA_INFO_MSGTYPE,
    IMAGE_MSGTYPE,
    camera_info_msg,
    default_typestore,
    depth_image_msg,
    image_msg,
    stamp_ns,
)
from realvlg.errors import InvalidInputError
from realvlg.observation import RGBDFrame

STORAGE = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: 10x faster
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class BagRecorder:
    """A rosbag2 writer (see the module docstring). ``storage``: ``"mcap"`` (default) or ``"sqlite3"``."""

    def __init__(self, path: str | Path, storage: str = "mcap", typestore=None) -> None:
        if storage not in STORAGE:
            raise InvalidInputError(f"bag storage must be one of {', '.join(STORAGE)}, got {storage!r}")
        self.path = Path(path)
        if self.path.exists():
            raise InvalidInputError(f"{self.path} exists already; a bag is never overwritten")
        self.storage = STORAGE[storage]
        self.typestore = typestore or default_typestore()
        self._writer: Writer | None = None  # the segment in progress (None: nothing since the last commit)
        self._connections: dict[tuple[str, str], object] = {}
        self._metadata: dict | None = None  # what metadata.yaml lists: the committed segments
        self._segments = 0
        self._committer: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self.message_count = 0

    @property
    def types(self) -> dict:
        """Message classes by type name, e.g. ``types["std_msgs/msg/String"]``."""
        return self.typestore.types

    def open(self) -> "BagRecorder":
        self.path.mkdir(parents=True)
        return self

    def commit(self, wait: bool = True) -> None:
        """Close the messages written since the last commit as one file of the bag and list it in
        ``metadata.yaml`` (nothing to do when nothing was written). ``wait=False`` leaves the
        closing to a background thread (in order, one commit after the other) and returns at once:
        the caller goes on while the file is finished; :meth:`close` (or a later waiting commit)
        waits for them all and raises what one of them raised."""
        writer, self._writer, self._connections = self._writer, None, {}
        if writer is not None and not wait and self.storage is StoragePlugin.MCAP:
            if self._committer is None:
                self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bag-commit")
            self._pending.append(self._committer.submit(self._finish, writer, self._segments - 1))
            return
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()
        if writer is not None:  # sqlite3 connections stay in the thread that made them
            self._finish(writer, self._segments - 1)

    def _finish(self, writer: Writer, index: int) -> None:
        written = writer.storage.path
        writer.close()
        final = self.path / f"{self.path.name}_{index}{written.suffix}"
        written.replace(final)
        info = yaml.load((writer.path / "metadata.yaml").read_text(), Loader=_YAML_LOADER)
        info = info["rosbag2_bagfile_information"]
        info["relative_file_paths"] = [final.name]
        info["files"][0]["path"] = final.name
        self._metadata = info if self._metadata is None else _merged(self._metadata, info)
        tmp = self.path / "metadata.yaml.tmp"
        tmp.write_text(yaml.dump({"rosbag2_bagfile_information": self._metadata}, Dumper=_YAML_DUMPER,
                                 sort_keys=False))
        tmp.replace(self.path / "metadata.yaml")
        shutil.rmtree(writer.path)

    def close(self) -> None:
        try:
            self.commit()
        finally:
            if self._committer is not None:
                self._committer.shutdown()
                self._committer = None

    def __enter__(self) -> "BagRecorder":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def register_msg(self, msgtype: str, definition: str) -> None:
        """Make a custom message type known, from its ``.msg`` text (``pkg/msg/Name``)."""
        self.typestore.register(get_types_from_msg(definition, msgtype))

    def _segment(self) -> Writer:
        if self._writer is None:
            if not self.path.is_dir():
                raise InvalidInputError(f"the bag {self.path} is not open")
            self._writer = Writer(self.path / f".part_{self._segments}", version=Writer.VERSION_LATEST,
                                  storage_plugin=self.storage)
            self._writer.open()
            self._segments += 1
        return self._writer

    def _connection(self, topic: str, msgtype: str):
        key = (topic, msgtype)
        writer = self._segment()
        if key not in self._connections:
            if msgtype not in self.typestore.types:
                raise InvalidInputError(f"unknown message type {msgtype!r}; register it with register_msg()")
            try:
                self._connections[key] = writer.add_connection(topic, msgtype, typestore=self.typestore)
            except WriterError as exc:
                raise InvalidInputError(f"cannot add topic {topic} ({msgtype}) to {self.path}: {exc}") from None
        return self._connections[key]

    def write_cdr(self, topic: str, msgtype: str, data: bytes | memoryview, stamp: int | None = None) -> None:
        """Write an already CDR-serialised message (e.g. ``rclpy.serialization.serialize_message``)."""
        connection = self._connection(topic, msgtype)
        self._writer.write(connection, time.time_ns() if stamp is None else int(stamp), data)
        self.message_count += 1

    def write(self, topic: str, msg, stamp: int | None = None) -> None:
        """Write a typestore message on ``topic``; logged at ``stamp`` ns, else its header stamp, else now."""
        msgtype = msg.__msgtype__
        if stamp is None and hasattr(msg, "header"):
            stamp = stamp_ns(msg.header)
        self.write_cdr(topic, msgtype, self.typestore.serialize_cdr(msg, msgtype), stamp)

    def write_rgbd(self, frame: RGBDFrame, stamp: int | None = None,
                   depth_encoding: str = topics.DEPTH_ENCODING) -> None:
        """Write ``frame`` as realsense-ros does: colour image + info, aligned depth image + info,
        all stamped ``stamp`` ns (default: the frame's timestamp) in ``frame.frame_id``."""
        stamp = round(frame.timestamp * 1e9) if stamp is None else int(stamp)
        ts, fid = self.typestore, frame.frame_id
        info = camera_info_msg(ts, frame.intrinsics, stamp, fid)
        self.write(topics.COLOR_IMAGE_TOPIC, image_msg(ts, frame.color, topics.COLOR_ENCODING, stamp, fid))
        self.write(topics.COLOR_INFO_TOPIC, info)
        self.write(topics.ALIGNED_DEPTH_IMAGE_TOPIC, depth_image_msg(ts, frame.depth, stamp, fid, depth_encoding))
        self.write(topics.ALIGNED_DEPTH_INFO_TOPIC, info)


def _merged(total: dict, part: dict) -> dict:
    """rosbag2 metadata of a bag's files plus one more file (``part``: a one-file bag's)."""
    start = min(total["starting_time"]["nanoseconds_since_epoch"], part["starting_time"]["nanoseconds_since_epoch"])
    end = max(total["starting_time"]["nanoseconds_since_epoch"] + total["duration"]["nanoseconds"],
              part["starting_time"]["nanoseconds_since_epoch"] + part["duration"]["nanoseconds"])
    topics = {(t["topic_metadata"]["name"], t["topic_metadata"]["type"]): dict(t)
              for t in total["topics_with_message_count"]}
    for t in part["topics_with_message_count"]:
        key = (t["topic_metadata"]["name"], t["topic_metadata"]["type"])
        if key in topics:
            topics[key]["message_count"] += t["message_count"]
        else:
            topics[key] = t
    return {**total, "relative_file_paths": total["relative_file_paths"] + part["relative_file_paths"],
            "files": total["files"] + part["files"], "message_count": total["message_count"] + part["message_count"],
            "starting_time": {"nanoseconds_since_epoch": start}, "duration": {"nanoseconds": end - start},
            "topics_with_message_count": list(topics.values())}


class MessageBuffer:
    """The recent serialised messages of some topics, for the bag of a capture: per topic the
    messages of the last ``horizon`` seconds (at most ``depth``); a ``latched`` topic (``/tf_static``)
    keeps its newest ``depth`` messages however old. Stamps are receive times in ns. Thread-safe."""

    def __init__(self, horizon: float = 2.0, depth: int = 500, latched: tuple[str, ...] = ()):
        self.horizon_ns, self.depth, self.latched = int(horizon * 1e9), depth, set(latched)
        self._topics: dict[str, deque] = {}
        self._lock = threading.Lock()

    def add(self, topic: str, msgtype: str, stamp_ns: int, data: bytes) -> None:
        with self._lock:
            queue = self._topics.setdefault(topic, deque(maxlen=self.depth))
            queue.append((int(stamp_ns), msgtype, bytes(data)))
            if topic not in self.latched:
                while queue[0][0] < stamp_ns - self.horizon_ns:
                    queue.popleft()

    def since(self, stamp_ns: int) -> list[tuple[str, str, int, bytes]]:
        """``(topic, msgtype, stamp_ns, data)`` of every message received at or after ``stamp_ns``
        (every message of a latched topic), in topic then time order."""
        with self._lock:
            return [(topic, msgtype, stamp, data) for topic, queue in self._topics.items()
                    for stamp, msgtype, data in queue if topic in self.latched or stamp >= stamp_ns]


__all__ = ["BagRecorder", "MessageBuffer", "STORAGE", "IMAGE_MSGTYPE", "CAMERA_INFO_MSGTYPE"]
