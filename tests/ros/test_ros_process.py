"""realvlg.ros.process: the child environment, the Fast DDS profile, the bounded child lifecycle."""

import textwrap
import time

import pytest

from realvlg.ros.process import (
    BOOTSTRAP_MARK_ENV,
    FASTDDS_PROFILE_ENV,
    RosChildProcess,
    RosProcessError,
    fastdds_profile_path,
    ros_child_env,
    use_fastdds_profile,
)


def test_child_env_sets_profile_and_clears_bootstrap_mark():
    env = ros_child_env({BOOTSTRAP_MARK_ENV: "1", "PATH": "/usr/bin"})
    assert BOOTSTRAP_MARK_ENV not in env and env["PATH"] == "/usr/bin"
    assert env[FASTDDS_PROFILE_ENV] == str(fastdds_profile_path())
    assert ros_child_env({FASTDDS_PROFILE_ENV: "/etc/mine.xml"})[FASTDDS_PROFILE_ENV] == "/etc/mine.xml"
    assert FASTDDS_PROFILE_ENV not in ros_child_env({FASTDDS_PROFILE_ENV: "/etc/mine.xml"}, dds_profile=False)


def test_use_fastdds_profile_in_this_process(monkeypatch):
    monkeypatch.delenv(FASTDDS_PROFILE_ENV, raising=False)
    assert use_fastdds_profile() == fastdds_profile_path()
    monkeypatch.setenv(FASTDDS_PROFILE_ENV, "/etc/mine.xml")
    assert str(use_fastdds_profile()) == "/etc/mine.xml"   # the user's choice wins


def test_profile_has_the_32_mib_segment():
    text = fastdds_profile_path().read_text()
    for needle in ("<segment_size>33554432</segment_size>", "<maxMessageSize>33554432</maxMessageSize>",
                   "<address>127.0.0.1</address>", "<useBuiltinTransports>false</useBuiltinTransports>"):
        assert needle in text


def script(tmp_path, body: str) -> str:
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_wait_for_line_and_clean_stop(tmp_path):
    child = RosChildProcess([script(tmp_path, """
        import time
        print("starting"); print("READY 42", flush=True)
        time.sleep(60)
    """)])
    with child:
        assert child.wait_for_line("READY", 30) == "READY 42"
        assert child.running
    assert not child.running and child.proc.returncode == -15   # SIGTERM ended it


def test_child_ignoring_sigterm_is_killed(tmp_path):
    child = RosChildProcess([script(tmp_path, """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("READY", flush=True)
        time.sleep(60)
    """)]).start()
    child.wait_for_line("READY", 30)
    t0 = time.monotonic()
    assert child.stop(timeout=0.5) == -9
    assert time.monotonic() - t0 < 10


def test_timeouts_and_early_exit_are_reported(tmp_path):
    with RosChildProcess([script(tmp_path, "import time; print('hello', flush=True); time.sleep(60)")]) as child:
        with pytest.raises(RosProcessError, match="(?s)no line starting with 'READY' within 0.5 s.*hello"):
            child.wait_for_line("READY", 0.5)
    with RosChildProcess([script(tmp_path, "import sys; print('boom'); sys.exit(3)")]) as child:
        with pytest.raises(RosProcessError, match=r"(?s)exited \(code 3\).*boom"):
            child.wait_for_line("READY", 30)


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_profile_loads_in_an_rclpy_child(tmp_path):
    """The child bootstraps itself (mark cleared), Fast DDS parses the profile without complaint."""
    with RosChildProcess([script(tmp_path, """
        import os, rclpy
        rclpy.init(); node = rclpy.create_node("profile_probe")
        print("PROFILE", os.environ["FASTDDS_DEFAULT_PROFILES_FILE"], flush=True)
        node.destroy_node(); rclpy.shutdown(); print("DONE", flush=True)
    """)]) as child:
        assert child.wait_for_line("PROFILE", 90).endswith("config/fastdds.xml")
        child.wait_for_line("DONE", 30)
        assert not any("XMLPARSER" in line or "Error" in line for line in child.output), child.tail()


SERVER = """
    import time
    from rclpy.node import Node
    from std_srvs.srv import Trigger
    from realvlg.ros.spin import run_node

    class Server(Node):
        def __init__(self):
            super().__init__("answer_probe")
            self.create_service(Trigger, "/answer_probe", self.answer)

        def answer(self, request, response):
            print("REQUEST", time.monotonic(), flush=True)
            response.success = True
            return response

    run_node(Server, "answer_probe")
"""

UNMATCHED_CLIENT = """
    import time, rclpy
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from std_srvs.srv import Trigger
    rclpy.init(); node = rclpy.create_node("unmatched_probe")
    # a response reader asking for transient-local never matches the server's volatile writer:
    # the server takes the request and waits for that reader, as for a client not yet discovered
    unmatched = node.create_client(Trigger, "/answer_probe", qos_profile=QoSProfile(
        depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    matched = node.create_client(Trigger, "/answer_probe")
    assert matched.wait_for_service(timeout_sec=60)
    unmatched.call_async(Trigger.Request())
    time.sleep(0.2)
    answer = matched.call_async(Trigger.Request())
    rclpy.spin_until_future_complete(node, answer, timeout_sec=60)
    print("ANSWERED", answer.done(), flush=True)
"""


@pytest.mark.ros
@pytest.mark.timeout(240)
@pytest.mark.parametrize("dds_profile", [True, False], ids=["realvlg-profile", "fastdds-defaults"])
def test_a_server_waits_for_a_new_clients_response_reader_with_the_profile(tmp_path, dds_profile):
    """config/fastdds.xml's "service" writer profile: a server waits up to 5 s for the response reader
    of a client it has not matched yet (rmw_fastrtps's default: 100 ms, then the answer is dropped
    and logged each time by run_node). Measured on a server with one thread: the next request starts
    only when the send gave up."""
    (tmp_path / "server").mkdir()
    with RosChildProcess([script(tmp_path / "server", SERVER)], name="server", dds_profile=dds_profile) as server:
        server.wait_for_line("READY", 90)
        with RosChildProcess([script(tmp_path, UNMATCHED_CLIENT)], name="client", dds_profile=dds_profile) as client:
            assert client.wait_for_line("ANSWERED", 120) == "ANSWERED True", client.tail()
        first, second = (float(line.split()[1]) for line in server.output if line.startswith("REQUEST"))
        assert any("failed to send response (timeout)" in line for line in server.output), server.tail()
    print(f"\nthe server waited {second - first:.2f} s for the unmatched reader")
    if dds_profile:
        assert second - first >= 4.5, server.tail()
    else:
        assert second - first < 4.5, server.tail()


def test_supervise_restarts_a_node_that_dies_then_gives_up_with_its_output():
    """`realvlg up`'s supervision with a real node: killed once, it is restarted after its respawn
    delay and serves again; killed past the limit, the supervisor returns it for the graph to stop."""
    import os
    import signal
    import threading

    from realvlg.cli.up import supervise

    node = RosChildProcess(["-m", "realvlg.ros.nodes.shadow_hand_node", "--ros-args", "-r", "__ns:=/supervised"],
                           name="shadow_hand_node").start()
    children, stop, outcome = [node], threading.Event(), {}
    node.wait_for_line("READY", 60)
    watcher = threading.Thread(target=lambda: outcome.setdefault(
        "dead", supervise(children, stop, max_restarts=1, ready_timeout=60, poll=0.1, respawn={"shadow_hand_node": 1.0})))
    watcher.start()
    try:
        killed = time.monotonic()
        os.killpg(node.proc.pid, signal.SIGKILL)
        deadline, replaced = killed + 60, None
        while children[0] is node or not any(line.startswith("READY") for line in children[0].output):
            assert time.monotonic() < deadline and watcher.is_alive(), "the node was not restarted"
            if children[0] is not node and replaced is None:
                replaced = time.monotonic()
            time.sleep(0.05)
        assert (replaced or time.monotonic()) - killed >= 1.0   # not before its respawn delay
        restarted = children[0]
        assert restarted.running and restarted.proc.pid != node.proc.pid
        os.killpg(restarted.proc.pid, signal.SIGKILL)  # past the limit
        watcher.join(30)
        assert outcome["dead"] is restarted
    finally:
        stop.set()
        watcher.join(5)
        for child in children:
            child.stop()
