"""executor_node driving the real UR10e + Shadow Hand path in its own process: ``ExecuteGrasp`` with
``hand_joints`` runs the shared grasp stages over the ur_rtde backend and the Shadow Hand
trajectory publisher. No UR controller simulator exists here: the RTDE client is the recording
stand-in of tests/robots/rtde_standin.py (loaded through the node's ``rtde_interfaces``), which
prints each command it receives; the hand trajectories are real ROS messages."""

import copy
import math
import os
import pathlib

import numpy as np
import rclpy
from hypothesis import strategies as st
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory

from realvlg.frames import UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp, Grasp6D
from realvlg.robots.ur10e_shadow import UR10eShadowConfig
from realvlg.robots.ur10e_shadow.description import JOINT_NAMES
from realvlg.ros import names
from realvlg.ros.executor_client import execute_request
from realvlg.ros.process import RosChildProcess
from realvlg.shadow_hand import SHADOW_JOINTS, SHADOW_LIMITS
from realvlg_interfaces.srv import ExecuteGrasp
from tests.malformed_messages import ANY_FLOAT, codes, fuzz_calls, poses
from tests.ros import services

HAND_TOPIC = "/test_ur10e/hand_command"
FINGERS_MID = np.array([(SHADOW_LIMITS[j][0] + SHADOW_LIMITS[j][1]) / 2 for j in SHADOW_JOINTS])
PALM = np.eye(4)  # palm above the table, fingers along +x, palm facing down (its −y axis)
PALM[:3, :3] = np.column_stack([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
PALM[:3, 3] = [0.8, 0.2, 0.15]


def executor_process() -> RosChildProcess:
    """executor_node for the UR10e + Shadow Hand over the RTDE stand-in."""
    standin_dir = pathlib.Path(__file__).resolve().parents[1] / "robots"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(standin_dir), os.environ.get("PYTHONPATH", "")])}
    params = {"robot": "ur10e_shadow", "rtde_interfaces": "rtde_standin:observation_pose_controller",
              "rtde.host": "ur10e.test", "rtde.poll_period": 0.001, "rtde.settle_time": 0.05,
              "preshape_duration": 0.0, "close_duration": 0.0, "close_settle": 0.0, "open_duration": 0.0,
              "hand.topic": HAND_TOPIC, "hand.min_duration": 0.1, "state_rate": 5.0}
    argv = ["-m", "realvlg.ros.nodes.executor_node", "--ros-args"]
    for key, value in params.items():
        argv += ["-p", f"{key}:={value}"]
    return RosChildProcess(argv, name="executor_ur10e", env=env)


def test_execute_grasp_runs_the_shared_stages_on_the_rtde_backend_and_the_hand_topic():
    node = executor_process()
    context = Context()
    rclpy.init(context=context)
    test_node = rclpy.create_node("executor_ur10e_test", context=context)
    trajectories = []
    test_node.create_subscription(JointTrajectory, HAND_TOPIC, trajectories.append, 10)
    joint_states = []
    test_node.create_subscription(JointState, names.JOINT_STATES_TOPIC, joint_states.append, 10)
    client = test_node.create_client(ExecuteGrasp, names.EXECUTE_GRASP_SERVICE)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(test_node)

    def call(grasp, dry_run=False):
        return services.call(test_node, executor, client, execute_request(grasp, dry_run, 0.0), node)

    grasp = DexGrasp(PALM[:3, 3], Rotation.from_matrix(PALM[:3, :3]), FINGERS_MID, UR_BASE_FRAME)
    try:
        with node:
            node.wait_for_line("READY", 120)
            services.spin_until(executor, lambda: test_node.count_publishers(HAND_TOPIC) > 0 and joint_states, 30)
            gripper = call(Grasp6D.from_axes((0.8, 0.2, 0.1), (0, 0, -1), (0, 1, 0), 0.03, frame=UR_BASE_FRAME))
            far = call(DexGrasp((3.0, 0.0, 0.2), grasp.rotation, FINGERS_MID, UR_BASE_FRAME))
            moves_before = [line for line in node.output if line.startswith("STANDIN move")]
            checked = call(grasp, dry_run=True)
            done = call(grasp)
            services.spin_until(executor, lambda: len(trajectories) >= 2, 10)
            commands = [line.split()[1] for line in node.output if line.startswith("STANDIN ")]
        assert gripper.code == ExecuteGrasp.Response.REFUSED and "executes DexGrasp grasps" in gripper.message, node.tail()
        # robot state in the description's joint names (the hand's own driver publishes the fingers)
        assert list(joint_states[0].name) == list(JOINT_NAMES[:6]) and len(joint_states[0].position) == 6
        assert far.code == ExecuteGrasp.Response.UNREACHABLE and far.stage == "check", far.message  # out of reach
        assert moves_before == [] and checked.success and checked.stage == "check"
        assert done.success and done.code == ExecuteGrasp.Response.DONE and done.stage == "done", done.message
        assert {t.stage for t in done.timings} == {"pre_grasp", "approach", "grasp", "lift"}
        assert [c for c in commands if c.startswith("move")] == ["moveJ", "moveL", "moveL"], commands
        # pre-shape, then closing `pinch_squeeze` past the grasp's flexion (FINGERS_MID is a pinch), in the
        # driver's joint names
        assert len(trajectories) == 2 and "rh_FFJ3" in trajectories[0].joint_names
        flex = list(trajectories[1].joint_names).index("rh_FFJ3")  # realvlg FFJ2 = driver FFJ3
        assert math.isclose(trajectories[1].points[-1].positions[flex],
                            FINGERS_MID[SHADOW_JOINTS.index("FFJ2")] + UR10eShadowConfig().pinch_squeeze, abs_tol=1e-6)
    finally:
        executor.shutdown()
        test_node.destroy_node()
        context.try_shutdown()


def _malformed_requests():
    """ExecuteGrasp requests no executor may act on: non-finite numbers, zero or non-unit
    quaternions, empty frames, wrong joint counts, huge arrays."""
    nan, inf = float("nan"), float("inf")
    good = execute_request(DexGrasp(PALM[:3, 3], Rotation.from_matrix(PALM[:3, :3]), FINGERS_MID, UR_BASE_FRAME),
                           False, 0.0)

    def variant(**changes):
        r = copy.deepcopy(good)
        for path, value in changes.items():
            target = r
            *parents, leaf = path.split(".")
            for name in parents:
                target = getattr(target, name)
            setattr(target, leaf, value)
        return r

    return [variant(**{"pose.pose.position.x": nan}), variant(**{"pose.pose.position.z": inf}),
            variant(**{"pose.pose.orientation.w": 0.0, "pose.pose.orientation.x": 0.0}),
            variant(**{"pose.pose.orientation.w": nan}), variant(**{"pose.header.frame_id": ""}),
            variant(hand_joints=[nan] * 22), variant(hand_joints=[0.1] * 5), variant(hand_joints=[0.0] * 100_000),
            variant(hand_joints=[], width=inf), variant(hand_joints=[], width=nan)]


def test_malformed_requests_are_refused_and_the_node_lives_on():
    node = executor_process()
    context = Context()
    rclpy.init(context=context)
    test_node = rclpy.create_node("executor_ur10e_faults", context=context)
    client = test_node.create_client(ExecuteGrasp, names.EXECUTE_GRASP_SERVICE)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(test_node)
    try:
        with node:
            node.wait_for_line("READY", 120)
            answers = [services.call(test_node, executor, client, request, node) for request in _malformed_requests()]
            generated = st.builds(lambda p, w, j: ExecuteGrasp.Request(pose=p, width=w, hand_joints=j, dry_run=True),
                                  poses(), ANY_FLOAT, st.lists(ANY_FLOAT, max_size=30) | st.just([0.0] * 100_000))
            fuzz_calls(lambda request: services.call(test_node, executor, client, request, node), generated,
                       lambda r: r.code in codes(ExecuteGrasp.Response))   # hypothesis: validation refuses each
            alive = services.call(test_node, executor, client, _malformed_requests()[0], node)
            assert node.proc.poll() is None, node.tail()
            moves = [line for line in node.output if line.startswith("STANDIN move")]
        for answer in answers + [alive]:
            assert not answer.success and answer.message, answer
            assert answer.code == ExecuteGrasp.Response.REFUSED, answer
        assert moves == []
    finally:
        executor.shutdown()
        test_node.destroy_node()
        context.try_shutdown()
