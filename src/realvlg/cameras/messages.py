"""numpy ↔ ``sensor_msgs/Image`` / ``CameraInfo`` through rosbags' typestore (no rclpy).

Encodings (REP-118, realsense-ros): colour ``rgb8`` (also reads ``bgr8``, ``rgba8``, ``bgra8``),
depth ``16UC1`` in millimetres (``depth_unit`` metres per count) or ``32FC1`` in metres; depth
decodes to float32 metres with 0 = invalid (NaN/inf and non-positive values become 0). Row
padding (``step``) and ``is_bigendian`` are honoured on reading.
"""

from __future__ import annotations

import numpy as np
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from realvlg.cameras.camera import CameraStreamError
from realvlg.cameras.topics import DEPTH_16UC1_UNIT_M
from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics

# ROS 2 Kilted, the distribution realvlg runs on; Image/CameraInfo are the same in every ROS 2.
DEFAULT_STORE = Stores.ROS2_KILTED

IMAGE_MSGTYPE = "sensor_msgs/msg/Image"
CAMERA_INFO_MSGTYPE = "sensor_msgs/msg/CameraInfo"

_COLOR_CHANNELS = {"rgb8": (3, np.s_[..., :3]), "rgba8": (4, np.s_[..., :3]),
                   "bgr8": (3, np.s_[..., 2::-1]), "bgra8": (4, np.s_[..., 2::-1])}


def default_typestore() -> Typestore:
    return get_typestore(DEFAULT_STORE)


def stamp_ns(header) -> int:
    """``header.stamp`` as integer nanoseconds."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def header_msg(ts: Typestore, stamp: int, frame_id: str):
    """A ``std_msgs/Header`` at ``stamp`` nanoseconds."""
    Time, Header = ts.types["builtin_interfaces/msg/Time"], ts.types["std_msgs/msg/Header"]
    return Header(stamp=Time(sec=stamp // 1_000_000_000, nanosec=stamp % 1_000_000_000), frame_id=frame_id)


def image_msg(ts: Typestore, pixels: np.ndarray, encoding: str, stamp: int, frame_id: str):
    """A ``sensor_msgs/Image`` holding ``pixels`` (rows unpadded, little-endian)."""
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    return ts.types[IMAGE_MSGTYPE](
        header=header_msg(ts, stamp, frame_id), height=height, width=width, encoding=encoding,
        is_bigendian=0, step=pixels.strides[0], data=pixels.reshape(-1).view(np.uint8))


def depth_image_msg(ts: Typestore, depth_m: np.ndarray, stamp: int, frame_id: str,
                    encoding: str = "16UC1", depth_unit: float = DEPTH_16UC1_UNIT_M):
    """Depth in metres (0 = invalid) as ``16UC1`` (counts of ``depth_unit``) or ``32FC1`` (metres)."""
    if encoding == "32FC1":
        return image_msg(ts, depth_m.astype(np.float32), encoding, stamp, frame_id)
    if encoding != "16UC1":
        raise ValueError(f"depth encoding must be 16UC1 or 32FC1, got {encoding!r}")
    counts = np.round(np.asarray(depth_m, np.float64) / depth_unit)
    counts[~((counts > 0) & (counts <= np.iinfo(np.uint16).max))] = 0  # out of range → invalid
    return image_msg(ts, counts.astype(np.uint16), encoding, stamp, frame_id)


def camera_info_msg(ts: Typestore, intr: CameraIntrinsics, stamp: int, frame_id: str):
    """A ``sensor_msgs/CameraInfo`` (plumb_bob, R = I, P = [K | 0]) for ``intr``."""
    P = np.zeros((3, 4))
    P[:, :3] = intr.K
    return ts.types[CAMERA_INFO_MSGTYPE](
        header=header_msg(ts, stamp, frame_id), height=intr.height, width=intr.width,
        distortion_model="plumb_bob", d=np.asarray(intr.distortion, np.float64),
        k=intr.K.reshape(-1), r=np.eye(3).reshape(-1), p=P.reshape(-1), binning_x=0, binning_y=0,
        roi=ts.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                         do_rectify=False))


def _rows(msg, bytes_per_pixel: int) -> np.ndarray:
    """The image bytes as ``(height, width * bytes_per_pixel)``, padding stripped."""
    data = np.asarray(msg.data, dtype=np.uint8)
    row = msg.width * bytes_per_pixel
    if msg.step < row or data.size < msg.step * msg.height:
        raise CameraStreamError(f"{msg.encoding} image {msg.width}x{msg.height} has step {msg.step} "
                                f"and {data.size} bytes; expected at least {row} per row")
    return data[: msg.step * msg.height].reshape(msg.height, msg.step)[:, :row]


def decode_color(msg) -> np.ndarray:
    """RGB uint8 (H, W, 3) from a colour ``Image`` (a copy)."""
    try:
        channels, to_rgb = _COLOR_CHANNELS[msg.encoding]
    except KeyError:
        raise CameraStreamError(f"colour encoding {msg.encoding!r} is not supported "
                                f"(use one of {', '.join(_COLOR_CHANNELS)})") from None
    rows = _rows(msg, channels).reshape(msg.height, msg.width, channels)
    return np.array(rows[to_rgb], order="C")


def decode_reference(msg) -> np.ndarray | None:
    """The optional reference image of a ``Grasp`` / ``Ground`` request as RGB uint8 (H, W, 3), or
    None when the message is empty (no size, no data); a message that is not a usable colour image
    (wrong encoding, empty data, data shorter than its size) raises :class:`InvalidInputError`."""
    if not msg.width and not msg.height and not len(msg.data):
        return None
    if not msg.width or not msg.height or not len(msg.data):
        raise InvalidInputError(f"the reference image is empty ({msg.width}x{msg.height}, {len(msg.data)} bytes)")
    try:
        return decode_color(msg)
    except CameraStreamError as exc:
        raise InvalidInputError(f"the reference image cannot be used: {exc}") from None


def decode_depth(msg, depth_unit: float = DEPTH_16UC1_UNIT_M) -> np.ndarray:
    """float32 metres (H, W), 0 = invalid, from a ``16UC1`` or ``32FC1`` depth ``Image``."""
    kinds = {"16UC1": "u2", "mono16": "u2", "32FC1": "f4"}
    if msg.encoding not in kinds:
        raise CameraStreamError(f"depth encoding {msg.encoding!r} is not supported (16UC1 or 32FC1)")
    dtype = np.dtype(kinds[msg.encoding]).newbyteorder(">" if msg.is_bigendian else "<")
    values = np.ascontiguousarray(_rows(msg, dtype.itemsize)).view(dtype).reshape(msg.height, msg.width)
    if dtype.kind == "u":
        return values.astype(np.float32) * np.float32(depth_unit)
    depth = values.astype(np.float32)
    depth[~(np.isfinite(depth) & (depth > 0))] = 0.0
    return depth
