"""A client's call fails within 2 s of its server's death (SIGKILL, SIGSTOP) through the DDS
liveliness of ``<service>/alive`` (realvlg.ros.liveness), and goes through again once a new
server is up; no false loss while both cores are busy. The server is a realvlg ``run_node``
process, the client the ``call_with_timeout`` + ``ServiceWatch`` pair the grasp node uses."""

import multiprocessing
import os
import pathlib
import signal
import threading
import time

import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from std_srvs.srv import Trigger

from realvlg.grounding.backend import BackendError
from realvlg.ros.ground_client import call_with_timeout
from realvlg.ros.liveness import ServiceWatch
from realvlg.ros.process import RosChildProcess

pytestmark = [pytest.mark.ros, pytest.mark.timeout(240)]
PEER = pathlib.Path(__file__).with_name("peers") / "slow_server.py"
DETECT_BOUND = 2.0  # s from the server's death to the failed call
SERVICE = "/fault_peer/slow"


@pytest.fixture
def client():
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node("liveness_test", context=context)
    executor = MultiThreadedExecutor(num_threads=2, context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    yield node, node.create_client(Trigger, SERVICE), ServiceWatch(node, SERVICE)
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)


def start_peer(delay: float) -> RosChildProcess:
    peer = RosChildProcess([PEER, delay], name="fault_peer").start()
    peer.wait_for_line("READY", 60)
    return peer


def wait_alive(watch, timeout=10.0):
    deadline = time.monotonic() + timeout
    while watch.alive_count < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert watch.alive_count == 1, "the server's liveliness never arrived"


def _spin_cpu(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP])
def test_a_call_in_flight_fails_within_2_s_of_the_server_dying_and_works_again(client, fault, record_property):
    node, service, watch = client
    peer = start_peer(30.0)
    try:
        wait_alive(watch)
        killer = threading.Timer(1.0, lambda: (os.killpg(peer.proc.pid, fault), stamps.append(time.monotonic())))
        stamps: list[float] = []
        killer.start()
        with pytest.raises(BackendError, match="died during the call: its server stopped answering"):
            call_with_timeout(service, Trigger.Request(), 60.0, "the peer", watch)
        detected = time.monotonic() - stamps[0]
        assert detected <= DETECT_BOUND, f"detected {detected:.2f} s after the fault"
        with pytest.raises(BackendError, match="is down"):  # refused at once while it stays dead
            call_with_timeout(service, Trigger.Request(), 60.0, "the peer", watch)
    finally:
        if fault == signal.SIGSTOP:
            os.killpg(peer.proc.pid, signal.SIGCONT)
        peer.stop()
    peer = start_peer(0.0)
    try:
        t0 = time.monotonic()
        wait_alive(watch)
        assert call_with_timeout(service, Trigger.Request(), 30.0, "the peer", watch).success
        back = time.monotonic() - t0
    finally:
        peer.stop()
    record_property("detected_s", round(detected, 2))
    print(f"\n{signal.Signals(fault).name}: call failed {detected:.2f} s after the fault; served again {back:.2f} s after the new server's READY")


def test_no_false_loss_while_both_cores_are_busy(client):
    node, service, watch = client
    peer = start_peer(8.0)
    hogs = [multiprocessing.Process(target=_spin_cpu, args=(10.0,)) for _ in range(os.cpu_count() or 2)]
    try:
        wait_alive(watch)
        for h in hogs:
            h.start()
        assert call_with_timeout(service, Trigger.Request(), 30.0, "the peer", watch).success
        assert watch.alive_count == 1 and not watch.dead
    finally:
        for h in hogs:
            h.join()
        peer.stop()
