"""realvlg types ↔ ROS 2 messages: the one place that knows these message layouts.

Importing this module needs the message packages (``sensor_msgs``, ``geometry_msgs``,
``realvlg_interfaces``) but no running node, no ``rclpy.init()`` and no cv_bridge.

===========================  ====================================================================
numpy image (H, W[, 3])      ``sensor_msgs/Image``: rgb8, bgr8, mono8, 16UC1, 32FC1
                             (:func:`image_to_msg`, :func:`image_from_msg`)
:class:`CameraIntrinsics`    ``sensor_msgs/CameraInfo`` (plumb_bob, K, P = [K | 0], R = I)
points (N, 3) [+ rgb uint8]  ``sensor_msgs/PointCloud2``: x, y, z float32, rgb packed in a float32
:class:`Grasp6D`             ``geometry_msgs/PoseStamped`` (+ the width travels beside it)
:class:`Transform`           ``geometry_msgs/TransformStamped`` (frame_id = parent)
``Grounding`` /              ``realvlg_interfaces/Grounding`` (rect θ in radians; an invalid
``InvalidGrounding``         result's ``invalid_reason`` is ``"<reason code>: <sentence>"``)
===========================  ====================================================================

Images: encoding copies once (``msg.data = ndarray.tobytes()``; passing the bytes to the
``Image(data=...)`` constructor is 10-100x slower, an ndarray 1000x and more: see
bench/camera_topics.py). Decoding is zero-copy where the layout allows (native byte order): the
returned array is a view of ``msg.data`` — pass ``copy=True`` to own the pixels. Row padding
(``step`` > width · pixel size) and ``is_bigendian`` are honoured.

PointCloud2 colour: ``rgb`` is a FLOAT32 field whose 32 bits are the integer
``0x00RRGGBB`` (little-endian), the layout RViz and PCL read.

Errors: unsupported encodings, sizes that do not match the data, non-finite poses or
non-unit quaternions raise :class:`realvlg.errors.InvalidInputError`.
"""

from __future__ import annotations

import sys

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped, TransformStamped
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import DexGrasp, Grasp, Grasp6D
from realvlg.geometry.transforms import Transform, unit_quaternion
from realvlg.grounding.backend import GroundingResult, InvalidGrounding, grounding_from_fields
from realvlg_interfaces.msg import Grounding as GroundingMsg

# encoding → (dtype, channels)
IMAGE_ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "mono8": (np.dtype(np.uint8), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}
_DEFAULT_ENCODING = {("uint8", 3): "rgb8", ("uint8", 1): "mono8", ("uint16", 1): "16UC1",
                     ("float32", 1): "32FC1"}
_HOST_BIG_ENDIAN = sys.byteorder == "big"


# -- headers ------------------------------------------------------------------------------------
def stamp_to_msg(seconds: float) -> Time:
    """Seconds (e.g. ``time.time()``) → ``builtin_interfaces/Time``."""
    ns = int(round(float(seconds) * 1e9))
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def stamp_from_msg(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def make_header(frame_id: str = "", stamp: Time | float | None = None) -> Header:
    if stamp is None:
        stamp = Time()
    elif not isinstance(stamp, Time):
        stamp = stamp_to_msg(stamp)
    return Header(frame_id=frame_id, stamp=stamp)


# -- sensor_msgs/Image ----------------------------------------------------------------------------
def image_to_msg(image: np.ndarray, encoding: str | None = None, frame_id: str = "",
                 stamp: Time | float | None = None) -> Image:
    """HxW or HxWx3 array → ``sensor_msgs/Image`` (unpadded rows, host byte order).

    ``encoding`` defaults from the dtype: uint8 HxWx3 → rgb8 (give ``"bgr8"`` for OpenCV
    order), uint8 HxW → mono8, uint16 → 16UC1 (depth in mm), float32 → 32FC1 (depth in m).
    """
    image = np.asarray(image)
    channels = 1 if image.ndim == 2 else (image.shape[2] if image.ndim == 3 else 0)
    if channels == 0 or image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidInputError(f"an image must be HxW or HxWxC with H, W > 0, got shape {image.shape}")
    if encoding is None:
        encoding = _DEFAULT_ENCODING.get((image.dtype.name, channels))
        if encoding is None:
            raise InvalidInputError(f"no image encoding for a {image.dtype} array with {channels} channel(s); "
                                    f"supported: {', '.join(IMAGE_ENCODINGS)}")
    if encoding not in IMAGE_ENCODINGS:
        raise InvalidInputError(f"unsupported image encoding {encoding!r}; supported: {', '.join(IMAGE_ENCODINGS)}")
    dtype, want_channels = IMAGE_ENCODINGS[encoding]
    if image.dtype.newbyteorder("=") != dtype or channels != want_channels:
        raise InvalidInputError(f"{encoding} needs {dtype} with {want_channels} channel(s), "
                                f"got {image.dtype} with shape {image.shape}")
    if not image.dtype.isnative:
        image = image.astype(dtype)
    height, width = image.shape[:2]
    msg = Image(header=make_header(frame_id, stamp), height=height, width=width, encoding=encoding,
                is_bigendian=int(_HOST_BIG_ENDIAN), step=width * channels * dtype.itemsize)
    # One C-order copy whatever the strides. Through the setter, not the constructor: the
    # constructor wraps the bytes in an array.array that the setter copies again (10-100x slower).
    msg.data = image.tobytes()
    return msg


def image_from_msg(msg: Image, copy: bool = False) -> np.ndarray:
    """``sensor_msgs/Image`` → HxW (one channel) or HxWx3 array in the encoding's dtype.

    Zero-copy view of ``msg.data`` unless ``copy`` or the data is in the other byte order
    (then converted to host order). Channel order is kept: a bgr8 message gives BGR pixels.
    """
    if msg.encoding not in IMAGE_ENCODINGS:
        raise InvalidInputError(f"unsupported image encoding {msg.encoding!r}; supported: "
                                f"{', '.join(IMAGE_ENCODINGS)}")
    dtype, channels = IMAGE_ENCODINGS[msg.encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    if height == 0 or width == 0:
        raise InvalidInputError(f"empty {msg.encoding} image ({width}x{height})")
    if step < row_bytes:
        raise InvalidInputError(f"{msg.encoding} image step {step} is shorter than a row "
                                f"({width} px × {channels * dtype.itemsize} B = {row_bytes} B)")
    if len(msg.data) != step * height:
        raise InvalidInputError(f"{msg.encoding} image {width}x{height} with step {step} needs "
                                f"{step * height} bytes, got {len(msg.data)}")
    wire = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    array = np.ndarray(shape=(height, width, channels), dtype=wire, buffer=np.frombuffer(msg.data, np.uint8),
                       strides=(step, channels * dtype.itemsize, dtype.itemsize))
    if channels == 1:
        array = array[:, :, 0]
    if not wire.isnative:
        return array.astype(dtype)
    return array.copy() if copy else array


# -- sensor_msgs/CameraInfo -------------------------------------------------------------------
def camera_info_to_msg(intrinsics: CameraIntrinsics, frame_id: str = "",
                       stamp: Time | float | None = None) -> CameraInfo:
    """Intrinsics → CameraInfo: plumb_bob ``d``, ``k`` = K, ``r`` = I, ``p`` = [K | 0] (monocular)."""
    K = intrinsics.K
    if len(intrinsics.distortion) != 5:
        raise InvalidInputError(f"plumb_bob needs 5 distortion coefficients, got {len(intrinsics.distortion)}")
    return CameraInfo(header=make_header(frame_id, stamp), width=intrinsics.width, height=intrinsics.height,
                      distortion_model="plumb_bob", d=[float(c) for c in intrinsics.distortion],
                      k=K.ravel(), r=np.eye(3).ravel(), p=np.hstack([K, np.zeros((3, 1))]).ravel())


def camera_info_from_msg(msg: CameraInfo) -> CameraIntrinsics:
    """CameraInfo → intrinsics (:meth:`CameraIntrinsics.from_camera_info`)."""
    return CameraIntrinsics.from_camera_info(msg)


# -- sensor_msgs/PointCloud2 --------------------------------------------------------------------
_FIELD_DTYPES = {PointField.INT8: "i1", PointField.UINT8: "u1", PointField.INT16: "i2",
                 PointField.UINT16: "u2", PointField.INT32: "i4", PointField.UINT32: "u4",
                 PointField.FLOAT32: "f4", PointField.FLOAT64: "f8"}


def pack_rgb(colors: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 RGB → (N,) float32 whose bits are 0x00RRGGBB (the PCL / RViz ``rgb`` field)."""
    c = colors.astype(np.uint32)
    return ((c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]).view(np.float32)


def unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_rgb`; accepts the float32 field or its uint32 bits."""
    bits = np.ascontiguousarray(packed).view(np.uint32)
    return np.stack([(bits >> 16) & 0xFF, (bits >> 8) & 0xFF, bits & 0xFF], axis=-1).astype(np.uint8)


def points_to_pointcloud2(points: np.ndarray, colors: np.ndarray | None = None, frame_id: str = "",
                          stamp: Time | float | None = None) -> PointCloud2:
    """(N, 3) points [m] (+ (N, 3) uint8 RGB) → unorganised PointCloud2 (height 1)."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InvalidInputError(f"points must have shape (N, 3), got {points.shape}")
    names, offsets = ["x", "y", "z"], [0, 4, 8]
    if colors is not None:
        colors = np.asarray(colors)
        if colors.shape != points.shape or colors.dtype != np.uint8:
            raise InvalidInputError(f"colors must be uint8 with the points' shape {points.shape}, "
                                    f"got {colors.dtype} {colors.shape}")
        names.append("rgb")
        offsets.append(12)
    point_step = 4 * len(names)
    layout = np.dtype({"names": names, "formats": ["<f4"] * len(names), "offsets": offsets,
                       "itemsize": point_step})
    cloud = np.empty(len(points), dtype=layout)
    for i, axis in enumerate("xyz"):
        cloud[axis] = points[:, i]
    if colors is not None:
        cloud["rgb"] = pack_rgb(colors)
    fields = [PointField(name=n, offset=o, datatype=PointField.FLOAT32, count=1) for n, o in zip(names, offsets)]
    msg = PointCloud2(header=make_header(frame_id, stamp), height=1, width=len(points), fields=fields,
                      is_bigendian=False, point_step=point_step, row_step=point_step * len(points),
                      is_dense=bool(np.isfinite(points).all()))
    msg.data = cloud.tobytes()   # through the setter, as in image_to_msg
    return msg


def pointcloud2_to_points(msg: PointCloud2, skip_nans: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """PointCloud2 → ((N, 3) float32 points, (N, 3) uint8 colours or None).

    Reads x, y, z (float32 or float64) and an optional ``rgb`` / ``rgba`` field (packed bits,
    declared FLOAT32 or UINT32), any ``point_step`` / ``row_step`` padding, organised clouds
    (row-major N = height · width) and either byte order. ``skip_nans`` drops points with a
    non-finite coordinate.
    """
    by_name = {f.name: f for f in msg.fields}
    missing = [n for n in "xyz" if n not in by_name]
    if missing:
        raise InvalidInputError(f"PointCloud2 has no field(s) {missing}; fields: {sorted(by_name)}")
    order = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for name in ("x", "y", "z"):
        f = by_name[name]
        if f.datatype not in (PointField.FLOAT32, PointField.FLOAT64):
            raise InvalidInputError(f"PointCloud2 field {name} must be FLOAT32 or FLOAT64, got datatype {f.datatype}")
        names.append(name)
        formats.append(order + _FIELD_DTYPES[f.datatype])
        offsets.append(f.offset)
    color_field = by_name.get("rgb") or by_name.get("rgba")
    if color_field is not None:
        if color_field.datatype not in (PointField.FLOAT32, PointField.UINT32):
            raise InvalidInputError(f"PointCloud2 field {color_field.name} must be packed FLOAT32 or UINT32")
        names.append("rgb")
        formats.append(order + "u4")
        offsets.append(color_field.offset)
    height, width = int(msg.height), int(msg.width)
    point_step, row_step = int(msg.point_step), int(msg.row_step)
    if any(o + np.dtype(f).itemsize > point_step for o, f in zip(offsets, formats)):
        raise InvalidInputError(f"PointCloud2 fields run past point_step {point_step}")
    if row_step < width * point_step:
        raise InvalidInputError(f"PointCloud2 row_step {row_step} < width {width} × point_step {point_step}")
    if len(msg.data) != row_step * height:
        raise InvalidInputError(f"PointCloud2 {width}x{height} with row_step {row_step} needs "
                                f"{row_step * height} bytes, got {len(msg.data)}")
    layout = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": point_step})
    cloud = np.ndarray(shape=(height, width), dtype=layout, buffer=np.frombuffer(msg.data, np.uint8),
                       strides=(row_step, point_step)).reshape(-1)
    points = np.stack([cloud[n] for n in "xyz"], axis=-1).astype(np.float32)
    colors = unpack_rgb(cloud["rgb"].astype(np.uint32)) if color_field is not None else None
    if skip_nans:
        keep = np.isfinite(points).all(axis=1)
        points = points[keep]
        colors = colors[keep] if colors is not None else None
    return points, colors


# -- geometry_msgs ------------------------------------------------------------------------------
def grasp_to_pose_stamped(grasp: Grasp, stamp: Time | float | None = None) -> PoseStamped:
    """Grasp6D / DexGrasp → PoseStamped in ``grasp.frame`` (a gripper's TCP pose: z = approach,
    y = closing; a hand's palm pose). The width and finger joints are not part of a pose; they
    travel in their own fields (e.g. ``Grasp.Response.width`` / ``hand_joints``)."""
    msg = PoseStamped(header=make_header(grasp.frame, stamp))
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in grasp.position)
    o = msg.pose.orientation
    o.x, o.y, o.z, o.w = (float(v) for v in grasp.rotation.as_quat())
    return msg


def grasp_from_pose_stamped(msg: PoseStamped, width: float, score: float = 1.0,
                            hand_joints=()) -> Grasp:
    """PoseStamped (+ opening width [m], or a hand's finger joints [rad]) → a Grasp6D, or a DexGrasp
    when ``hand_joints`` is not empty, in ``msg.header.frame_id``."""
    if not msg.header.frame_id:
        raise InvalidInputError("PoseStamped has no header.frame_id: a grasp pose needs its frame")
    p, o = msg.pose.position, msg.pose.orientation
    position, rotation = np.array([p.x, p.y, p.z]), Rotation.from_quat(unit_quaternion([o.x, o.y, o.z, o.w]))
    if len(hand_joints):
        return DexGrasp(position, rotation, np.asarray(hand_joints, dtype=float), msg.header.frame_id)
    return Grasp6D(position, rotation, float(width), msg.header.frame_id, score)


def transform_to_msg(transform: Transform, stamp: Time | float | None = None) -> TransformStamped:
    """parent←child → TransformStamped (``header.frame_id`` = parent, ``child_frame_id`` = child)."""
    msg = TransformStamped(header=make_header(transform.parent, stamp), child_frame_id=transform.child)
    t, q = transform.translation, transform.quaternion_xyzw
    msg.transform.translation.x, msg.transform.translation.y, msg.transform.translation.z = (float(v) for v in t)
    r = msg.transform.rotation
    r.x, r.y, r.z, r.w = (float(v) for v in q)
    return msg


def transform_from_msg(msg: TransformStamped) -> Transform:
    t, r = msg.transform.translation, msg.transform.rotation
    return Transform.from_translation_quaternion([t.x, t.y, t.z], [r.x, r.y, r.z, r.w],
                                                 msg.header.frame_id, msg.child_frame_id)


# -- realvlg_interfaces/Grounding ------------------------------------------------------------------
def grounding_to_msg(result: GroundingResult, frame_id: str = "",
                     stamp: Time | float | None = None) -> GroundingMsg:
    """Grounding / InvalidGrounding → ``realvlg_interfaces/Grounding``. Absent parts are all-zero
    arrays and an empty mask; a mask travels as mono8 (255 = object)."""
    msg = GroundingMsg(header=make_header(frame_id, stamp), task=result.task, valid=result.valid,
                       raw_answer=result.raw_answer, samples=int(result.samples),
                       latency=float(result.latency), backend=result.backend, model=result.model)
    if isinstance(result, InvalidGrounding):
        msg.invalid_reason = f"{result.reason.value}: {result.message}"
        return msg
    msg.agreement = float(result.agreement)
    if result.box is not None:
        msg.bbox = result.box.as_array()
    if result.mask is not None:
        mask = np.asarray(result.mask)
        if mask.ndim != 2:
            raise InvalidInputError(f"a grounding mask must be HxW, got shape {mask.shape}")
        msg.mask = image_to_msg(np.where(mask.astype(bool), np.uint8(255), np.uint8(0)), "mono8", frame_id, stamp)
    if result.rect is not None:
        r = result.rect
        msg.rect = np.array([r.x, r.y, r.theta, r.width])
        msg.rect_jaw = float(r.jaw)
    if result.contact is not None:
        c = result.contact
        msg.contact = np.array([c.x1, c.y1, c.x2, c.y2])
    return msg


def grounding_from_msg(msg: GroundingMsg) -> GroundingResult:
    """``realvlg_interfaces/Grounding`` → Grounding / InvalidGrounding (inverse of
    :func:`grounding_to_msg`; :func:`realvlg.grounding.backend.grounding_from_fields`)."""
    return grounding_from_fields(msg)