"""dex_grasp_node (the `shadow` hand graph) in its own process with a tiny random-weight DexVLG: `/grasp`
answers a request that names nothing with a clear refusal and a real one with a plan or the ranking's
refusal; the robot description (latched), the robot's joint states and the scene cloud arrive;
generated malformed requests are refused by validation and the node lives on."""

import re

import pytest

pytest.importorskip("mujoco")
if __import__("importlib").util.find_spec("gymnasium_robotics") is None:
    pytest.skip("gymnasium-robotics (Shadow Hand MJCF) not installed", allow_module_level=True)

import rclpy
from hypothesis import strategies as st
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import Image, JointState, PointCloud2
from std_msgs.msg import String

from realvlg.robots.ur10e_shadow.description import JOINT_NAMES
from realvlg.ros.process import RosChildProcess
from realvlg_interfaces.srv import Grasp
from tests.malformed_messages import TEXT, codes, fuzz_calls, images
from tests.ros import services

pytestmark = [pytest.mark.ros, pytest.mark.timeout(600)]
NS = "/dextest"


def test_grasp_service_plans_with_dexvlg_and_publishes_the_hand(tmp_path):
    from realvlg.dexvlg.model import build_model

    checkpoint = build_model("tiny", seed=2).save_pretrained(tmp_path / "tiny-dexvlg")
    params = {"model": str(checkpoint), "objects": "[orange]", "setting": "single", "width": 160, "height": 90,
              "samples": 4, "flow_steps": 2, "description_topic": f"{NS}/robot_description",
              "joint_states_topic": f"{NS}/joint_states", "predicted_topic": f"{NS}/predicted",
              "cloud_topic": f"{NS}/cloud", "run_root": str(tmp_path / "runs")}
    argv = ["-m", "realvlg.ros.nodes.dex_grasp_node", "--ros-args"]
    for key, value in params.items():
        argv += ["-p", f"{key}:={value}"]
    node = RosChildProcess(argv, name="dex_grasp_node")
    context = Context()
    rclpy.init(context=context)
    test_node = rclpy.create_node("dex_grasp_test", context=context)
    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    got = {"description": [], "joints": [], "predicted": [], "cloud": []}
    test_node.create_subscription(String, f"{NS}/robot_description", got["description"].append, latched)
    test_node.create_subscription(JointState, f"{NS}/joint_states", got["joints"].append, latched)
    test_node.create_subscription(JointState, f"{NS}/predicted", got["predicted"].append, 10)
    test_node.create_subscription(PointCloud2, f"{NS}/cloud", got["cloud"].append, 2)
    client = test_node.create_client(Grasp, "/grasp")
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(test_node)

    def spin_until(done, timeout):
        services.spin_until(executor, done, timeout)

    def send(request):
        future = client.call_async(request)
        spin_until(future.done, 240)
        assert future.done(), node.tail()
        return future.result()

    def call(instruction):
        return send(Grasp.Request(instruction=instruction, dry_run=True))

    try:
        with node:
            node.wait_for_line("READY", 300)
            spin_until(lambda: client.service_is_ready() and got["description"] and got["joints"], 60)
            nothing = call("grasp the unicorn")
            assert not nothing.success and "names nothing in the scene" in nothing.message, nothing.message
            orange = call("Grasp the body of the orange object, with contacts on thumb, index and middle")
            spin_until(lambda: got["cloud"] and (got["predicted"] or not orange.success), 10)
            fuzz_calls(send, st.builds(lambda i, s, ref: Grasp.Request(instruction=i, strategy=s, dry_run=True,
                                                                     reference=ref or Image()),
                                       TEXT, TEXT, st.none() | images()),
                       lambda r: r.code in codes(Grasp.Response), examples=10)   # hypothesis: refused by validation
            assert node.proc.poll() is None, node.tail()
        assert got["description"][0].data.startswith("<?xml") or "<robot" in got["description"][0].data
        assert list(got["joints"][-1].name) == list(JOINT_NAMES) and len(got["joints"][-1].position) == 28
        assert got["cloud"] and got["cloud"][-1].header.frame_id == "base" and got["cloud"][-1].width > 100
        assert nothing.code == Grasp.Response.NOT_FOUND
        assert orange.code in (Grasp.Response.SUCCESS, Grasp.Response.NO_GRASP, Grasp.Response.REFUSED_BY_LIMITS,
                               Grasp.Response.UNREACHABLE)
        assert {t.stage for t in orange.timings} >= {"capture", "plan", "check", "record"}
        if orange.success:  # a random model's samples may all be refused; then the reason is given
            assert orange.strategy_used == "dexvlg" and orange.run_dir and len(orange.hand_joints) == 22
            assert orange.message.startswith("dry run: planned and checked a grasp of the body of the orange")
            assert list(got["predicted"][-1].name) == list(JOINT_NAMES)
            assert orange.pose.header.frame_id == "base"
        else:  # the ranking's or the executor's refusal, with the reasons
            assert re.match(r"(none of the \d+ sampled grasps is feasible|the executor refused all \d+ candidate)",
                            orange.message), orange.message
    finally:
        executor.shutdown()
        test_node.destroy_node()
        context.try_shutdown()
