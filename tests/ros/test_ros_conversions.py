"""realvlg.ros.conversions in one process: round trips, padding, byte order, bad input."""

import math
import struct

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import Image, PointCloud2, PointField

from realvlg.errors import InvalidInputError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair, Grasp6D, RectGrasp
from realvlg.geometry.transforms import Transform
from realvlg.grounding.backend import Grounding, InvalidGrounding, InvalidReason
from realvlg.ros import conversions as conv

rng = np.random.default_rng(7)
SAMPLES = {
    "rgb8": rng.integers(0, 256, (5, 7, 3), dtype=np.uint8),
    "bgr8": rng.integers(0, 256, (5, 7, 3), dtype=np.uint8),
    "mono8": rng.integers(0, 256, (5, 7), dtype=np.uint8),
    "16UC1": rng.integers(0, 65536, (5, 7), dtype=np.uint16),
    "32FC1": rng.normal(size=(5, 7)).astype(np.float32),
}


# -- Image ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", list(SAMPLES))
def test_image_round_trip(encoding):
    image = SAMPLES[encoding]
    msg = conv.image_to_msg(image, encoding, frame_id="cam", stamp=12.5)
    assert (msg.encoding, msg.height, msg.width, msg.header.frame_id) == (encoding, 5, 7, "cam")
    assert msg.step == 7 * image.itemsize * (3 if image.ndim == 3 else 1)
    assert conv.stamp_from_msg(msg.header.stamp) == 12.5
    out = conv.image_from_msg(msg)
    assert out.dtype == image.dtype and out.shape == image.shape
    np.testing.assert_array_equal(out, image)


def test_default_encodings_follow_dtype():
    assert [conv.image_to_msg(SAMPLES[e]).encoding for e in ("rgb8", "mono8", "16UC1", "32FC1")] == \
        ["rgb8", "mono8", "16UC1", "32FC1"]


def test_decode_is_zero_copy_and_copy_owns_pixels():
    msg = conv.image_to_msg(SAMPLES["16UC1"])
    view, owned = conv.image_from_msg(msg), conv.image_from_msg(msg, copy=True)
    assert np.shares_memory(view, np.frombuffer(msg.data, np.uint8))
    assert not np.shares_memory(owned, np.frombuffer(msg.data, np.uint8))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(list(SAMPLES)), st.integers(1, 9), st.integers(1, 9), st.integers(1, 13),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_decode_respects_row_padding_and_byte_order(encoding, height, width, pad, big, seed):
    dtype, channels = conv.IMAGE_ENCODINGS[encoding]
    r = np.random.default_rng(seed)
    shape = (height, width, channels) if channels > 1 else (height, width)
    image = (r.integers(0, 256, shape) if dtype.kind == "u" and dtype.itemsize == 1
             else r.integers(0, 65536, shape) if dtype.kind == "u" else r.normal(size=shape)).astype(dtype)
    wire = image.astype(dtype.newbyteorder(">" if big else "<"))
    row_bytes = width * channels * dtype.itemsize
    rows = np.full((height, row_bytes + pad), 0xAB, np.uint8)   # padding filled with junk
    rows[:, :row_bytes] = np.frombuffer(wire.tobytes(), np.uint8).reshape(height, row_bytes)
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=int(big),
                step=row_bytes + pad, data=rows.tobytes())
    out = conv.image_from_msg(msg)
    assert out.dtype == dtype and out.dtype.isnative
    np.testing.assert_array_equal(out, image)


def test_big_endian_16uc1_known_bytes():
    msg = Image(height=1, width=2, encoding="16UC1", is_bigendian=1, step=4, data=bytes([0x01, 0x02, 0xFF, 0x00]))
    np.testing.assert_array_equal(conv.image_from_msg(msg), [[0x0102, 0xFF00]])


def test_encode_big_endian_array_is_sent_in_host_order():
    depth = SAMPLES["16UC1"].astype(">u2")
    msg = conv.image_to_msg(depth)
    assert msg.is_bigendian == 0
    np.testing.assert_array_equal(conv.image_from_msg(msg), depth)


@pytest.mark.parametrize("make, message", [
    (lambda: Image(height=2, width=2, encoding="yuv422", step=4, data=bytes(8)), "unsupported image encoding 'yuv422'"),
    (lambda: Image(height=2, width=2, encoding="rgb8", step=5, data=bytes(10)), "step 5 is shorter"),
    (lambda: Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(11)), "needs 12 bytes, got 11"),
    (lambda: Image(height=0, width=2, encoding="mono8", step=2, data=b""), "empty"),
])
def test_bad_image_messages(make, message):
    with pytest.raises(InvalidInputError, match=message):
        conv.image_from_msg(make())


@pytest.mark.parametrize("array, encoding, message", [
    (np.zeros((4, 4, 3), np.uint8), "16UC1", "16UC1 needs uint16"),
    (np.zeros((4, 4), np.uint16), "mono8", "mono8 needs uint8"),
    (np.zeros((4, 4, 4), np.uint8), None, "no image encoding"),
    (np.zeros((4, 4), np.float64), None, "no image encoding"),
    (np.zeros((4, 4), np.uint8), "jpeg", "unsupported image encoding"),
    (np.zeros(4, np.uint8), None, "HxW"),
])
def test_bad_image_arrays(array, encoding, message):
    with pytest.raises(InvalidInputError, match=message):
        conv.image_to_msg(array, encoding)


# -- CameraInfo -------------------------------------------------------------------------------------
D435I = CameraIntrinsics(1280, 720, 909.1, 908.7, 641.3, 362.2, (0.01, -0.02, 0.001, 0.0005, 0.003))


def test_camera_info_round_trip():
    msg = conv.camera_info_to_msg(D435I, "camera_color_optical_frame", stamp=3.0)
    assert msg.distortion_model == "plumb_bob" and msg.header.frame_id == "camera_color_optical_frame"
    np.testing.assert_allclose(np.reshape(msg.k, (3, 3)), D435I.K)
    np.testing.assert_allclose(np.reshape(msg.p, (3, 4))[:, :3], D435I.K)
    np.testing.assert_allclose(np.reshape(msg.r, (3, 3)), np.eye(3))
    assert conv.camera_info_from_msg(msg) == D435I


def test_bad_camera_info():
    msg = conv.camera_info_to_msg(D435I)
    msg.distortion_model = "equidistant"
    msg.d = [0.1, 0.2, 0.3, 0.4]
    with pytest.raises(InvalidInputError, match="unsupported distortion model 'equidistant'"):
        conv.camera_info_from_msg(msg)
    msg = conv.camera_info_to_msg(D435I)
    msg.d = [0.1, 0.2, 0.3]
    with pytest.raises(InvalidInputError, match="5 distortion coefficients"):
        conv.camera_info_from_msg(msg)
    with pytest.raises(InvalidInputError, match="not filled in"):
        conv.camera_info_from_msg(type(msg)())


# -- PointCloud2 ---------------------------------------------------------------------------------------
def test_pointcloud_round_trip_with_colours():
    points = rng.normal(size=(50, 3)).astype(np.float32)
    colors = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    msg = conv.points_to_pointcloud2(points, colors, "base")
    assert [f.name for f in msg.fields] == ["x", "y", "z", "rgb"]
    assert all(f.datatype == PointField.FLOAT32 for f in msg.fields)
    assert (msg.point_step, msg.width, msg.height, msg.is_dense) == (16, 50, 1, True)
    p, c = conv.pointcloud2_to_points(msg)
    np.testing.assert_array_equal(p, points)
    np.testing.assert_array_equal(c, colors)


def test_rgb_packing_is_what_rviz_reads():
    msg = conv.points_to_pointcloud2(np.zeros((1, 3), np.float32), np.array([[0x12, 0x34, 0x56]], np.uint8))
    (bits,) = struct.unpack_from("<I", bytes(msg.data), 12)
    assert bits == 0x00123456


def test_pointcloud_without_colours_and_nans():
    points = np.array([[0, 0, 1], [np.nan, 0, 0], [1, 2, 3]], np.float32)
    msg = conv.points_to_pointcloud2(points)
    assert msg.point_step == 12 and not msg.is_dense
    p, c = conv.pointcloud2_to_points(msg)
    assert c is None and p.shape == (3, 3)
    p, _ = conv.pointcloud2_to_points(msg, skip_nans=True)
    np.testing.assert_array_equal(p, points[[0, 2]])


@pytest.mark.parametrize("big", [False, True])
def test_foreign_pointcloud_layout(big):
    """An organised 2x3 cloud from another producer: float64 xyz, uint32 rgba, padding, big-endian."""
    o = ">" if big else "<"
    layout = np.dtype({"names": ["z", "x", "y", "rgba"], "formats": [o + "f8", o + "f8", o + "f8", o + "u4"],
                       "offsets": [0, 8, 16, 28], "itemsize": 40})
    cloud = np.zeros((2, 3), layout)
    xyz = rng.normal(size=(2, 3, 3))
    cloud["x"], cloud["y"], cloud["z"] = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    rgb = rng.integers(0, 256, (2, 3, 3), dtype=np.uint32)
    cloud["rgba"] = (0xFF << 24) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    row_step = 3 * 40 + 8
    data = np.zeros((2, row_step), np.uint8)
    data[:, :120] = np.frombuffer(cloud.tobytes(), np.uint8).reshape(2, 120)
    fields = [PointField(name="z", offset=0, datatype=PointField.FLOAT64, count=1),
              PointField(name="x", offset=8, datatype=PointField.FLOAT64, count=1),
              PointField(name="y", offset=16, datatype=PointField.FLOAT64, count=1),
              PointField(name="rgba", offset=28, datatype=PointField.UINT32, count=1)]
    msg = PointCloud2(height=2, width=3, fields=fields, is_bigendian=big, point_step=40, row_step=row_step,
                      data=data.tobytes(), is_dense=True)
    p, c = conv.pointcloud2_to_points(msg)
    np.testing.assert_allclose(p, xyz.reshape(-1, 3).astype(np.float32))
    np.testing.assert_array_equal(c, rgb.reshape(-1, 3))


def test_bad_pointclouds():
    with pytest.raises(InvalidInputError, match=r"shape \(N, 3\)"):
        conv.points_to_pointcloud2(np.zeros((4, 2)))
    with pytest.raises(InvalidInputError, match="colors must be uint8"):
        conv.points_to_pointcloud2(np.zeros((4, 3)), np.zeros((4, 3)))
    msg = conv.points_to_pointcloud2(np.zeros((4, 3), np.float32))
    msg.data = bytes(msg.data)[:-1]
    with pytest.raises(InvalidInputError, match="needs 48 bytes, got 47"):
        conv.pointcloud2_to_points(msg)
    msg = conv.points_to_pointcloud2(np.zeros((4, 3), np.float32))
    msg.fields = msg.fields[:2]
    with pytest.raises(InvalidInputError, match="no field"):
        conv.pointcloud2_to_points(msg)


# -- poses ------------------------------------------------------------------------------------------------
finite = st.floats(-3, 3, allow_nan=False)
quats = st.lists(st.floats(-1, 1, allow_nan=False), min_size=4, max_size=4).filter(lambda q: np.linalg.norm(q) > 0.1)


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=3, max_size=3), quats, st.floats(0, 0.08))
def test_grasp_pose_stamped_round_trip(position, q, width):
    grasp = Grasp6D(position, Rotation.from_quat(q), width, frame="fr3_link0")
    msg = conv.grasp_to_pose_stamped(grasp, stamp=1.25)
    assert isinstance(msg, PoseStamped) and msg.header.frame_id == "fr3_link0"
    back = conv.grasp_from_pose_stamped(msg, width)
    np.testing.assert_allclose(back.position, grasp.position)
    np.testing.assert_allclose(back.matrix, grasp.matrix, atol=1e-12)
    assert (back.frame, back.width) == ("fr3_link0", width)


def test_pose_without_frame_or_with_bad_quaternion():
    msg = conv.grasp_to_pose_stamped(Grasp6D([0, 0, 0], Rotation.identity(), 0.04, frame="base"))
    msg.pose.orientation.w = 2.0
    with pytest.raises(InvalidInputError, match="norm"):
        conv.grasp_from_pose_stamped(msg, 0.04)
    msg.header.frame_id = ""
    with pytest.raises(InvalidInputError, match="frame_id"):
        conv.grasp_from_pose_stamped(msg, 0.04)


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=3, max_size=3), quats)
def test_transform_stamped_round_trip(t, q):
    T = Transform.from_translation_quaternion(t, np.asarray(q) / np.linalg.norm(q), "fr3_link0", "camera")
    msg = conv.transform_to_msg(T, stamp=2.0)
    assert (msg.header.frame_id, msg.child_frame_id) == ("fr3_link0", "camera")
    assert conv.transform_from_msg(msg).isclose(T, atol=1e-12)


# -- Grounding ---------------------------------------------------------------------------------------------
def test_grounding_round_trip_all_parts():
    mask = np.zeros((6, 8), bool)
    mask[2:4, 3:6] = True
    g = Grounding(task="seg", box=BoundingBox(3, 2, 5, 3), mask=mask, rect=RectGrasp(4.0, 2.5, -0.7, 3.0, 2.0),
                  contact=ContactPair(1, 2, 3, 4), raw_answer="<answer>…</answer>", agreement=0.75, samples=4,
                  latency=0.31, backend="openai", model="realvlg-r1-3b")
    msg = conv.grounding_to_msg(g, "camera_color_optical_frame", stamp=5.0)
    assert msg.valid and msg.invalid_reason == "" and msg.mask.encoding == "mono8"
    assert msg.rect[2] == pytest.approx(-0.7)   # radians on the wire
    back = conv.grounding_from_msg(msg)
    np.testing.assert_array_equal(back.mask, mask)
    assert back.box == g.box and back.rect == g.rect and back.contact == g.contact
    for name in ("task", "raw_answer", "agreement", "samples", "latency", "backend", "model"):
        assert getattr(back, name) == getattr(g, name)


def test_grounding_absent_parts_stay_absent():
    g = Grounding(task="grasp", rect=RectGrasp.from_degrees(640, 360, 30, 80))
    back = conv.grounding_from_msg(conv.grounding_to_msg(g))
    assert back.box is None and back.mask is None and back.contact is None
    assert back.rect.theta == pytest.approx(math.radians(30))


def test_invalid_grounding_round_trip():
    bad = InvalidGrounding(task="contact", reason=InvalidReason.OUT_OF_IMAGE,
                           message="contact (1400, 20) lies outside the 1280x720 image", raw_answer="[1400,20]")
    msg = conv.grounding_to_msg(bad)
    assert not msg.valid and msg.invalid_reason.startswith("out_of_image: ")
    assert conv.grounding_from_msg(msg) == bad


def test_grounding_messages_that_cannot_be_read():
    msg = conv.grounding_to_msg(InvalidGrounding("bbox", InvalidReason.EMPTY, "nothing"))
    msg.invalid_reason = "something went wrong"
    with pytest.raises(InvalidInputError, match="reason code"):
        conv.grounding_from_msg(msg)
    msg = conv.grounding_to_msg(Grounding(task="seg", box=BoundingBox(0, 0, 1, 1), mask=np.ones((2, 2), bool)))
    msg.mask.encoding = "16UC1"
    with pytest.raises(InvalidInputError, match="mono8"):
        conv.grounding_from_msg(msg)
    msg = conv.grounding_to_msg(Grounding(task="bbox"))
    msg.bbox = np.array([5.0, 5.0, 1.0, 1.0])
    with pytest.raises(InvalidInputError, match="swapped"):
        conv.grounding_from_msg(msg)
