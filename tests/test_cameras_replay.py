"""rosbag2 replay backend and MCAP/sqlite3 recorder: round trips through real bag files written
by BagRecorder and, independently, by rosbags' Writer with realsense-ros-like stamps."""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from realvlg.cameras import (
    CameraNotFoundError,
    CameraStreamError,
    CameraTimeoutError,
    EndOfRecordingError,
    make_camera,
    topics,
)
from realvlg.cameras.replay import ReplayCamera, ReplayCameraConfig
from realvlg.errors import InvalidInputError
from realvlg.frames import COLOR_OPTICAL_FRAME
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.observation import RGBDFrame
from realvlg.recording import BagRecorder

REPO = Path(__file__).resolve().parents[1]
INTR = CameraIntrinsics(640, 360, 454.6, 454.2, 325.2, 183.8)
TS = get_typestore(Stores.ROS2_KILTED)


def synthetic_frame(i: int, intr: CameraIntrinsics = INTR, t0: float = 1700000000.0) -> RGBDFrame:
    rng = np.random.default_rng(i)
    color = rng.integers(0, 256, (intr.height, intr.width, 3), dtype=np.uint8)
    depth = (rng.integers(300, 1500, (intr.height, intr.width)) * 0.001).astype(np.float32)
    depth[:20, :30] = 0.0
    return RGBDFrame(color=color, depth=depth, intrinsics=intr, timestamp=t0 + i / 30, frame_number=i)


def read_all(cam):
    frames = []
    with pytest.raises(EndOfRecordingError):
        while True:
            frames.append(cam.read(timeout=1.0))
    return frames


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_recorder_round_trip(tmp_path, storage):
    sent = [synthetic_frame(i) for i in range(4)]
    with BagRecorder(tmp_path / "bag", storage=storage) as rec:
        for f in sent:
            rec.write_rgbd(f)
    assert (tmp_path / "bag" / "metadata.yaml").is_file()
    with make_camera(ReplayCameraConfig(path=tmp_path / "bag")) as cam:
        assert cam.intrinsics == INTR
        got = read_all(cam)
    assert [g.frame_number for g in got] == [0, 1, 2, 3]
    for f, g in zip(sent, got, strict=True):
        np.testing.assert_array_equal(g.color, f.color)
        np.testing.assert_allclose(g.depth, f.depth, atol=1e-6)
        assert g.depth.dtype == np.float32 and (g.depth[:20, :30] == 0).all()
        assert g.timestamp == pytest.approx(f.timestamp, abs=1e-6)
        assert g.intrinsics == INTR and g.frame_id == COLOR_OPTICAL_FRAME


def test_recorder_32fc1_depth_and_single_file_reading(tmp_path):
    sent = synthetic_frame(0)
    depth = sent.depth.copy()
    depth[5, 5] = 0.12345
    sent = RGBDFrame(color=sent.color, depth=depth, intrinsics=INTR, timestamp=1.0, frame_number=0)
    with BagRecorder(tmp_path / "bag") as rec:
        rec.write_rgbd(sent, depth_encoding="32FC1")
    mcap_file = next((tmp_path / "bag").glob("*.mcap"))
    with ReplayCamera(ReplayCameraConfig(path=mcap_file)) as cam:
        got = cam.read()
    np.testing.assert_array_equal(got.depth, depth)


def write_realsense_ros_bag(path, storage, n=12, drop_depth=(3, 7), color_encoding="rgb8", pad=0):
    """A bag as `ros2 bag record` of realsense-ros would give: colour at 30 Hz with a little stamp
    jitter; aligned depth stamped within 1 ms of its colour image but logged in either order; some
    depth frames dropped; camera_info with every image; an unrelated IMU topic."""
    Header, Time = TS.types["std_msgs/msg/Header"], TS.types["builtin_interfaces/msg/Time"]
    Image, Info = TS.types["sensor_msgs/msg/Image"], TS.types["sensor_msgs/msg/CameraInfo"]
    Imu = TS.types["sensor_msgs/msg/Imu"]
    Quaternion, Vector3 = TS.types["geometry_msgs/msg/Quaternion"], TS.types["geometry_msgs/msg/Vector3"]
    roi = TS.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    rng = np.random.default_rng(0)
    w, h = INTR.width, INTR.height
    expected = {}

    def header(ns):
        return Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id="camera_color_optical_frame")

    info_kw = dict(height=h, width=w, distortion_model="plumb_bob", d=np.zeros(5), k=INTR.K.reshape(-1),
                   r=np.eye(3).reshape(-1), p=np.hstack([INTR.K, np.zeros((3, 1))]).reshape(-1),
                   binning_x=0, binning_y=0, roi=roi)
    with Writer(path, version=9, storage_plugin=storage) as writer:
        conns = {name: writer.add_connection(topic, msgtype, typestore=TS) for name, topic, msgtype in (
            ("color", topics.COLOR_IMAGE_TOPIC, "sensor_msgs/msg/Image"),
            ("color_info", topics.COLOR_INFO_TOPIC, "sensor_msgs/msg/CameraInfo"),
            ("depth", topics.ALIGNED_DEPTH_IMAGE_TOPIC, "sensor_msgs/msg/Image"),
            ("depth_info", topics.ALIGNED_DEPTH_INFO_TOPIC, "sensor_msgs/msg/CameraInfo"),
            ("imu", "/camera/camera/imu", "sensor_msgs/msg/Imu"))}
        for i in range(n):
            c_ns = 1_700_000_000_000_000_000 + round(i * 1e9 / 30) + int(rng.integers(-500_000, 500_000))
            d_ns = c_ns + int(rng.integers(-900_000, 900_000))
            rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            mm = rng.integers(250, 2000, (h, w)).astype(np.uint16)
            chan = {"rgb8": rgb, "bgr8": rgb[..., ::-1]}[color_encoding]
            rows = np.zeros((h, w * 3 + pad), np.uint8)
            rows[:, : w * 3] = chan.reshape(h, -1)
            color_msg = Image(header=header(c_ns), height=h, width=w, encoding=color_encoding, is_bigendian=0,
                              step=w * 3 + pad, data=rows.reshape(-1))
            depth_msg = Image(header=header(d_ns), height=h, width=w, encoding="16UC1", is_bigendian=0,
                              step=w * 2, data=mm.reshape(-1).view(np.uint8))
            latency = int(rng.integers(5_000_000, 25_000_000))
            imu = Imu(header=header(c_ns), orientation=Quaternion(x=0, y=0, z=0, w=1),
                      orientation_covariance=np.zeros(9), angular_velocity=Vector3(x=0, y=0, z=0),
                      angular_velocity_covariance=np.zeros(9), linear_acceleration=Vector3(x=0, y=0, z=9.8),
                      linear_acceleration_covariance=np.zeros(9))
            out = [("color", c_ns + latency, color_msg),
                   ("color_info", c_ns + latency, Info(header=header(c_ns), **info_kw)),
                   ("imu", c_ns, imu)]
            if i not in drop_depth:
                d_log = c_ns + latency + int(rng.integers(-4_000_000, 4_000_000))
                out += [("depth", d_log, depth_msg), ("depth_info", d_log, Info(header=header(d_ns), **info_kw))]
                expected[c_ns] = (rgb, mm)
            for name, log_ns, msg in sorted(out, key=lambda x: x[1]):
                writer.write(conns[name], log_ns, TS.serialize_cdr(msg, msg.__msgtype__))
    return expected


@pytest.mark.parametrize("storage", [StoragePlugin.MCAP, StoragePlugin.SQLITE3])
def test_replay_pairs_a_realsense_ros_bag_by_nearest_stamp(tmp_path, storage):
    expected = write_realsense_ros_bag(tmp_path / "bag", storage)
    with ReplayCamera(ReplayCameraConfig(path=tmp_path / "bag")) as cam:
        got = read_all(cam)
        assert cam.unpaired == 2
    assert len(got) == len(expected) == 10
    for g, (c_ns, (rgb, mm)) in zip(got, sorted(expected.items()), strict=True):
        assert g.timestamp == pytest.approx(c_ns * 1e-9, abs=1e-6)
        np.testing.assert_array_equal(g.color, rgb)
        np.testing.assert_allclose(g.depth, mm * 0.001, rtol=1e-6)
        assert g.intrinsics == INTR


def test_replay_decodes_padded_bgr8_rows(tmp_path):
    expected = write_realsense_ros_bag(tmp_path / "bag", StoragePlugin.MCAP, n=3, drop_depth=(),
                                       color_encoding="bgr8", pad=8)
    with ReplayCamera(ReplayCameraConfig(path=tmp_path / "bag")) as cam:
        for _, (rgb, _) in sorted(expected.items()):
            np.testing.assert_array_equal(cam.read().color, rgb)


def test_tight_pair_tolerance_pairs_nothing(tmp_path):
    write_realsense_ros_bag(tmp_path / "bag", StoragePlugin.MCAP, n=6, drop_depth=())
    with ReplayCamera(ReplayCameraConfig(path=tmp_path / "bag", max_pair_skew=1e-9)) as cam:
        with pytest.raises(EndOfRecordingError, match="no synchronised colour \\+ depth pairs left"):
            cam.read()


def test_missing_topics_and_paths_are_clear_errors(tmp_path):
    with BagRecorder(tmp_path / "no_depth") as rec:
        frame = synthetic_frame(0)
        rec.write(topics.COLOR_IMAGE_TOPIC, rec.types["sensor_msgs/msg/Image"](
            header=rec.types["std_msgs/msg/Header"](stamp=rec.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0),
                                                    frame_id="camera_color_optical_frame"),
            height=frame.height, width=frame.width, encoding="rgb8", is_bigendian=0, step=frame.width * 3,
            data=frame.color.reshape(-1)))
    missing = f"no sensor_msgs/msg/Image messages on {topics.ALIGNED_DEPTH_IMAGE_TOPIC}"
    with pytest.raises(CameraStreamError, match=f"{missing} \\(it holds: {topics.COLOR_IMAGE_TOPIC}"):
        ReplayCamera(ReplayCameraConfig(path=tmp_path / "no_depth")).open()
    with pytest.raises(CameraNotFoundError, match="no rosbag2 recording"):
        ReplayCamera(ReplayCameraConfig(path=tmp_path / "absent")).open()
    (tmp_path / "junk.mcap").write_bytes(b"junk")
    with pytest.raises(CameraStreamError, match="not a readable rosbag2 recording"):
        ReplayCamera(ReplayCameraConfig(path=tmp_path / "junk.mcap")).open()


def test_depth_not_aligned_to_colour_is_refused(tmp_path):
    frame = synthetic_frame(0)
    with BagRecorder(tmp_path / "bag") as rec:
        rec.write_rgbd(frame)
        small = synthetic_frame(1, CameraIntrinsics(320, 180, 227.3, 227.1, 162.4, 91.7))
        from realvlg.cameras.messages import depth_image_msg
        rec.write(topics.ALIGNED_DEPTH_IMAGE_TOPIC,
                  depth_image_msg(rec.typestore, small.depth, round(small.timestamp * 1e9) + 1, "x"))
        rec.write(topics.COLOR_IMAGE_TOPIC, rec.types["sensor_msgs/msg/Image"](
            header=rec.types["std_msgs/msg/Header"](stamp=rec.types["builtin_interfaces/msg/Time"](
                sec=int(small.timestamp), nanosec=round(small.timestamp % 1 * 1e9)), frame_id="x"),
            height=360, width=640, encoding="rgb8", is_bigendian=0, step=1920, data=frame.color.reshape(-1)))
    with ReplayCamera(ReplayCameraConfig(path=tmp_path / "bag")) as cam:
        cam.read()
        with pytest.raises(CameraStreamError, match="depth 320x180 .* is not aligned to colour 640x360"):
            cam.read()


def test_loop_and_real_time_pacing(tmp_path):
    with BagRecorder(tmp_path / "bag") as rec:
        rec.write_rgbd(synthetic_frame(0, t0=100.0))
        rec.write_rgbd(RGBDFrame(**{**synthetic_frame(1).__dict__, "timestamp": 100.8}))
    with ReplayCamera(ReplayCameraConfig(path=tmp_path / "bag", loop=True)) as cam:
        stamps = [cam.read().timestamp for _ in range(5)]
    assert stamps == pytest.approx([100.0, 100.8, 100.0, 100.8, 100.0])
    with ReplayCamera(ReplayCameraConfig(path=tmp_path / "bag", real_time=True)) as cam:
        assert cam.read().timestamp == pytest.approx(100.0)
        start = time.monotonic()
        with pytest.raises(CameraTimeoutError, match="beyond the 0.2 s timeout"):
            cam.read(timeout=0.2)
        assert 0.15 < time.monotonic() - start < 1.0
        assert cam.read(timeout=3.0).timestamp == pytest.approx(100.8)


def test_recorder_extra_messages_rclpy_bytes_and_custom_types(tmp_path):
    from geometry_msgs.msg import PoseStamped as RclpyPoseStamped
    from rclpy.serialization import serialize_message

    grounding_msg = (REPO / "ros2_ws/src/realvlg_interfaces/msg/Grounding.msg").read_text()
    with BagRecorder(tmp_path / "bag") as rec:
        rec.write("/realvlg/instruction", rec.types["std_msgs/msg/String"](data="grasp the cup handle"), stamp=5)
        pose = RclpyPoseStamped()
        pose.header.frame_id = "fr3_link0"
        pose.pose.position.x = 0.42
        rec.write_cdr("/realvlg/grasp_pose", "geometry_msgs/msg/PoseStamped", serialize_message(pose), stamp=6)
        rec.register_msg("realvlg_interfaces/msg/Grounding", grounding_msg)
        assert "realvlg_interfaces/msg/Grounding" in rec.types
        with pytest.raises(InvalidInputError, match="unknown message type"):
            rec.write_cdr("/x", "nope_msgs/msg/Nope", b"", stamp=7)
    with Reader(tmp_path / "bag") as reader:
        msgs = {c.topic: TS.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages()}
    assert msgs["/realvlg/instruction"].data == "grasp the cup handle"
    assert msgs["/realvlg/grasp_pose"].header.frame_id == "fr3_link0"
    assert msgs["/realvlg/grasp_pose"].pose.position.x == 0.42
    with pytest.raises(InvalidInputError, match="exists already"):
        BagRecorder(tmp_path / "bag")
    with pytest.raises(InvalidInputError, match="storage must be one of"):
        BagRecorder(tmp_path / "other", storage="bag")


def test_camera_modules_do_not_import_rclpy():
    code = ("import sys, realvlg.cameras.realsense, realvlg.cameras.replay, realvlg.recording, "
            "realvlg.cli.camera_check; "
            "assert 'rclpy' not in sys.modules, 'rclpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_image_decoding_big_endian_float_depth_and_bad_encodings():
    from realvlg.cameras.messages import decode_color, decode_depth, image_msg

    Image, Header = TS.types["sensor_msgs/msg/Image"], TS.types["std_msgs/msg/Header"]
    header = Header(stamp=TS.types["builtin_interfaces/msg/Time"](sec=0, nanosec=0), frame_id="x")
    mm = np.array([[0, 1], [500, 65535]], np.uint16)
    big = Image(header=header, height=2, width=2, encoding="16UC1", is_bigendian=1, step=4,
                data=mm.astype(">u2").reshape(-1).view(np.uint8))
    np.testing.assert_allclose(decode_depth(big), mm * 0.001, rtol=1e-6)
    metres = np.array([[np.nan, -1.0], [np.inf, 0.75]], np.float32)
    np.testing.assert_array_equal(decode_depth(image_msg(TS, metres, "32FC1", 0, "x")), [[0, 0], [0, 0.75]])
    with pytest.raises(CameraStreamError, match="depth encoding 'rgb8' is not supported"):
        decode_depth(image_msg(TS, np.zeros((2, 2, 3), np.uint8), "rgb8", 0, "x"))
    with pytest.raises(CameraStreamError, match="colour encoding 'yuv422' is not supported"):
        decode_color(image_msg(TS, np.zeros((2, 4), np.uint8), "yuv422", 0, "x"))
    short = Image(header=header, height=2, width=2, encoding="rgb8", is_bigendian=0, step=6,
                  data=np.zeros(10, np.uint8))
    with pytest.raises(CameraStreamError, match="has step 6 and 10 bytes"):
        decode_color(short)


KILLED_WRITER = """
import os, signal, sys
import numpy as np
sys.path[:0] = {paths!r}
from tests.test_cameras_replay import synthetic_frame
from realvlg.recording import BagRecorder
rec = BagRecorder({bag!r}).open()
rec.write_rgbd(synthetic_frame(0))
rec.commit()
rec.write("/realvlg/instruction", rec.types["std_msgs/msg/String"](data="first"), stamp=5)
rec.commit()
rec.write("/realvlg/instruction", rec.types["std_msgs/msg/String"](data="lost"), stamp=6)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_committed_segments_survive_a_killed_writer(tmp_path):
    """A process SIGKILLed mid-segment leaves a bag of everything committed before: a rosbag2 of one
    file per commit that rosbags and the replay camera read (the segment in progress is ignored)."""
    bag = tmp_path / "bag"
    code = KILLED_WRITER.format(paths=[str(REPO / "src"), str(REPO)], bag=str(bag))
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == -9
    listed = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert listed["relative_file_paths"] == ["bag_0.mcap", "bag_1.mcap"] and listed["message_count"] == 5
    with Reader(bag) as reader:
        msgs = [(c.topic, TS.deserialize_cdr(raw, c.msgtype)) for c, _, raw in reader.messages()]
    assert [m.data for t, m in msgs if t == "/realvlg/instruction"] == ["first"]
    assert len(msgs) == 5
    with ReplayCamera(ReplayCameraConfig(path=bag)) as cam:
        np.testing.assert_array_equal(cam.read().color, synthetic_frame(0).color)


def test_message_buffer_keeps_the_recent_messages_and_every_latched_one():
    from realvlg.recording import MessageBuffer

    buffer = MessageBuffer(horizon=1.0, latched=("/tf_static",))
    buffer.add("/tf_static", "tf2_msgs/msg/TFMessage", 0, b"mount")
    for t in range(50):  # 0 … 4.9 s
        buffer.add("/tf", "tf2_msgs/msg/TFMessage", t * 100_000_000, bytes([t]))
    assert {m[0] for m in buffer.since(0)} == {"/tf_static", "/tf"}
    recent = [m for m in buffer.since(4_500_000_000) if m[0] == "/tf"]
    assert [m[2] for m in recent] == [t * 100_000_000 for t in range(45, 50)]
    assert len([m for m in buffer.since(0) if m[0] == "/tf"]) == 11  # the last second only
    assert [m[3] for m in buffer.since(10**12) if m[0] == "/tf_static"] == [b"mount"]
