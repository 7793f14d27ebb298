"""Faults of the parts test_graph_faults.py's graph does not have as processes of their own: the
VLM server (grounding_node), the camera driver (camera:=external) and the grasp node itself. One
graph, `realvlg up --robot sim --camera external --grounding embedded` (sim_node, executor_node,
grounding_node with realvlg's embedded model, grasp_node), supervised as `realvlg up` does, beside
the realsense2_camera stand-in (tests/ros/ros_peers/realsense2_camera_standin.py, fed by the
simulator's wrist camera as in tests/sim/test_grasp_graph_external.py). The camera driver is the
user's, not the graph's: `up` does not restart it, the test does. Cases:

* hypothesis-generated malformed Ground requests to the real grounding node (embedded model):
  each refused by its validation, the node keeps running;

* grounding_node frozen (SIGSTOP) before a request and SIGKILLed once the request has its frame:
  answered GROUNDING_UNAVAILABLE within :data:`LIVENESS_BOUND` of the later of the freeze and the
  start of grounding; the supervisor restarts the node;
* the camera SIGKILLed: a request ends CAPTURE_FAILED naming the silent topics within the capture
  timeout (+ :data:`CAPTURE_MARGIN`), nothing moves; the camera restarted, the graph serves again;
* grasp_node SIGKILLed while a request is in flight (as soon as its run folder exists: capturing
  or planning): the caller (:class:`realvlg.ros.graph_client.GraphClient`) fails with "the grasp
  node died during the request" within :data:`LIVENESS_BOUND`; the run folder keeps result.json
  (instruction, stage reached); the supervisor restarts the node. (Killed mid-motion, seen from
  `realvlg grasp`: tests/sim/test_user_commands.py.)

Each: result.json recorded, every published TCP pose inside the workspace, and the graph serving
again (first request past the dependencies within 30 s, then a full grasp of the banana).
Measured figures: docs/reliability.md.
"""

import json
import os
import pathlib
import signal
import threading
import time

import numpy as np
import pytest
from hypothesis import strategies as st
from sensor_msgs.msg import CameraInfo

from realvlg.cameras import topics
from realvlg.cli.up import supervise
from realvlg.graph import plan_graph
from realvlg.grounding.backend import BackendError
from realvlg.ros import names
from realvlg.ros.graph_client import GraphClient
from realvlg.ros.process import RosChildProcess
from realvlg.ros.spin import READY_PREFIX
from realvlg.sim.fr3_world import free_loopback_address
from realvlg_interfaces.srv import Grasp, Ground
from tests.malformed_messages import TEXT, codes, images

from .fault_graph import LIVENESS_BOUND, Client, R, check_record, check_workspace, fuzz, node, serves_again

pytestmark = [pytest.mark.ros, pytest.mark.sim, pytest.mark.timeout(600)]
START = 180.0
FEED = "/sim_feed"       # the simulator's camera, read by the stand-in only
PEERS = pathlib.Path(__file__).resolve().parents[1] / "ros" / "ros_peers"
CAPTURE_TIMEOUT = 5.0    # config/grasp_node.yaml capture_timeout
CAPTURE_MARGIN = 2.0     # s past it: the graph query that names the silent topics, unwinding, recording
CAMERA_TOPICS = (names.COLOR_IMAGE_TOPIC, names.ALIGNED_DEPTH_IMAGE_TOPIC, names.COLOR_INFO_TOPIC)


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    host, runs = free_loopback_address(), tmp_path_factory.mktemp("runs")
    specs = plan_graph("sim", "external", "embedded", overrides={
        "sim_node": {"hostname": host, "camera.width": 320, "camera.height": 180, "objects": ["banana"],
                     "publish_camera": True},   # the stand-in's feed
        "executor_node": {"address": host}, "grasp_node": {"run_root": str(runs)}})
    feed = [arg for suffix in (topics.COLOR_IMAGE, topics.COLOR_INFO, topics.ALIGNED_DEPTH_IMAGE, topics.ALIGNED_DEPTH_INFO)
            for arg in ("-r", f"{topics.CAMERA_NAMESPACE}/{suffix}:={FEED}/{suffix}")]
    feed += ["-r", f"{names.TF_STATIC_TOPIC}:={FEED}/tf_static"]
    ready_at = {}   # node → when it last said READY (a restarted node too: restarted() keeps on_line)
    nodes = [RosChildProcess(spec.argv() + (feed if spec.name == "sim_node" else []), name=spec.name,
                             on_line=lambda line, n=spec.name: line.startswith(READY_PREFIX)
                             and ready_at.__setitem__(n, time.monotonic())) for spec in specs]
    camera = {"process": RosChildProcess([PEERS / "realsense2_camera_standin.py", FEED, "--ros-args", "-p",
                                          "align_depth.enable:=true"], cwd=PEERS, name="realsense2_camera")}
    started, stop, gave_up = [], threading.Event(), []
    watcher = threading.Thread(target=lambda: gave_up.append(supervise(started, stop, max_restarts=3)), daemon=True)
    try:
        for child in nodes[:1] + [camera["process"]] + nodes[1:]:
            child.start().wait_for_line(READY_PREFIX, START)
            if child is not camera["process"]:
                started.append(child)
        watcher.start()
        yield started, camera, runs, ready_at
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join(30)
        for child in reversed(started + [camera["process"]]):
            child.stop()
    assert gave_up in ([None], []), f"{gave_up[0].name} kept dying:\n{gave_up[0].tail()}"


@pytest.fixture(scope="module")
def client():
    with Client("realvlg_fault_test_external") as c:
        yield c


def newest_record(runs: pathlib.Path, before: set) -> dict:
    """result.json of the run folder made since ``before`` ({} until it is readable)."""
    for folder in set(runs.iterdir()) - before:
        try:
            return json.loads((folder / "result.json").read_text())
        except (OSError, ValueError):
            pass
    return {}


def ready(client) -> None:
    assert client.home().success and client.reset_scene("single", ["banana"], 0).success
    client.tcp = None
    assert client.spin_until(lambda: client.tcp is not None, 60)


def test_hypothesis_malformed_requests_to_the_embedded_grounding_node_are_refused(graph, client):
    """The real grounding node (embedded model): generated Ground requests — images and depths whose
    fields disagree or are huge, empty or odd instructions and tasks, any sample count, a camera_info
    with NaN intrinsics — each refused by its validation, the node keeps running."""
    children, *_ = graph
    nan_info = CameraInfo(width=640, height=360, k=[float("nan")] * 9)
    requests = st.builds(lambda im, d, info, i, t, n: Ground.Request(image=im, depth=d, camera_info=info, instruction=i,
                                                                     task=t, samples=n),
                         images(), images(), st.sampled_from([CameraInfo(), nan_info]), TEXT, TEXT,
                         st.integers(-2**31, 2**31 - 1))
    fuzz(client, children, names.GROUND_SERVICE, Ground, requests, lambda r: r.code in codes(Ground.Response))


def test_grounding_node_killed_while_a_request_waits_on_it(graph, client):
    children, _, runs, ready_at = graph
    ready(client)
    victim, before = node(children, "grounding_node"), set(runs.iterdir())
    os.killpg(victim.proc.pid, signal.SIGSTOP)
    t_freeze = time.monotonic()
    future = client.grasp_client.call_async(Grasp.Request(instruction="grasp the banana"))
    # the frame is captured (result.json at stage "capture"): the request goes on to the grounding
    assert client.spin_until(lambda: future.done() or newest_record(runs, before).get("stage") == "capture", 30)
    t_wait = time.monotonic()
    os.killpg(victim.proc.pid, signal.SIGKILL)
    t_kill = time.monotonic()
    assert client.spin_until(future.done, 30), "no answer"
    t_answer, response = time.monotonic(), future.result()
    assert response.code == R.GROUNDING_UNAVAILABLE, f"{response.code}: {response.message}"
    assert "grounding service" in response.message, response.message
    waited = t_answer - max(t_freeze, t_wait)
    assert waited <= LIVENESS_BOUND, f"answered {waited:.2f} s after the request waited on a frozen node"
    check_record(response)
    back = serves_again(client, t_kill, "auto")
    ready_s = ready_at["grounding_node"] - t_kill
    assert all(c.running for c in children)
    check_workspace(client)
    print(f"\nkill grounding: answered {t_answer - t_freeze:.2f} s after the freeze, {waited:.2f} s after the "
          f"request reached the grounding ({response.message}); back {back:.1f} s after the kill (the new node "
          f"READY after {ready_s:.1f} s)")


def test_camera_dropped_is_a_capture_failure_and_the_camera_back_serves_again(graph, client):
    children, camera, _, _ = graph
    ready(client)
    client.trace.clear()
    assert client.spin_until(lambda: len(client.trace) > 5, 30)
    still = np.array(client.trace[-1])
    os.killpg(camera["process"].proc.pid, signal.SIGKILL)
    camera["process"].proc.wait(10)
    t0 = time.monotonic()
    response = client.grasp("grasp the banana", timeout=60)
    answered = time.monotonic() - t0
    assert response.code == R.CAPTURE_FAILED, f"{response.code}: {response.message}"
    assert all(topic in response.message for topic in CAMERA_TOPICS), response.message
    assert answered <= CAPTURE_TIMEOUT + CAPTURE_MARGIN, f"answered after {answered:.1f} s"
    check_record(response)
    client.spin_until(lambda: False, 0.5)
    moved = np.abs(np.array(client.trace[-10:]) - still).max()
    assert moved < 0.002, f"the arm moved {moved * 1000:.1f} mm without a camera"
    t_restart = time.monotonic()
    camera["process"] = camera["process"].restarted()
    camera["process"].wait_for_line(READY_PREFIX, 60)
    back = serves_again(client, t_restart, "auto")
    assert all(c.running for c in children)
    check_workspace(client)
    print(f"\ndrop camera: answered {answered:.2f} s after the request ({response.message}); back {back:.1f} s "
          "after the camera's restart")


def test_grasp_node_killed_mid_request_fails_the_callers_request(graph, client):
    children, _, runs, _ = graph
    ready(client)
    before, outcome = set(runs.iterdir()), {}

    def caller():   # a user's `realvlg grasp`: a client of its own
        with GraphClient("realvlg_fault_test_caller", wait=60.0) as user:
            try:
                outcome["response"] = user.grasp("grasp the banana", timeout=120)
            except BackendError as exc:
                outcome["error"] = exc
            outcome["t"] = time.monotonic()

    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    assert client.spin_until(lambda: newest_record(runs, before) or "t" in outcome, 120)
    assert "t" not in outcome, outcome
    victim = node(children, "grasp_node")
    t_fault = time.monotonic()
    os.killpg(victim.proc.pid, signal.SIGKILL)
    thread.join(30)
    assert "error" in outcome, outcome
    answered = outcome["t"] - t_fault
    assert "the grasp node died during the request" in str(outcome["error"]), outcome["error"]
    assert answered <= LIVENESS_BOUND, f"the caller heard {answered:.2f} s after the kill"
    saved = newest_record(runs, before)
    assert saved["instruction"] == "grasp the banana" and not saved["finished"] and saved["stage"], saved
    back = serves_again(client, t_fault, "auto")
    assert all(c.running for c in children)
    check_workspace(client)
    print(f"\nkill grasp node (stage {saved['stage']}): the caller failed {answered:.2f} s after the kill "
          f"({outcome['error']}); back after {back:.1f} s")
