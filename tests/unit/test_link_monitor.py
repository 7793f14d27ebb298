"""LinkMonitor: a failed or silent state read is "robot not reachable", reconnects are rate-limited
and never run while a motion holds the lock (unless it is stuck for good); a fake executor and a
fake clock."""

import threading
import time

import numpy as np
import pytest

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


def lose_during_the_call(lost: list[str], reason: str) -> None:
    """The link monitor reports ``reason`` 0.1 s from now (a call started before runs into it)."""
    threading.Timer(0.1, lost.__setitem__, (0, reason)).start()


def test_a_call_abandoned_on_a_lost_link_drops_the_connection_and_refuses_until_cleared():
    from realvlg.robots.executor import DeadlineGuard

    release, lost, dropped = threading.Event(), [""], []
    guard = DeadlineGuard(60.0, abort=lambda: lost[0], on_lost=lambda: dropped.append(1))
    lose_during_the_call(lost, "robot not reachable: no state for 1.2 s")
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


def test_a_call_made_while_the_link_is_down_waits_up_to_reconnect_wait_for_the_reconnect():
    """A home right after a blip runs once the monitor reconnects; without a reconnect it is refused
    after ``reconnect_wait`` s, not at once and not never."""
    from realvlg.robots.executor import DeadlineGuard

    release, lost, dropped = threading.Event(), [""], []
    guard = DeadlineGuard(60.0, abort=lambda: lost[0], on_lost=lambda: dropped.append(1), reconnect_wait=0.5)
    lose_during_the_call(lost, "robot not reachable: no state for 2.0 s")
    with pytest.raises(RobotConnectionError):
        guard(release.wait, "the grasp")
    release.set()
    lost[0] = ""
    t0 = time.monotonic()
    with pytest.raises(RobotConnectionError, match="not back within 0.5 s"):
        guard(lambda: 7, "going home")
    assert 0.45 <= time.monotonic() - t0 < 2.0
    threading.Timer(0.2, guard.clear).start()  # the link monitor reconnects meanwhile
    t0 = time.monotonic()
    assert guard(lambda: 7, "going home") == 7
    assert 0.15 <= time.monotonic() - t0 < 0.5
    lost[0] = "robot not reachable: no state for 1.5 s"  # the monitor's loss, before the call: it waits, drops nothing
    threading.Timer(0.2, lost.__setitem__, (0, "")).start()
    assert guard(lambda: 8, "going home") == 8 and dropped == [1]


def test_a_call_made_within_the_aborts_grace_of_a_loss_waits_too():
    """``abort`` gives a motion in flight a grace (the robot's own error path first); a new call
    must not start on a link the monitor already reported lost (CI: a home 0.5 s after the loss ran
    on the dropped connection and answered "not connected")."""
    from realvlg.robots.executor import DeadlineGuard

    reported = [""]   # the monitor's loss, at once; abort sees it only after its grace
    guard = DeadlineGuard(60.0, abort=lambda: "", unreachable=lambda: reported[0], reconnect_wait=0.3)
    reported[0] = "robot not reachable: cannot read the robot state"
    ran = []
    with pytest.raises(RobotConnectionError, match="not reachable .*not back within 0.3 s"):
        guard(lambda: ran.append(1), "going home")
    assert ran == []
    threading.Timer(0.1, reported.__setitem__, (0, "")).start()
    assert guard(lambda: 9, "going home") == 9


def test_a_call_stuck_for_good_gives_the_lock_back_after_stuck_after_and_the_monitor_reconnects():
    """libfranka's TCP request to a killed robot never returns: after ``stuck_after`` s the guard
    releases the lock on the stuck call's behalf, the monitor reconnects, later calls run; when the
    stuck call does return it releases nothing (no one else's hold is broken)."""
    from realvlg.robots.executor import DeadlineGuard

    stuck, lost = threading.Event(), [""]
    guard = DeadlineGuard(60.0, abort=lambda: lost[0], stuck_after=0.2)
    robot, clock = FakeRobot(), Clock()
    link = LinkMonitor(robot, guard.lock, on_reconnect=guard.clear, reclaim=guard.reclaim, clock=clock)
    lose_during_the_call(lost, "robot not reachable: Net Exception")
    try:
        guard(stuck.wait, "the grasp")
        raise AssertionError("the blocked call was not abandoned")
    except RobotConnectionError:
        pass
    robot.current_pose = lambda: (_ for _ in ()).throw(RobotConnectionError("not connected"))
    link.poll()
    assert robot.reconnects == 0 and guard.lock.locked()   # within stuck_after: the call keeps the lock
    time.sleep(0.25)
    clock.t += 2
    link.poll()
    assert robot.reconnects == 1 and link.status.message == "reconnected to the robot" and not guard.lost
    lost[0] = ""
    assert guard(lambda: 7, "a read") == 7
    with guard.lock:   # a new holder: the stuck call returning now must not release its hold
        stuck.set()
        time.sleep(0.1)
        assert guard.lock.locked()
    assert not guard.lock.locked()


def test_a_call_given_up_before_it_got_the_lock_never_runs():
    from realvlg.robots.executor import DeadlineGuard

    guard, ran = DeadlineGuard(0.2), []
    with guard.lock:   # held elsewhere: the call waits for it past its deadline
        try:
            guard(lambda: ran.append(1), "the grasp")
            raise AssertionError("the call was not abandoned")
        except RobotConnectionError as exc:
            assert "did not finish within" in str(exc)
    time.sleep(0.1)
    assert ran == [] and not guard.lock.locked()


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
