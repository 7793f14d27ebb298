"""camera:=external closed loop: the graph `realvlg up --robot sim --camera external --grounding
oracle` plans (sim_node, executor_node, grasp_node with config/camera_external.yaml — no camera
node) beside a stand-in for realsense2_camera (tests/ros/ros_peers/realsense2_camera_standin.py,
launched as ``rs_launch.py align_depth.enable:=true`` would be). The stand-in's feed is the
simulator's wrist camera, which sim_node renders onto a private namespace (its camera topics
remapped under FEED) instead of realsense-ros's names; the grasp node reads only the stand-in.
The banana grasp must succeed as it does through camera:=sim (tests/sim/test_grasp_graph.py).
"""

import pathlib
import time

import pytest
from tf2_msgs.msg import TFMessage

from realvlg.cameras import topics
from realvlg.frames import (
    CAMERA_LINK_FRAME,
    COLOR_FRAME,
    COLOR_OPTICAL_FRAME,
    DEPTH_OPTICAL_FRAME,
    FR3_BASE_FRAME,
    FR3_TCP_FRAME,
)
from realvlg.geometry.tf_tree import TransformTree
from realvlg.graph import plan_graph
from realvlg.ros import names
from realvlg.ros.conversions import transform_from_msg
from realvlg.ros.graph_client import GraphClient
from realvlg.ros.process import RosChildProcess
from realvlg.ros.spin import READY_PREFIX
from realvlg.ros.tf import STATIC_LISTENER
from realvlg.sim.fr3_world import free_loopback_address

pytestmark = [pytest.mark.ros, pytest.mark.sim, pytest.mark.timeout(600)]
START = 180.0
FEED = "/sim_feed"   # the simulator's camera, read by the stand-in only
CAMERA_TOPICS = (names.COLOR_IMAGE_TOPIC, names.ALIGNED_DEPTH_IMAGE_TOPIC, names.COLOR_INFO_TOPIC)
PEERS = pathlib.Path(__file__).resolve().parents[1] / "ros" / "ros_peers"


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    host, runs = free_loopback_address(), tmp_path_factory.mktemp("runs")
    specs = plan_graph("sim", "external", "oracle", overrides={
        "sim_node": {"hostname": host, "camera.width": 320, "camera.height": 180, "objects": ["banana"],
                     "publish_camera": True},   # the stand-in's feed, below
        "executor_node": {"address": host}, "grasp_node": {"run_root": str(runs)}})
    feed_remaps = [arg for suffix in (topics.COLOR_IMAGE, topics.COLOR_INFO, topics.ALIGNED_DEPTH_IMAGE,
                                      topics.ALIGNED_DEPTH_INFO)
                   for arg in ("-r", f"{topics.CAMERA_NAMESPACE}/{suffix}:={FEED}/{suffix}")]
    feed_remaps += ["-r", f"{names.TF_STATIC_TOPIC}:={FEED}/tf_static"]   # its camera frames: the stand-in's only
    processes = [RosChildProcess(spec.argv() + (feed_remaps if spec.name == "sim_node" else []), name=spec.name)
                 for spec in specs]
    processes.insert(1, RosChildProcess([PEERS / "realsense2_camera_standin.py", FEED, "--ros-args",
                                         "-p", "align_depth.enable:=true"], cwd=PEERS, name="realsense2_camera"))
    children = []
    try:
        for child in processes:
            children.append(child.start())
            child.wait_for_line(READY_PREFIX, START)
        yield {c.name: c for c in children}
    finally:
        for child in reversed(children):
            child.stop()


@pytest.fixture(scope="module")
def client():
    with GraphClient("realvlg_extcam_graph_test", wait=60.0) as c:
        yield c


def test_the_graph_has_no_camera_node_and_reads_the_standin_only(graph, client):
    assert "camera_node" not in graph
    def publishers(topic):
        return {(p.node_namespace, p.node_name) for p in client.node.get_publishers_info_by_topic(topic)}

    def discovered() -> bool:
        return all(publishers(t) == {("/camera", "camera")} for t in CAMERA_TOPICS) \
            and ("/camera", "camera") in publishers(names.TF_STATIC_TOPIC)

    deadline = time.monotonic() + 60   # discovery (node names come after the endpoints) on a loaded machine
    while time.monotonic() < deadline and not discovered():  # the stand-in's /tf_static writer too (CI once saw
        client.executor.spin_once(timeout_sec=0.2)        # the camera topics before it)
    for topic in CAMERA_TOPICS:
        assert publishers(topic) == {("/camera", "camera")}, topic
    # the camera's own frames (camera_link → … → optical) come from the stand-in only
    static = {name for _, name in publishers(names.TF_STATIC_TOPIC)}
    assert "camera" in static and "sim_node" not in static, static


def test_tf_with_the_external_camera_is_one_tree_from_the_robot_base(graph, client):
    """/tf + /tf_static: one parent per frame, one tree rooted at fr3_link0 — the mount (grasp_node)
    ends at camera_link, below it realsense2_camera's own chains (colour and depth)."""
    got = {"tf": [], "static": []}
    client.node.create_subscription(TFMessage, names.TF_TOPIC, got["tf"].append, 50)
    client.node.create_subscription(TFMessage, names.TF_STATIC_TOPIC, got["static"].append, STATIC_LISTENER)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (len(got["tf"]) > 5 and len(got["static"]) >= 3):
        client.executor.spin_once(timeout_sec=0.1)
    static = [t for msg in got["static"] for t in msg.transforms]
    moving = [t for msg in got["tf"][-1:] for t in msg.transforms]
    parents = {}
    for t in static + [t for msg in got["tf"] for t in msg.transforms]:
        parents.setdefault(t.child_frame_id, set()).add(t.header.frame_id)
    assert {c: p for c, p in parents.items() if len(p) > 1} == {}, "frames with two parents"
    tree = TransformTree(transform_from_msg(t) for t in static + moving)
    assert tree.roots() == {FR3_BASE_FRAME}
    assert tree.parent(CAMERA_LINK_FRAME) == FR3_TCP_FRAME and tree.parent(COLOR_OPTICAL_FRAME) == COLOR_FRAME
    assert tree.parent(DEPTH_OPTICAL_FRAME) == "camera_depth_frame"


def test_grasp_through_the_external_camera_lifts_the_banana(graph, client):
    response = client.grasp("grasp the banana", "contact")
    assert response.success, f"{response.message}\nstand-in:\n{graph['realsense2_camera'].tail()}"
    assert response.strategy_used == "contact" and response.pose.header.frame_id == names.FR3_BASE_FRAME
    stages = [t.stage for t in response.timings]
    assert stages[:3] == ["capture", "ground", "lift"] and "execute" in stages
    check = client.check_grasp("banana")
    assert check.success, check.message
