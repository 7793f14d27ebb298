"""What the whole-graph fault tests share (test_graph_faults.py, test_graph_faults_external.py): a
client that records every TCP pose the executor publishes, the checks after a fault (the answer's
record, the workspace), and "serves again" (the first request past the dependencies, then a full
grasp of the banana), and generated malformed requests to one of its services."""

import json
import pathlib
import time

import numpy as np
from geometry_msgs.msg import PoseStamped

from realvlg.graph import repo_path
from realvlg.grounding.backend import BackendError
from realvlg.robots.limits import load_limits
from realvlg.ros import names
from realvlg.ros.attempt_io import REQUEST_QOS
from realvlg.ros.graph_client import GraphClient
from realvlg_interfaces.srv import Grasp
from tests.malformed_messages import fuzz_calls

ANSWER_BOUND = 4.0   # s: the liveliness lease (1 s) / libfranka's UDP timeout (1 s) + unwinding on a loaded machine
LIVENESS_BOUND = 2.0  # s from a dependency's death (or freeze) to the answer (docs/reliability.md)
BACK_BOUND = 30.0    # s from the fault to a request that passes the dependencies again
R = Grasp.Response
DEPENDENCY_DOWN = {R.ROBOT_ERROR, R.EXECUTION_FAILED, R.GROUNDING_UNAVAILABLE, R.CAPTURE_FAILED}


class Client(GraphClient):
    def __init__(self, name: str = "realvlg_fault_test"):
        super().__init__(name, wait=60.0)
        self.tcp = None
        self.trace: list[np.ndarray] = []  # every TCP position the executor published
        self.node.create_subscription(PoseStamped, names.EE_POSE_TOPIC, self._on_pose, 10)
        self.grasp_client = self.node.create_client(Grasp, names.GRASP_SERVICE, qos_profile=REQUEST_QOS)

    def _on_pose(self, msg):
        p = msg.pose.position
        self.tcp = np.array([p.x, p.y, p.z])
        self.trace.append(self.tcp)

    def spin_until(self, condition, timeout):
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
        return condition()


def node(children, name):
    return next(c for c in children if c.name == name)


def check_record(response, instruction: str = "grasp the banana") -> dict:
    """result.json of the answer's run folder: the instruction, the code and the message."""
    result = json.loads((pathlib.Path(response.run_dir) / "result.json").read_text())
    assert result["instruction"] == instruction and result["message"] == response.message and result["code"]
    return result


def check_workspace(client) -> None:
    trace = np.array(client.trace)
    outside = trace[~load_limits(repo_path("config/limits_fr3.yaml")).workspace.contains(trace)]
    assert len(trace) > 100 and not len(outside), f"{len(outside)} TCP poses outside the workspace: {outside[:3]}"


def serves_again(client, t_fault, strategy: str = "contact"):
    """Dry runs until one passes the dependencies (a /grasp server still down counts as down); then
    a full grasp of the banana (scene reset). Returns the seconds from ``t_fault`` to the start of
    that dry run (the first request served), which must be within :data:`BACK_BOUND`."""
    while True:
        t_request = time.monotonic()
        try:
            response = client.grasp("grasp the banana", dry_run=True, timeout=60)
            if response.code not in DEPENDENCY_DOWN | {R.BUSY}:
                break
            down = f"still {response.code}: {response.message}"
        except BackendError as exc:   # the grasp node itself is down / not back yet
            down = str(exc)
        assert time.monotonic() - t_fault < BACK_BOUND, down
        time.sleep(0.5)
    back = t_request - t_fault
    assert back <= BACK_BOUND, f"served again only {back:.1f} s after the fault"
    assert response.success, response.message
    assert client.reset_scene("single", ["banana"], 0).success
    full = client.grasp("grasp the banana", strategy, timeout=240)
    assert full.success, full.message
    return back


def fuzz(client, children, service: str, srv_type, requests, valid) -> None:
    """:func:`tests.malformed_messages.fuzz_calls` against a service of the graph; no node exits."""
    assert fuzz_calls(lambda request: client.call(srv_type, service, request, timeout=60), requests, valid)
    assert all(c.running for c in children), [c.name for c in children if not c.running]
