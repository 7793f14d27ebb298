"""UR10e link faults against executor_node in a real process. No UR controller simulator exists
here: the RTDE client is the stand-in of tests/robots/rtde_signalled.py, which the test disturbs by
signal — a protective stop (SIGUSR1) or a dropped RTDE connection (SIGUSR2) in the middle of a
grasp's motion, then cleared.

Asserted for each: the grasp in flight ends with ROBOT_ERROR within :data:`ANSWER_BOUND` and the
arm is stopped (``stopJ``/``stopL`` sent, no motion command while the fault lasts, a grasp asked
for then is refused without one); the latched ``/realvlg/robot_status`` and ``/diagnostics`` say
"robot not reachable" with the reason; once cleared the link is back within
:data:`RECOVER_BOUND` and the next grasp runs to the end. Figures: docs/reliability.md.
"""

import os
import pathlib
import signal
import time

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from scipy.spatial.transform import Rotation

from realvlg.frames import UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp
from realvlg.ros import names
from realvlg.ros.executor_client import execute_request
from realvlg.ros.process import RosChildProcess
from realvlg.ros.tf import LATCHED
from realvlg.shadow_hand import SHADOW_JOINTS, SHADOW_LIMITS
from realvlg_interfaces.srv import ExecuteGrasp
from tests.ros import services

pytestmark = [pytest.mark.ros, pytest.mark.timeout(180)]

ANSWER_BOUND = 1.0    # s from the fault to the ExecuteGrasp answer (the motion loop polls every 10 ms)
RECOVER_BOUND = 3.0   # s from the fault's end to "reachable" (state at 5 Hz, a reconnect try every 1 s)
FINGERS_MID = [(SHADOW_LIMITS[j][0] + SHADOW_LIMITS[j][1]) / 2 for j in SHADOW_JOINTS]
PALM = Rotation.from_matrix([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # fingers +x, palm down
GRASP = DexGrasp((0.8, 0.2, 0.15), PALM, FINGERS_MID, UR_BASE_FRAME)


class Peer:
    """The test's ROS side: ExecuteGrasp client, the latched link status, /diagnostics."""

    def __init__(self):
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("ur_link_fault_test", context=self.context)
        self.status: list[DiagnosticStatus] = []
        self.diagnostics: list[DiagnosticStatus] = []
        self.node.create_subscription(DiagnosticStatus, names.ROBOT_STATUS_TOPIC, self.status.append, LATCHED)
        self.node.create_subscription(DiagnosticArray, names.DIAGNOSTICS_TOPIC, lambda m: self.diagnostics.extend(m.status), 10)
        self.client = self.node.create_client(ExecuteGrasp, names.EXECUTE_GRASP_SERVICE)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, done, timeout: float) -> bool:
        services.spin_until(self.executor, done, timeout)
        return bool(done())

    def level(self):
        return self.status[-1].level if self.status else None

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


@pytest.fixture(scope="module")
def ur():
    standin_dir = pathlib.Path(__file__).resolve().parents[1] / "robots"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(standin_dir), os.environ.get("PYTHONPATH", "")])}
    params = {"robot": "ur10e_shadow", "rtde_interfaces": "rtde_signalled:signalled_controller",
              "rtde.host": "ur10e.test", "rtde.poll_period": 0.01, "rtde.settle_time": 0.05,
              "preshape_duration": 0.0, "close_duration": 0.0, "close_settle": 0.0, "open_duration": 0.0,
              "hand.min_duration": 0.1, "state_rate": 5.0}
    argv = ["-m", "realvlg.ros.nodes.executor_node", "--ros-args"]
    for key, value in params.items():
        argv += ["-p", f"{key}:={value}"]
    peer = Peer()
    try:
        with RosChildProcess(argv, name="executor_ur10e_link", env=env) as node:
            node.wait_for_line("READY", 120)
            assert peer.client.wait_for_service(timeout_sec=services.DISCOVERY_TIMEOUT), node.tail()
            assert peer.spin_until(lambda: peer.level() == DiagnosticStatus.OK, 20), node.tail()
            yield peer, node
    finally:
        peer.close()


def commands(node) -> list[str]:
    return [line.split()[1] for line in node.output if line.startswith("STANDIN ")]


def call(peer, node):
    future = peer.client.call_async(execute_request(GRASP, False, 0.0))
    assert peer.spin_until(future.done, services.CALL_TIMEOUT), node.tail()
    return future.result()


@pytest.mark.parametrize("fault, signum, reason, status_reason", [
    ("protective stop", signal.SIGUSR1, "protective stop", "protective stop"),
    ("connection drop", signal.SIGUSR2, "lost the connection", "connection lost")])
def test_a_fault_mid_motion_stops_the_arm_answers_robot_error_and_the_link_comes_back(ur, fault, signum, reason,
                                                                                      status_reason, record_property):
    peer, node = ur
    before = len(commands(node))
    future = peer.client.call_async(execute_request(GRASP, False, 0.0))
    assert peer.spin_until(lambda: "moveJ" in commands(node)[before:], 20), node.tail()
    peer.spin_until(lambda: False, 0.3)                       # into the pre-grasp motion
    assert not future.done(), future.result() if future.done() else None
    t_fault = time.monotonic()
    node.proc.send_signal(signum)
    assert peer.spin_until(future.done, 10), node.tail()
    answered = time.monotonic() - t_fault
    response = future.result()
    assert response.code == ExecuteGrasp.Response.ROBOT_ERROR and not response.success, response.message
    assert reason in response.message and answered <= ANSWER_BOUND, (answered, response.message)
    # the arm was stopped (the stand-in's stdout may come in after the answer)
    assert peer.spin_until(lambda: commands(node)[before:][-1] in ("stopJ", "stopL"), 2), commands(node)[before:]
    during = commands(node)[before:]
    assert peer.spin_until(lambda: peer.level() == DiagnosticStatus.ERROR, 3), [s.message for s in peer.status]
    assert "robot not reachable" in peer.status[-1].message and status_reason in peer.status[-1].message
    assert peer.spin_until(lambda: any(d.level == DiagnosticStatus.ERROR and status_reason in d.message
                                       for d in peer.diagnostics), 3)

    refused = call(peer, node)                                       # while the fault lasts: no motion
    assert refused.code == ExecuteGrasp.Response.ROBOT_ERROR, refused.message
    assert not [c for c in commands(node)[before + len(during):] if c.startswith("move")]

    node.proc.send_signal(signum)                                    # cleared / restored
    t_back = time.monotonic()
    assert peer.spin_until(lambda: peer.level() == DiagnosticStatus.OK, RECOVER_BOUND + 5), node.tail()
    recovered = time.monotonic() - t_back
    assert recovered <= RECOVER_BOUND, recovered
    assert node.running
    done = call(peer, node)
    assert done.code == ExecuteGrasp.Response.DONE and done.stage == "done", done.message
    record_property("answered_s", round(answered, 3))
    record_property("recovered_s", round(recovered, 2))
    print(f"\nUR10e {fault}: answered {answered:.3f} s after the fault, reachable {recovered:.2f} s after its end")
