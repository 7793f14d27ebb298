"""Robot link supervision: is the robot reachable, and reach it again once it is back.

:class:`LinkMonitor` is polled at the state rate by the executor node. Each poll reads the
robot's state (TCP pose and joint state). A failed read — libfranka gives up on a silent robot
after its 1 s UDP receive timeout, ur_rtde on a lost socket — marks the link *unreachable* with
the reason, and so does a read that succeeds while :meth:`Executor.fault` names a reason no motion
may be commanded (a UR protective stop, a dropped RTDE command connection: ur_rtde keeps answering
reads with its last values), and so does a read that blocks for ``stale_after`` s (:meth:`watch`, from a second
thread: a frozen robot keeps its TCP socket open); from then on the monitor tries :meth:`Executor.reconnect` at most every
``retry_period`` seconds, and only while no motion holds ``motion_lock`` (a motion in flight ends
on its own with the connection error, see the executors; ``reclaim()`` first frees the lock of a
call stuck for good on the dead connection, :meth:`DeadlineGuard.reclaim`). A successful read or reconnect marks it
*reachable* again; ``on_reconnect`` runs after each reconnect. The monitor never raises: every failure is a status.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import numpy as np

from realvlg.robots.executor import Executor


@dataclass(frozen=True)
class LinkStatus:
    """``reachable``; ``message``: why not (or how it came back); ``since``: monotonic time [s] of
    the last change; ``losses`` / ``reconnects``: counts since start."""

    reachable: bool
    message: str
    since: float
    losses: int = 0
    reconnects: int = 0


@dataclass(frozen=True)
class RobotReading:
    """One state read: base←TCP 4x4 and the joint positions by name [rad, m]."""

    pose: np.ndarray
    joints: dict[str, float]


class LinkMonitor:
    def __init__(self, executor: Executor, motion_lock: threading.Lock, retry_period: float = 1.0,
                 stale_after: float = 1.0, on_reconnect=lambda: None, reclaim=lambda: False,
                 clock=time.monotonic):
        self.executor, self.on_reconnect, self.reclaim = executor, on_reconnect, reclaim
        self.stale_after = stale_after
        self._last_read = clock()
        self.motion_lock = motion_lock
        self.retry_period = retry_period
        self._clock = clock
        self._next_retry = 0.0
        self.status = LinkStatus(True, "connected", clock())

    def poll(self) -> RobotReading | None:
        """Read the state; on failure report and (rate-limited) reconnect. Returns the reading, or
        ``None`` when the robot could not be read."""
        try:
            reading = RobotReading(self.executor.current_pose(), self.executor.joint_state())
        except Exception as exc:  # any client-library failure is a link state, never an escape
            reason = f"robot not reachable: {' '.join(str(exc).split())}"
            self._lost(reason)
            self._maybe_reconnect(reason)
            return None
        self._last_read = self._clock()
        fault = self.executor.fault()  # the state reads, but no motion may be commanded (a UR safety stop)
        if fault:
            reason = f"robot not reachable: {fault}"
            self._lost(reason)
            self._maybe_reconnect(reason)
            return reading
        if not self.status.reachable:
            self._set(True, "robot reachable again")
        return reading

    def lost_for(self, seconds: float) -> str:
        """The reason when the link has been unreachable for more than ``seconds``, else ""."""
        status = self.status
        return "" if status.reachable or self._clock() - status.since <= seconds else status.message

    def watch(self) -> LinkStatus:
        """Called from another thread than :meth:`poll`: a read that blocks (a frozen robot keeps
        its TCP socket open) makes the link unreachable after ``stale_after`` s without a reading."""
        silent = self._clock() - self._last_read
        if silent > self.stale_after:
            self._lost(f"robot not reachable: no state for {silent:.1f} s")
        return self.status

    def _maybe_reconnect(self, reason: str) -> None:
        now = self._clock()
        if now < self._next_retry:
            return
        self.reclaim()
        if not self.motion_lock.acquire(blocking=False):
            return
        self._next_retry = now + self.retry_period
        try:
            self.executor.reconnect()
        except Exception as exc:
            self._lost(f"{reason}; reconnecting failed: {' '.join(str(exc).split())}")
            return
        finally:
            self.motion_lock.release()
        self.on_reconnect()
        self.status = replace(self.status, reconnects=self.status.reconnects + 1)
        self._set(True, "reconnected to the robot")

    def _lost(self, message: str) -> None:
        if self.status.reachable:
            self.status = replace(self.status, losses=self.status.losses + 1)
        self._set(False, message)

    def _set(self, reachable: bool, message: str) -> None:
        since = self.status.since if reachable == self.status.reachable else self._clock()
        self.status = replace(self.status, reachable=reachable, message=message, since=since)
