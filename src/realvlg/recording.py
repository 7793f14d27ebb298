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

    with BagRecorder("runs/attempt_0001/bag") as rec:
        rec.write_rgbd(frame)
        rec.write("/realvlg/grasp_pose", pose_msg)
"""

from __future__ import annotations

import time
from pathlib import Path

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


class BagRecorder:
    """A rosbag2 writer (see the module docstring). ``storage``: ``"mcap"`` (default) or ``"sqlite3"``."""

    def __init__(self, path: str | Path, storage: str = "mcap", typestore=None) -> None:
        if storage not in STORAGE:
            raise InvalidInputError(f"bag storage must be one of {', '.join(STORAGE)}, got {storage!r}")
        self.path = Path(path)
        if self.path.exists():
            raise InvalidInputError(f"{self.path} exists already; a bag is never overwritten")
        self.typestore = typestore or default_typestore()
        self._writer = Writer(self.path, version=Writer.VERSION_LATEST, storage_plugin=STORAGE[storage])
        self._connections: dict[tuple[str, str], object] = {}
        self.message_count = 0

    @property
    def types(self) -> dict:
        """Message classes by type name, e.g. ``types["std_msgs/msg/String"]``."""
        return self.typestore.types

    def open(self) -> "BagRecorder":
        self._writer.open()
        return self

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "BagRecorder":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def register_msg(self, msgtype: str, definition: str) -> None:
        """Make a custom message type known, from its ``.msg`` text (``pkg/msg/Name``)."""
        self.typestore.register(get_types_from_msg(definition, msgtype))

    def _connection(self, topic: str, msgtype: str):
        key = (topic, msgtype)
        if key not in self._connections:
            if msgtype not in self.typestore.types:
                raise InvalidInputError(f"unknown message type {msgtype!r}; register it with register_msg()")
            try:
                self._connections[key] = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            except WriterError as exc:
                raise InvalidInputError(f"cannot add topic {topic} ({msgtype}) to {self.path}: {exc}") from None
        return self._connections[key]

    def write_cdr(self, topic: str, msgtype: str, data: bytes | memoryview, stamp: int | None = None) -> None:
        """Write an already CDR-serialised message (e.g. ``rclpy.serialization.serialize_message``)."""
        self._writer.write(self._connection(topic, msgtype), time.time_ns() if stamp is None else int(stamp), data)
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


__all__ = ["BagRecorder", "STORAGE", "IMAGE_MSGTYPE", "CAMERA_INFO_MSGTYPE"]
