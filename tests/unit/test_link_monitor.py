"""LinkMonitor: a failed or silent state read is "robot not reachable", reconnects are rate-limited
and never run while a motion holds the lock; a fake executor and a fake clock, no timing."""

import threading

import numpy as np

from realvlg.robots.executor import RobotConnectionError, RobotUnreachableError
from realvlg.robots.link import LinkMonitor


class FakeRobot:
    def __init__(self):
        self.up, self.reconnects = True, 0

    def current_pose(self):
        if not self.up:
            raise RobotConnectionError("cannot read the robot state: libfranka: UDP receive: Timeout")
        return np.eye(4)

    def joint_state(self):
        return {"fr3_joint1": 0.0}

    def fault(self):
        return ""

    def reconnect(self):
        if not self.up:
            raise RobotUnreachableError("cannot reach the Franka robot")
        self.reconnects += 1


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def make(retry=1.0):
    robot, clock, lock = FakeRobot(), Clock(), threading.Lock()
    calls = []
    return robot, clock, lock, calls, LinkMonitor(robot, lock, retry_period=retry, on_reconnect=lambda: calls.append(1), clock=clock)


def test_a_failed_read_is_unreachable_then_a_reconnect_brings_it_back():
    robot, clock, lock, calls, link = make()
    assert link.poll() is not None and link.status.reachable
    robot.up = False
    assert link.poll() is None
    assert not link.status.reachable and link.status.message.startswith("robot not reachable")
    assert "UDP receive" in link.status.message and link.status.losses == 1 and link.status.since == 100.0
    clock.t += 0.5
    link.poll()  # within the retry period: no second reconnect try, same loss
    assert link.status.losses == 1 and robot.reconnects == 0
    robot.up = True
    clock.t += 0.6
    assert link.poll() is not None and link.status.reachable
    assert link.status.reconnects == 0  # the read came back first


def test_reconnect_runs_rate_limited_and_never_during_a_motion():
    robot, clock, lock, calls, link = make()
    robot.up = False
    link.poll()
    assert "reconnecting failed" in link.status.message
    robot.up = True
    robot.current_pose = lambda: (_ for _ in ()).throw(RobotConnectionError("old socket dead"))
    with lock:  # a motion in flight: the monitor keeps off the connection
        clock.t += 2
        link.poll()
    assert robot.reconnects == 0 and not link.status.reachable
    link.poll()
    assert robot.reconnects == 1 and link.status.reachable and link.status.reconnects == 1 and calls == [1]
    assert link.status.message == "reconnected to the robot"


def test_a_read_that_blocks_is_reported_by_the_watchdog():
    robot, clock, lock, calls, link = make()
    link.poll()
    clock.t += 0.5
    assert link.watch().reachable
    clock.t += 1.0
    status = link.watch()
    assert not status.reachable and "no state for 1.5 s" in status.message and status.losses == 1
    clock.t += 1.0
    assert link.watch().losses == 1  # one loss, however long
    link.poll()
    assert link.status.reachable


def test_a_call_abandoned_on_a_lost_link_drops_the_connection_and_refuses_until_cleared():
    from realvlg.robots.executor import DeadlineGuard

    release, lost, dropped = threading.Event(), [""], []
    guard = DeadlineGuard(60.0, abort=lambda: lost[0], on_lost=lambda: dropped.append(1))
    lost[0] = "robot not reachable: no state for 1.2 s"
    try:
        guard(release.wait, "the grasp")
        raise AssertionError("the blocked call was not abandoned")
    except RobotConnectionError as exc:
        assert "the grasp stopped: robot not reachable" in str(exc)
    assert dropped == [1] and guard.lock.locked()  # the abandoned call keeps the motion lock until it ends
    try:
        guard(lambda: None, "going home")
        raise AssertionError("a call went through after the loss")
    except RobotConnectionError as exc:
        assert "stopped answering earlier" in str(exc)
    release.set()
    assert guard.lock.acquire(timeout=5)  # released once the call really ended
    guard.lock.release()
    guard.clear()
    lost[0] = ""
    assert guard(lambda: 7, "a read") == 7


def test_a_motion_begun_on_a_dropped_connection_commands_nothing_on_the_new_one():
    """A franky call blocked on a dead link may return after the executor reconnected: the rest of
    that motion must not reach the new connection."""
    from realvlg.robots.franka.franka import FrankaExecutor

    executor = FrankaExecutor()
    executor._robot, executor._gripper = "old robot", "old gripper"  # connection objects stand-ins
    blocked, resumed, seen = threading.Event(), threading.Event(), []

    def motion():
        with executor._on_current_connection():
            seen.append(executor._require())
            blocked.set()
            resumed.wait(5)  # blocked in the client library while the link is lost and rebuilt
            try:
                seen.append(executor._require())
            except RobotConnectionError as exc:
                seen.append(str(exc))

    worker = threading.Thread(target=motion)
    worker.start()
    assert blocked.wait(5)
    executor.disconnect()
    executor._robot, executor._gripper = "new robot", "new gripper"  # reconnect
    resumed.set()
    worker.join(5)
    assert seen[0] == ("old robot", "old gripper")
    assert "connection this motion began on was dropped" in seen[1]
    with executor._on_current_connection():  # a motion begun now uses the new connection
        assert executor._require() == ("new robot", "new gripper")
