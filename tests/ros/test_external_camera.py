"""camera:=external across processes: the realsense2_camera stand-in (tests/ros/ros_peers/) publishes
what realsense-ros publishes, and the grasp node, pointed at a camera namespace by
config/camera_external.yaml, says clearly when that camera is absent or runs without align_depth.
(The closed-loop grasp through the stand-in: tests/sim/test_grasp_graph_external.py.)"""

import pathlib
import time

import numpy as np
import pytest
from rclpy.qos import (
    DurabilityPolicy,
    QoSCompatibility,
    QoSProfile,
    ReliabilityPolicy,
    qos_check_compatible,
    qos_profile_sensor_data,
    qos_profile_system_default,
)
from sensor_msgs.msg import CameraInfo, Image
from test_ros_graph import DISCOVERY_TIMEOUT, call
from tf2_msgs.msg import TFMessage

from realvlg.graph import plan_graph
from realvlg.ros.conversions import camera_info_from_msg, image_from_msg, transform_from_msg
from realvlg.ros.process import RosChildProcess
from realvlg.ros.spin import READY_PREFIX
from realvlg_interfaces.srv import Grasp

from ros_peers.common import D435I, camera_frames

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]
SEED = 20261206
PEERS = pathlib.Path(__file__).resolve().parent / "ros_peers"
START_TIMEOUT = 180.0     # grasp_node: interpreter, imports, planner set-up, on a loaded machine


def test_the_standin_publishes_what_realsense2_camera_publishes(ros, start_peer):
    node, executor = ros
    feed = start_peer("image_publisher.py", SEED, 2)
    camera = start_peer("realsense2_camera_standin.py", f"{feed.namespace}/camera/camera",
                        "--ros-args", "-p", "align_depth.enable:=true")
    ns = f"{camera.namespace}/camera"             # /<camera_namespace>/<camera_name>
    streams = {"color": (Image, "color/image_raw"), "color_info": (CameraInfo, "color/camera_info"),
               "depth": (Image, "depth/image_rect_raw"), "depth_info": (CameraInfo, "depth/camera_info"),
               "aligned": (Image, "aligned_depth_to_color/image_raw"),
               "aligned_info": (CameraInfo, "aligned_depth_to_color/camera_info")}
    received: dict[str, dict[int, object]] = {k: {} for k in streams}
    reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    for key, (kind, topic) in streams.items():
        node.create_subscription(kind, f"{ns}/{topic}", lambda m, k=key: received[k].setdefault(m.header.stamp.sec, m),
                                 reliable)
    static: list = []
    node.create_subscription(TFMessage, "/tf_static", lambda m: static.extend(m.transforms),
                             QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    deadline = time.monotonic() + DISCOVERY_TIMEOUT
    while time.monotonic() < deadline and (min(len(r) for r in received.values()) < 2 or len(static) < 4):
        executor.spin_once(timeout_sec=0.1)
    assert all(sorted(r)[:2] == [0, 1] for r in received.values()), \
        f"{ {k: sorted(r) for k, r in received.items()} }\nstand-in:\n{camera.tail()}\nfeed:\n{feed.tail()}"

    rgb, depth = camera_frames(SEED, 1)
    frames = {k: received[k][1].header.frame_id for k in streams}
    assert frames == {"color": "camera_color_optical_frame", "color_info": "camera_color_optical_frame",
                      "aligned": "camera_color_optical_frame", "aligned_info": "camera_color_optical_frame",
                      "depth": "camera_depth_optical_frame", "depth_info": "camera_depth_optical_frame"}
    assert (received["color"][1].encoding, received["aligned"][1].encoding) == ("rgb8", "16UC1")
    np.testing.assert_array_equal(image_from_msg(received["color"][1]), rgb)          # pixels and stamps unchanged
    np.testing.assert_array_equal(image_from_msg(received["aligned"][1]), depth)
    assert camera_info_from_msg(received["aligned_info"][1]) == D435I

    # QoS as realsense-ros offers it: images SYSTEM_DEFAULT (the RMW's defaults: reliable, with Fast DDS
    # transient local), camera_info DEFAULT (reliable, volatile); the grasp node's subscriptions match both
    system_default = node.create_publisher(Image, "/realvlg_extcam_probe", qos_profile_system_default)
    (probe,) = node.get_publishers_info_by_topic("/realvlg_extcam_probe")
    for key, (_, topic) in streams.items():
        (info,) = node.get_publishers_info_by_topic(f"{ns}/{topic}")
        assert info.node_name == "camera" and info.node_namespace == camera.namespace
        assert info.qos_profile.reliability == ReliabilityPolicy.RELIABLE, key
        expected = DurabilityPolicy.VOLATILE if key.endswith("info") else probe.qos_profile.durability
        assert info.qos_profile.durability == expected, key
        assert qos_check_compatible(info.qos_profile, qos_profile_sensor_data)[0] != QoSCompatibility.ERROR, key
    node.destroy_publisher(system_default)

    # /tf_static: realsense-ros's chain, one parent per frame, the colour optical frame looking along x of camera_link
    edges = {t.child_frame_id: transform_from_msg(t) for t in static}
    assert {child: t.parent for child, t in edges.items()} == {
        "camera_color_frame": "camera_link", "camera_color_optical_frame": "camera_color_frame",
        "camera_depth_frame": "camera_link", "camera_depth_optical_frame": "camera_depth_frame"}
    link_from_optical = edges["camera_color_frame"] @ edges["camera_color_optical_frame"]
    np.testing.assert_allclose(link_from_optical.rotation.apply([0, 0, 1]), [1, 0, 0], atol=1e-12)   # optical z = forward
    np.testing.assert_allclose(link_from_optical.rotation.apply([1, 0, 0]), [0, -1, 0], atol=1e-12)  # optical x = right
    np.testing.assert_allclose(link_from_optical.translation, [0.0, 0.015, 0.0])
    np.testing.assert_allclose(edges["camera_depth_frame"].matrix, np.eye(4))        # camera_link is the depth imager


def grasp_node_for(namespace: str, tmp_path, **parameters) -> RosChildProcess:
    """grasp_node as camera:=external plans it (its files), reading the camera under ``namespace``."""
    (spec,) = [n for n in plan_graph("franka", "external", "vlm", overrides={"grasp_node": {
        "camera.namespace": namespace, "capture_timeout": 2.0, "run_root": str(tmp_path), **parameters}})
        if n.name == "grasp_node"]
    return RosChildProcess([*spec.argv(), "-r", "__ns:=/extcam", "-r", "/grasp:=/extcam/grasp"], name="grasp_extcam")


def standin(feed, namespace: str, *parameters: str) -> RosChildProcess:
    """The realsense2_camera stand-in, its topics under ``namespace``, fed by the peer ``feed``."""
    return RosChildProcess([PEERS / "realsense2_camera_standin.py", f"{feed.namespace}/camera/camera",
                            "--ros-args", "-r", f"__ns:={namespace.rsplit('/', 1)[0]}", *parameters],
                           cwd=PEERS, name="standin")


def grasp_until(ros, client, grasp, words: str):
    """/grasp until the answer says ``words`` (a loaded machine discovers slowly): the last answer."""
    node, executor = ros
    deadline, answer = time.monotonic() + DISCOVERY_TIMEOUT, None
    while time.monotonic() < deadline and (answer is None or words not in answer.message):
        answer = call(node, executor, client, Grasp.Request(instruction="grasp the banana"), grasp)
    return answer


def test_an_absent_camera_and_align_depth_off_are_clear_capture_failures(ros, start_peer, tmp_path):
    node, executor = ros
    namespace = f"/realvlg_extcam_{time.monotonic_ns()}/camera"
    client = node.create_client(Grasp, "/extcam/grasp")
    with grasp_node_for(namespace, tmp_path) as grasp:
        grasp.wait_for_line(READY_PREFIX, START_TIMEOUT)
        absent = call(node, executor, client, Grasp.Request(instruction="grasp the banana"), grasp)
        assert not absent.success and absent.code == Grasp.Response.CAPTURE_FAILED
        assert f"nothing received on color ({namespace}/color/image_raw), depth " \
               f"({namespace}/aligned_depth_to_color/image_raw), info ({namespace}/color/camera_info)" in absent.message
        assert f"no camera publishes under {namespace}" in absent.message
        assert "ros2 launch realsense2_camera rs_launch.py align_depth.enable:=true" in absent.message

        # realsense2_camera without align_depth.enable (its default): colour flows, aligned depth does not exist
        with standin(start_peer("image_publisher.py", SEED, 2), namespace) as camera:
            camera.wait_for_line("READY", START_TIMEOUT)
            off = grasp_until(ros, client, grasp, "nothing received on depth")   # once colour flows
            assert not off.success and off.code == Grasp.Response.CAPTURE_FAILED, off.message
            assert f"nothing received on depth ({namespace}/aligned_depth_to_color/image_raw);" in off.message
            assert (f"align_depth is off: the camera publishes {namespace}/depth/image_rect_raw but not "
                    f"{namespace}/aligned_depth_to_color/image_raw; restart realsense2_camera with "
                    "align_depth.enable:=true") in off.message, f"{off.message}\nstand-in:\n{camera.tail()}"
        assert grasp.running


def test_a_camera_whose_driver_publishes_no_tf_cannot_be_placed(ros, start_peer, tmp_path):
    node, _ = ros
    namespace = f"/realvlg_extcam_{time.monotonic_ns()}/camera"
    client = node.create_client(Grasp, "/extcam/grasp")
    # the feed's frames are stamped 0 s and 1 s: accept them however old
    with grasp_node_for(namespace, tmp_path, max_frame_age=1.0e10) as grasp:
        grasp.wait_for_line(READY_PREFIX, START_TIMEOUT)
        # aligned depth, but the driver's TF off (realsense-ros: publish_tf:=false)
        feed = start_peer("image_publisher.py", SEED, 2)
        with standin(feed, namespace, "-p", "align_depth.enable:=true", "-p", "publish_tf:=false") as camera:
            camera.wait_for_line("READY", START_TIMEOUT)
            untied = grasp_until(ros, client, grasp, "own frames are unknown")
        assert not untied.success and untied.code == Grasp.Response.CAPTURE_FAILED, untied.message
        assert "camera_color_optical_frame" in untied.message
        assert "is the camera driver publishing /tf_static?" in untied.message
