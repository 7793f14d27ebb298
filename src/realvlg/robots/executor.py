"""The robot-executor interface: one small abstract class for every arm and hand, one folder per
robot behind it (LeRobot's layout: ``robots/<name>/{config_<name>.py, <name>.py}``).

An :class:`Executor` takes a grasp **in the robot base frame** — a
:class:`~realvlg.geometry.grasps.Grasp6D` for a parallel gripper (z = approach, y = closing,
position = grasp centre between the fingertips, width = the object's size between the contacts)
or a :class:`~realvlg.geometry.grasps.DexGrasp` for a dexterous hand (palm pose + finger joints)
— and runs a complete grasp. :meth:`Executor.check` runs every check of :meth:`Executor.grasp`
and moves nothing (a dry run); targets that must not be executed (outside the workspace,
approaching from below, wider than the gripper, out of reach, into the table, wrong frame or
grasp type) raise :class:`~realvlg.errors.GraspRefusedError` before the robot moves. A grasp that
was tried and failed returns a :class:`GraspResult` with ``success=False`` and the reason; a lost
connection raises :class:`RobotConnectionError`.

Implementations: :mod:`realvlg.robots.franka` (franky: an FR3 + Franka hand, real or franky-sim)
and :mod:`realvlg.robots.ur10e_shadow` (a UR10e + Shadow Hand over ur_rtde, or the MuJoCo twin
of :mod:`realvlg.sim.ur10e_shadow_world`, through the same grasp stages).
"""

from __future__ import annotations

import abc
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from realvlg.errors import GraspRefusedError, RealVLGError
from realvlg.geometry.grasps import Grasp


class RobotUnreachableError(RealVLGError):
    """The robot (or its gripper) did not answer at start-up."""


class RobotConnectionError(RealVLGError):
    """The connection to the robot was lost or a command failed at the protocol level."""


@dataclass
class GraspResult:
    """What happened to one grasp: ``success`` (the sequence ran and the hand holds the object —
    or, where the hand cannot sense it, ``holding`` is None), ``reason`` (empty on success), the
    ``stage`` it reached (``home``, ``pre_grasp``, ``approach``, ``grasp``, ``lift``, ``check``,
    ``done``), ``retries`` after control errors, the final ``gripper_width`` [m] (NaN for a hand),
    ``timings`` [s] per stage, and ``fault``: the robot rejected a command (a fault to clear, not a
    grasp to try again; a lost connection raises :class:`RobotConnectionError` instead)."""

    success: bool
    reason: str = ""
    stage: str = "done"
    retries: int = 0
    gripper_width: float = float("nan")
    timings: dict[str, float] = field(default_factory=dict)
    holding: bool | None = None
    fault: bool = False


class Executor(abc.ABC):
    """Connect once, then check / grasp / home / open as often as needed."""

    grasp_type: ClassVar[type]
    base_frame: str

    @abc.abstractmethod
    def connect(self) -> None:
        """Reach the robot and hand; raise :class:`RobotUnreachableError` if they don't answer."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Release the connection (idempotent)."""

    def reconnect(self) -> None:
        """Drop the connection and reach the robot again (after a link loss); raises
        :class:`RobotUnreachableError` while it does not answer."""
        self.disconnect()
        self.connect()

    def fault(self) -> str:
        """Why the robot cannot take a motion now although its state still reads (a safety stop, a
        dropped command connection, a failure that needs :meth:`reconnect`); ``""`` when it can.
        Never raises. The link monitor reports it and reconnects (default: no such state)."""
        return ""

    @abc.abstractmethod
    def current_pose(self) -> np.ndarray:
        """base←end effector 4x4 (the TCP of a gripper, the palm of a hand)."""

    @abc.abstractmethod
    def joint_positions(self) -> np.ndarray:
        """The arm's measured joint angles [rad]."""

    @abc.abstractmethod
    def joint_state(self) -> dict[str, float]:
        """The measured positions [rad, m] of the arm's and hand's joints, named as in the robot's
        description (URDF), for ``/joint_states``; joints the robot does not measure are absent."""

    @abc.abstractmethod
    def check(self, grasp: Grasp):
        """Every check :meth:`grasp` runs, no motion; raises GraspRefusedError. Returns the
        robot's plan of the grasp (its poses or joint paths)."""

    @abc.abstractmethod
    def grasp(self, grasp: Grasp) -> GraspResult:
        """Check, then grasp at ``grasp`` (base frame) and lift."""

    @abc.abstractmethod
    def home(self) -> None:
        """Move to the home (observation) pose, hand open."""

    @abc.abstractmethod
    def open(self) -> None:
        """Open the gripper or hand fully (releases what it holds)."""

    @abc.abstractmethod
    def is_holding(self) -> bool | None:
        """Whether the hand holds something; None where it cannot tell."""

    def require(self, grasp: Grasp) -> None:
        """Refuse a grasp of the wrong type or frame (the first check of every executor)."""
        if not isinstance(grasp, self.grasp_type):
            raise GraspRefusedError(f"this robot executes {self.grasp_type.__name__} grasps, got a "
                                    f"{type(grasp).__name__}")
        if grasp.frame != self.base_frame:
            raise GraspRefusedError(f"grasp is in frame {grasp.frame!r}, the robot needs {self.base_frame!r}")

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()


class _Call:
    """One guarded call's share of the motion lock (under DeadlineGuard._meta)."""

    def __init__(self):
        self.holding, self.abandoned_at, self.reclaimed = False, None, False


class DeadlineGuard:
    """Robot calls that answer within ``timeout`` seconds whatever happens: a client library can
    block for good once the connection dies (a frozen robot keeps its TCP socket open). A call
    ends early when ``abort()`` gives a reason (the link monitor lost the robot, checked every
    0.1 s). Either way the robot counts as lost: ``on_lost()`` runs (the executor drops its
    connection, so the abandoned call fails at its next motion) and every later call is refused
    with the reason until :meth:`clear` (the link monitor reconnected). A call that finds the robot
    unavailable (that, or ``unreachable()`` giving a reason: by default ``abort``; the executor node
    passes the link monitor's loss without ``abort``'s grace) waits up to ``reconnect_wait`` s for
    it to come back before it is refused: a home made just after a blip runs once the robot is back
    (the lost call itself is not retried). Each call runs
    holding ``lock`` in its own thread, so an abandoned call keeps the lock until it really ends
    and nothing reconnects under it — up to ``stuck_after`` s: :meth:`reclaim` then gives the
    lock back on its behalf (libfranka's TCP requests to a killed robot never return)."""

    def __init__(self, timeout: float, lock: threading.Lock | None = None, abort=lambda: "",
                 on_lost=lambda: None, stuck_after: float = 5.0, reconnect_wait: float = 0.0, unreachable=None):
        self.timeout, self.abort, self.on_lost, self.stuck_after = timeout, abort, on_lost, stuck_after
        self.unreachable = unreachable or abort
        self.reconnect_wait = reconnect_wait
        self.lock = lock or threading.Lock()
        self.lost = ""  # why the robot is considered unreachable (a call that never returned)
        self._meta = threading.Lock()
        self._abandoned: list[tuple[_Call, threading.Thread]] = []

    def clear(self) -> None:
        """The robot was reached again (a new connection): calls go through again."""
        self.lost = ""

    def reclaim(self) -> bool:
        """Release the lock held by a call abandoned at least ``stuck_after`` s ago that is still
        stuck in the client library. Safe: that call is bound to the connection ``on_lost``
        dropped and commands nothing more once it returns (:meth:`FrankaExecutor._require`); it
        can only finish the request it is stuck in, on the old connection. True when released."""
        now = time.monotonic()
        with self._meta:
            self._abandoned = [(c, w) for c, w in self._abandoned if w.is_alive()]
            for call, _ in self._abandoned:
                if call.holding and not call.reclaimed and now - call.abandoned_at >= self.stuck_after:
                    call.reclaimed = True
                    self.lock.release()
                    return True
        return False

    def __call__(self, operation, what: str):
        deadline = time.monotonic() + self.reconnect_wait
        while (unavailable := self._unavailable()) and time.monotonic() < deadline:
            time.sleep(0.05)
        if unavailable:
            raise RobotConnectionError(f"{unavailable}; not back within {self.reconnect_wait:g} s "
                                       "(the link monitor keeps trying)")
        call, outcome = _Call(), {}

        def run():
            self.lock.acquire()
            with self._meta:
                call.holding = True
                if call.abandoned_at is not None:   # given up on before it began: it never starts
                    return self._release(call)
            try:
                outcome["value"] = operation()
            except BaseException as exc:  # handed to the caller below
                outcome["error"] = exc
            finally:
                with self._meta:
                    self._release(call)

        worker = threading.Thread(target=run, name="robot-call", daemon=True)
        worker.start()
        deadline = time.monotonic() + self.timeout
        while worker.is_alive() and time.monotonic() < deadline and not (reason := self.abort()):
            worker.join(0.1)
        if worker.is_alive():
            self.lost = (f"{what} stopped: {reason}" if time.monotonic() < deadline
                         else f"{what} did not finish within {self.timeout:.0f} s: the connection to the robot is presumed lost")
            with self._meta:
                call.abandoned_at = time.monotonic()
                self._abandoned.append((call, worker))
            self.on_lost()
            raise RobotConnectionError(self.lost)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _unavailable(self) -> str:
        """Why no call may start now: a call that never returned, or the link monitor's loss."""
        if self.lost:
            return f"the robot stopped answering earlier ({self.lost})"
        reason = self.unreachable()
        return f"the robot is not reachable ({reason})" if reason else ""

    def _release(self, call: _Call) -> None:
        call.holding = False
        if not call.reclaimed:
            self.lock.release()
