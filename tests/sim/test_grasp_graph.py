"""The whole graph across processes, as `realvlg up` starts it: sim_node (franky-sim FR3 serving the
libfranka protocol, wrist camera topics, the simulation oracle), executor_node (franky) and
grasp_node; this test process calls /grasp like `realvlg grasp` does.

Faults covered: an instruction naming nothing, a busy graph, no camera frames, a robot that cannot
be reached at start-up, the simulator dying mid-motion — each a clear message and no motion.
"""

import json
import pathlib
import threading
import time

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage

from realvlg.cli.up import start_graph
from realvlg.frames import (
    CAMERA_LINK_FRAME,
    COLOR_OPTICAL_FRAME,
    FR3_ARM_JOINTS,
    FR3_BASE_FRAME,
    FR3_FINGER_JOINTS,
    FR3_TCP_FRAME,
    FRANKA_HAND_STROKE,
)
from realvlg.geometry.camera_mount import to_optical
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.tf_tree import TransformTree
from realvlg.geometry.transforms import Transform, load_transform
from realvlg.graph import repo_path
from realvlg.grasping.record import CAMERA_POSE_TOPIC, GROUNDING_TOPIC, INSTRUCTION_TOPIC, RESULT_TOPIC
from realvlg.robots.urdf import UrdfKinematics
from realvlg.ros import names
from realvlg.ros.attempt_io import REQUEST_QOS
from realvlg.ros.conversions import grasp_from_pose_stamped, grasp_to_pose_stamped, stamp_from_msg, transform_from_msg
from realvlg.ros.graph_client import GraphClient
from realvlg.ros.process import RosChildProcess
from realvlg.ros.tf import LATCHED, STATIC_LISTENER
from realvlg.sim.fr3_world import free_loopback_address
from realvlg_interfaces.srv import ExecuteGrasp, Grasp

pytestmark = [pytest.mark.ros, pytest.mark.sim, pytest.mark.timeout(600)]
START = 180.0


class Client(GraphClient):
    """The graph client, also keeping the latest TCP pose the executor publishes."""

    def __init__(self):
        super().__init__("realvlg_graph_test", wait=60.0)
        self.tcp = None
        self.node.create_subscription(PoseStamped, names.EE_POSE_TOPIC, self._on_pose, 10)

    def _on_pose(self, msg):
        p = msg.pose.position
        self.tcp = np.array([p.x, p.y, p.z])

    def current_tcp(self, timeout=20.0):
        self.tcp = None
        deadline = time.monotonic() + timeout
        while self.tcp is None and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.1)
        assert self.tcp is not None, "no TCP pose from the executor"
        return self.tcp


@pytest.fixture(scope="module")
def client():
    with Client() as c:
        yield c


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    host = free_loopback_address()
    runs = tmp_path_factory.mktemp("runs")
    children = start_graph("sim", "sim", "oracle", START, echo=lambda name, line: None, overrides={
        "sim_node": {"hostname": host, "camera.width": 320, "camera.height": 180, "objects": ["banana"]},
        "executor_node": {"address": host}, "grasp_node": {"run_root": str(runs)}})
    yield {c.name: c for c in children}, runs, host
    for child in reversed(children):
        child.stop()


def test_tf_is_one_tree_from_the_robot_base_to_the_camera_and_matches_the_robot(graph, client):
    """/tf + /tf_static of the running graph: one parent per frame, one tree rooted at fr3_link0 holding
    the TCP and the camera's optical frame; the TCP from the joint states' chain equals the pose franky
    reports (/realvlg/ee_pose, same stamp); /joint_states and the latched robot_description are there."""
    node, got = client.node, {"tf": [], "static": [], "pose": {}, "joints": [], "description": []}
    node.create_subscription(TFMessage, names.TF_TOPIC, got["tf"].append, 50)
    node.create_subscription(TFMessage, names.TF_STATIC_TOPIC, got["static"].append, STATIC_LISTENER)
    node.create_subscription(PoseStamped, names.EE_POSE_TOPIC,
                             lambda m: got["pose"].setdefault(stamp_from_msg(m.header.stamp), m), 50)
    node.create_subscription(JointState, names.JOINT_STATES_TOPIC, got["joints"].append, 10)
    node.create_subscription(String, names.ROBOT_DESCRIPTION_TOPIC, got["description"].append, LATCHED)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (len(got["tf"]) > 20 and len(got["static"]) >= 3 and got["description"]):
        client.executor.spin_once(timeout_sec=0.1)
    static = [t for msg in got["static"] for t in msg.transforms]
    moving = [t for msg in got["tf"] for t in msg.transforms]
    parents = {}
    for t in static + moving:
        parents.setdefault(t.child_frame_id, set()).add(t.header.frame_id)
    assert {c: p for c, p in parents.items() if len(p) > 1} == {}, "frames with two parents"
    assert not {t.child_frame_id for t in static} & {t.child_frame_id for t in moving}, "a frame on /tf and /tf_static"
    tree = TransformTree(transform_from_msg(t) for t in static)
    last = [m for m in got["tf"] if stamp_from_msg(m.transforms[0].header.stamp) in got["pose"]][-1]
    for t in last.transforms:
        tree.add(transform_from_msg(t))
    assert tree.roots() == {FR3_BASE_FRAME}
    assert {FR3_TCP_FRAME, COLOR_OPTICAL_FRAME, "camera_link", "fr3_link7", "fr3_leftfinger"} <= tree.frames
    assert tree.parent("camera_link") == FR3_TCP_FRAME and tree.parent(COLOR_OPTICAL_FRAME) == "camera_color_frame"

    pose = got["pose"][stamp_from_msg(last.transforms[0].header.stamp)]   # the same state read
    reported = Transform.from_grasp(grasp_from_pose_stamped(pose, 0.0), FR3_TCP_FRAME)
    chain = tree.lookup(FR3_BASE_FRAME, FR3_TCP_FRAME)
    np.testing.assert_allclose(chain.translation, reported.translation, atol=1e-4)
    assert (chain.rotation.inv() * reported.rotation).magnitude() < 1e-3
    # the camera pose the grasp node composes: the mount file and the simulated camera's own chain
    mount = load_transform(repo_path("calibration/sim_fr3_wrist_camera.yaml"))
    assert tree.lookup(FR3_TCP_FRAME, COLOR_OPTICAL_FRAME).isclose(to_optical(mount), atol=1e-6)
    joints = got["joints"][-1]
    assert list(joints.name) == [*FR3_ARM_JOINTS, *FR3_FINGER_JOINTS] and len(joints.position) == 9
    assert UrdfKinematics(got["description"][0].data).root == FR3_BASE_FRAME


def test_instruction_naming_nothing_fails_clearly_and_nothing_moves(graph, client):
    before = client.current_tcp()
    response = client.grasp("grasp the giraffe")
    assert not response.success and "nothing in the scene (banana) matches" in response.message
    assert response.grounding.valid is False and response.code == Grasp.Response.NOT_FOUND
    np.testing.assert_allclose(client.current_tcp(), before, atol=1e-3)
    bad = client.reset_scene("single", ["giraffe"], 0)  # (sim-eval's trials: tests/sim/test_user_commands.py)
    assert not bad.success and "giraffe" in bad.message


def test_a_reference_image_is_refused_by_the_oracle_and_a_bad_one_by_the_node(graph, client):
    """The simulation oracle grounds one image: a request with a reference photo is refused with
    INVALID_REQUEST and a sentence (nothing moves); so is a reference that is not a colour image.
    Both are recorded, the reference in the run folder."""
    import json

    from realvlg.ros.conversions import image_to_msg

    before = client.current_tcp()
    photo = np.random.default_rng(8).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    response = client.grasp("grasp the banana", reference=photo)
    assert not response.success and response.code == Grasp.Response.INVALID_REQUEST, response.message
    assert "simulation oracle grounding backend takes one image" in response.message and response.tries == 1
    run = pathlib.Path(response.run_dir)
    assert json.loads((run / "result.json").read_text())["code"] == "INVALID_REQUEST"
    assert (run / "reference.png").is_file()
    request = Grasp.Request(instruction="grasp the banana", reference=image_to_msg(np.zeros((8, 8), np.uint8), "mono8"))
    bad = client.call(Grasp, names.GRASP_SERVICE, request, 60.0)
    assert not bad.success and bad.code == Grasp.Response.INVALID_REQUEST and "reference image" in bad.message
    assert bad.tries == 0   # refused before any capture
    np.testing.assert_allclose(client.current_tcp(), before, atol=1e-3)


def test_dry_run_plans_checks_and_does_not_move(graph, client):
    before = client.current_tcp()
    response = client.grasp("grasp the banana", strategy="bbox", dry_run=True)
    assert response.success, response.message
    assert "did not move" in response.message and response.strategy_used == "bbox"
    assert response.pose.header.frame_id == names.FR3_BASE_FRAME and 0.0 < response.width <= FRANKA_HAND_STROKE
    np.testing.assert_allclose(client.current_tcp(), before, atol=1e-3)


def test_grasp_action_reports_stage_feedback(graph, client):
    from rclpy.action import ActionClient

    from realvlg_interfaces.action import Grasp as GraspAction

    action = ActionClient(client.node, GraspAction, names.GRASP_ACTION)
    assert action.wait_for_server(timeout_sec=60)
    stages = []
    goal = GraspAction.Goal(instruction="grasp the banana", strategy="seg", dry_run=True)
    sent = action.send_goal_async(goal, feedback_callback=lambda f: stages.append(f.feedback.stage))
    client.executor.spin_until_future_complete(sent, timeout_sec=60)
    handle = sent.result()
    assert handle.accepted
    done = handle.get_result_async()
    client.executor.spin_until_future_complete(done, timeout_sec=240)
    result = done.result().result
    assert result.success, result.message
    assert result.strategy_used == "seg" and result.pose.header.frame_id == names.FR3_BASE_FRAME
    assert stages[:2] == ["capture", "ground"] and stages[-1] == "record"
    # a goal with a reference photo: the oracle takes one image, the goal is aborted with the code
    from realvlg.ros.conversions import image_to_msg

    goal.reference = image_to_msg(np.zeros((16, 16, 3), np.uint8), "rgb8")
    sent = action.send_goal_async(goal)
    client.executor.spin_until_future_complete(sent, timeout_sec=60)
    done = sent.result().get_result_async()
    client.executor.spin_until_future_complete(done, timeout_sec=240)
    assert done.result().result.code == GraspAction.Result.INVALID_REQUEST, done.result().result.message
    action.destroy()


def test_grasp_lifts_the_banana_and_a_second_request_is_busy(graph, client):
    nodes, runs, _ = graph
    result = {}
    def first():
        with GraphClient("realvlg_graph_test_first") as other:
            result["r"] = other.grasp("grasp the banana", "contact")

    worker = threading.Thread(target=first)
    start = client.current_tcp()
    worker.start()
    deadline = time.monotonic() + 120
    while np.linalg.norm(client.current_tcp() - start) < 0.01:  # the first request is moving the arm
        assert time.monotonic() < deadline and worker.is_alive(), "the first grasp never moved the arm"
    busy = client.grasp("grasp the banana", dry_run=True)
    assert not busy.success and busy.message.startswith("busy") and busy.code == Grasp.Response.BUSY
    # 20 at once from one client (its reader keeps them all: REQUEST_QOS): every one answered
    burst_client = client.node.create_client(Grasp, names.GRASP_SERVICE, qos_profile=REQUEST_QOS)
    burst = [burst_client.call_async(Grasp.Request(instruction="grasp the banana", dry_run=True)) for _ in range(20)]
    burst_deadline = time.monotonic() + 30
    while not all(f.done() for f in burst) and time.monotonic() < burst_deadline:
        client.executor.spin_once(timeout_sec=0.1)
    assert all(f.done() and f.result().code == Grasp.Response.BUSY for f in burst), \
        f"{sum(f.done() for f in burst)}/20 answered"
    worker.join(timeout=240)
    response = result["r"]
    assert response.success, response.message
    assert response.strategy_used == "contact"
    stages = [t.stage for t in response.timings]
    assert stages[:3] == ["capture", "ground", "lift"] and "execute" in stages
    check = client.check_grasp("banana")
    assert check.success, check.message
    run = pathlib.Path(response.run_dir)
    assert run.parent.resolve() == runs.resolve() and (run / "overlay.png").stat().st_size > 0 and (run / "bag" / "metadata.yaml").exists()
    from rosbags.highlevel import AnyReader

    bag = pathlib.Path(response.run_dir) / "bag"  # this grasp's recording: self-contained
    with AnyReader([bag]) as reader:
        topics = {c.topic for c in reader.connections}
        msgs: dict[str, list] = {}
        for c, _, raw in reader.messages():
            msgs.setdefault(c.topic, []).append(reader.deserialize(raw, c.msgtype))
    assert {names.COLOR_IMAGE_TOPIC, names.ALIGNED_DEPTH_IMAGE_TOPIC, names.COLOR_INFO_TOPIC,
            names.ALIGNED_DEPTH_INFO_TOPIC, names.GRASP_POSE_TOPIC, names.TF_TOPIC, names.TF_STATIC_TOPIC,
            names.JOINT_STATES_TOPIC, INSTRUCTION_TOPIC, CAMERA_POSE_TOPIC, GROUNDING_TOPIC, RESULT_TOPIC} <= topics, topics
    assert msgs[INSTRUCTION_TOPIC][-1].data == "grasp the banana" and msgs[GROUNDING_TOPIC][-1].task == "contact"
    assert msgs[CAMERA_POSE_TOPIC][-1].header.frame_id == FR3_BASE_FRAME
    static = {t.child_frame_id for m in msgs[names.TF_STATIC_TOPIC] for t in m.transforms}
    assert {CAMERA_LINK_FRAME, COLOR_OPTICAL_FRAME} <= static, static  # the mount and the camera's chain
    assert {t.child_frame_id for m in msgs[names.TF_TOPIC] for t in m.transforms}, "no /tf around the capture"
    assert set(FR3_ARM_JOINTS) <= set(msgs[names.JOINT_STATES_TOPIC][-1].name)
    assert json.loads(msgs[RESULT_TOPIC][-1].data)["code"] == "SUCCESS"
    saved = json.loads((pathlib.Path(response.run_dir) / "result.json").read_text())
    assert saved["finished"] and saved["stage"] == "record" and saved["instruction"] == "grasp the banana"


def test_no_camera_frames_is_a_clear_error(tmp_path, client):
    node = RosChildProcess(["-m", "realvlg.ros.nodes.grasp_node", "--ros-args", "-r", "__ns:=/nocam",
                            "-r", "/grasp:=/nocam/grasp", "-r", "/camera/camera/color/image_raw:=/nocam/color",
                            "-p", "capture_timeout:=1.0", "-p", f"run_root:={tmp_path}"], name="grasp_nocam")
    with node:
        node.wait_for_line("READY", START)
        response = client.call(Grasp, "/nocam/grasp", Grasp.Request(instruction="grasp the banana"))
    assert not response.success and "no synchronised camera frames within 1.0 s" in response.message
    assert "nothing received on color" in response.message


def test_unreachable_robot_stops_the_executor_with_the_reason():
    node = RosChildProcess(["-m", "realvlg.ros.nodes.executor_node", "--ros-args",
                            "-p", f"address:={free_loopback_address()}", "-p", "realtime:=ignore"], name="exec")
    with node:
        line = node.wait_for_line("executor_node: cannot start", START)
        assert node.proc.wait(30) == 1
    assert "cannot start" in line


def test_a_dead_simulator_is_reported_and_the_executor_keeps_answering(world_factory, client):
    """The node level: the robot dies after the executor connected; its 50 Hz state reads fail and
    each request is answered with the reason — the node neither dies nor hangs. (Death in the
    middle of a motion is tested at the executor core, tests/sim/test_franka_executor.py.)"""
    world = world_factory([])
    node = RosChildProcess(["-m", "realvlg.ros.nodes.executor_node", "--ros-args", "-r", "__ns:=/dying",
                            "-r", f"{names.EXECUTE_GRASP_SERVICE}:=/dying/execute",
                            "-r", f"{names.EE_POSE_TOPIC}:=/dying/ee_pose", "-r", "/tf:=/dying/tf",
                            "-p", f"address:={world.hostname}", "-p", "realtime:=ignore",
                            "-p", f"base_frame:={FR3_BASE_FRAME}", "-p", "motion_timeout:=30.0"], name="exec_dying")
    target = Grasp6D.from_axes([0.55, 0.1, 0.08], [0, 0, -1], [0, 1, 0], 0.04, frame=FR3_BASE_FRAME)
    request = ExecuteGrasp.Request(pose=grasp_to_pose_stamped(target), width=0.04)
    with node:
        node.wait_for_line("READY", START)
        world.stop()
        for _ in range(2):
            response = client.call(ExecuteGrasp, "/dying/execute", request, timeout=120)
            assert not response.success and response.message
        assert node.running  # the node reports and keeps serving
