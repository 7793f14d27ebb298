"""camera_node publishes a recording as realsense-ros would: pixel-exact colour, millimetre depth,
the recorded intrinsics; a camera that cannot open ends the node with the reason."""

import time

import numpy as np
import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage

from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.camera_mount import color_chain
from realvlg.observation import RGBDFrame
from realvlg.recording import BagRecorder
from realvlg.ros import names
from realvlg.ros.conversions import camera_info_from_msg, image_from_msg, transform_from_msg
from realvlg.ros.process import RosChildProcess
from realvlg.ros.tf import STATIC_LISTENER

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]
INTR = CameraIntrinsics(160, 120, 150.0, 150.0, 79.5, 59.5)


def _frames(n=4):
    rng = np.random.default_rng(0)
    for i in range(n):
        color = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
        depth = np.round(rng.uniform(0.3, 1.2, (120, 160)), 3).astype(np.float32)
        depth[:10] = 0.0
        yield RGBDFrame(color, depth, INTR, timestamp=100.0 + i / 30, frame_number=i)


def test_replay_is_published_on_the_realsense_topics(tmp_path):
    frames = list(_frames())
    with BagRecorder(tmp_path / "bag") as rec:
        for f in frames:
            rec.write_rgbd(f)
    node = RosChildProcess(["-m", "realvlg.ros.nodes.camera_node", "--ros-args", "-p", "backend:=replay",
                            "-p", f"replay.path:={tmp_path / 'bag'}", "-p", "replay.loop:=true",
                            "-r", "/camera/camera/color/image_raw:=/camtest/color",
                            "-r", "/camera/camera/aligned_depth_to_color/image_raw:=/camtest/depth",
                            "-r", "/camera/camera/color/camera_info:=/camtest/info"], name="camera_node")
    context = Context()
    rclpy.init(context=context)
    test_node = rclpy.create_node("camera_test", context=context)
    got = {}
    for topic, kind, t in (("/camtest/color", "color", Image), ("/camtest/depth", "depth", Image),
                           ("/camtest/info", "info", CameraInfo)):
        test_node.create_subscription(t, topic, lambda m, k=kind: got.setdefault(k, m), 10)
    test_node.create_subscription(TFMessage, names.TF_STATIC_TOPIC, lambda m: got.setdefault("static", m),
                                  STATIC_LISTENER)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(test_node)
    try:
        with node:
            node.wait_for_line("READY", 120)
            deadline = time.monotonic() + 60
            while len(got) < 4 and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.2)
        assert set(got) == {"color", "depth", "info", "static"}, node.tail()
        # the camera's own frames as realsense-ros publishes them (a recording: the nominal D435i chain)
        static = [transform_from_msg(t) for t in got["static"].transforms]
        assert len(static) == 2 and all(a.isclose(b, 1e-12) for a, b in zip(static, color_chain()))
        color = image_from_msg(got["color"])
        match = [f for f in frames if np.array_equal(f.color, color)]
        assert match, "published colour is none of the recorded frames"
        assert got["depth"].encoding == "16UC1" and got["color"].header.frame_id == names.COLOR_OPTICAL_FRAME
        depth_mm = image_from_msg(got["depth"]).astype(int)
        assert np.abs(depth_mm - np.round(match[0].depth * 1000)).max() <= 1 or any(
            np.abs(depth_mm - np.round(f.depth * 1000)).max() <= 1 for f in frames)
        assert camera_info_from_msg(got["info"]) == INTR
        # receipt stamps: a recording's own stamps lie in the past
        assert abs(got["color"].header.stamp.sec - time.time()) < 120
    finally:
        executor.shutdown()
        test_node.destroy_node()
        context.try_shutdown()


def test_a_missing_recording_ends_the_node_with_the_reason(tmp_path):
    node = RosChildProcess(["-m", "realvlg.ros.nodes.camera_node", "--ros-args", "-p", "backend:=replay",
                            "-p", f"replay.path:={tmp_path / 'nothing'}"], name="camera_missing")
    with node:
        line = node.wait_for_line("camera_node: cannot start", 120)
        assert node.proc.wait(30) == 1
    assert "nothing" in line
