"""A recording stand-in of ur_rtde's ``RTDEControlInterface`` and ``RTDEReceiveInterface``.

No RTDE controller simulator exists on these machines (URSim is a Docker image of a full
controller; nothing can be downloaded here), so the UR10e executor is tested at its command
layer: this stand-in answers the ur_rtde calls the executor makes, with the same names, argument
order and return types as ur_rtde 1.6.5, records every command it receives, and plays scripted
controller events (a protective stop, an emergency stop, a lost connection, a dead control
script, a motion that never ends) at a chosen poll of a chosen motion. It is NOT a model of the
controller's motion: a motion ends after ``motion_polls`` progress polls, at its target.
"""

from __future__ import annotations

import numpy as np

from realvlg.robots.ur10e_shadow.kinematics import forward_kinematics, solve_ik
from realvlg.robots.ur10e_shadow.rtde import pose_from_rtde, pose_to_rtde

NORMAL_MODE = 1   # safety_status_bits bit 0


class ControllerState:
    """What both stand-in interfaces read and write; ``commands`` is the recorded command log."""

    def __init__(self, q0, motion_polls: int = 3):
        self.q = np.asarray(q0, dtype=float)
        self.tcp = forward_kinematics(self.q)
        self.motion_polls = motion_polls
        self.commands: list[tuple] = []
        self.safety_bits = NORMAL_MODE
        self.connected = True
        self.program_running = True
        self.raise_on_read = False
        self.motion = None          # (kind, target, polls left)
        self.motions_started = 0
        self.events: dict[int, tuple[str, int]] = {}

    def at_motion(self, index: int, event: str, after_polls: int = 1) -> None:
        """Play ``event`` during motion ``index`` (0-based) after ``after_polls`` progress polls:
        ``protective_stop``, ``emergency_stop``, ``disconnect``, ``socket_error``, ``script_stopped``,
        ``never_ends``."""
        self.events[index] = (event, after_polls)

    def _play(self, event: str) -> None:
        if event == "protective_stop":
            self.safety_bits = 1 << 2 | 1 << 10
        elif event == "emergency_stop":
            self.safety_bits = 1 << 5 | 1 << 7
        elif event == "disconnect":
            self.connected = False
        elif event == "socket_error":
            self.raise_on_read = True
        elif event == "script_stopped":
            self.program_running = False
        if event != "never_ends":
            self.motion = None      # the arm stops where it is (halfway, as far as anyone can read)

    def read(self, value):
        if self.raise_on_read:
            raise RuntimeError("RTDE receive: Broken pipe")
        return value

    def poll(self) -> int:
        """The progress a controller reports: 0 while a motion runs, −1 when none does."""
        if self.motion is None:
            return -1
        kind, target, left, index, polls = self.motion
        polls += 1
        event = self.events.get(index)
        if event and polls >= event[1]:
            self._play(event[0])
            if event[0] != "never_ends":
                return -1
            self.motion = (kind, target, left, index, polls)
            return 0
        left -= 1
        if left <= 0:
            if kind == "joint":
                self.q, self.tcp = np.asarray(target), forward_kinematics(np.asarray(target))
            else:
                self.tcp = pose_from_rtde(target)
                self.q = solve_ik(self.tcp, self.q).q
            self.motion = None
            return -1
        self.motion = (kind, target, left, index, polls)
        return 0

    def start(self, kind: str, target) -> bool:
        self.motion = (kind, list(target), self.motion_polls, self.motions_started, 0)
        self.motions_started += 1
        return True


class AsyncOperationStatus:
    """``rtde_control.AsyncOperationStatus``: the one query the executor makes of it."""

    def __init__(self, running: bool):
        self._running = running

    def isAsyncOperationRunning(self):
        return self._running


class StandInControl:
    """ur_rtde ``RTDEControlInterface`` calls used by realvlg.robots.ur10e_shadow.rtde (recording)."""

    def __init__(self, state: ControllerState):
        self.s = state

    def setTcp(self, tcp_offset):
        self.s.commands.append(("setTcp", list(tcp_offset)))
        return True

    def moveJ(self, q, speed=1.05, acceleration=1.4, asynchronous=False):
        self.s.commands.append(("moveJ", list(q), speed, acceleration, asynchronous))
        return self.s.start("joint", q)

    def moveL(self, pose, speed=0.25, acceleration=1.2, asynchronous=False):
        self.s.commands.append(("moveL", list(pose), speed, acceleration, asynchronous))
        return self.s.start("linear", pose)

    def stopJ(self, a=2.0, asynchronous=False):
        self.s.commands.append(("stopJ", a, asynchronous))
        self.s.motion = None

    def stopL(self, a=10.0, asynchronous=False):
        self.s.commands.append(("stopL", a, asynchronous))
        self.s.motion = None

    def stopScript(self):
        self.s.commands.append(("stopScript",))

    def getAsyncOperationProgressEx(self):
        return AsyncOperationStatus(self.s.read(self.s.poll()) >= 0)

    def isSteady(self):
        return self.s.read(self.s.motion is None)

    def isConnected(self):
        return self.s.connected

    def isProgramRunning(self):
        return self.s.read(self.s.program_running)

    def disconnect(self):
        self.s.commands.append(("disconnect",))


class StandInReceive:
    """ur_rtde ``RTDEReceiveInterface`` calls used by realvlg.robots.ur10e_shadow.rtde."""

    def __init__(self, state: ControllerState):
        self.s = state

    def getActualQ(self):
        return self.s.read(self.s.q.tolist())

    def getActualTCPPose(self):
        return self.s.read(pose_to_rtde(self.s.tcp))

    def getSafetyStatusBits(self):
        return self.s.read(self.s.safety_bits)

    def isProtectiveStopped(self):
        return self.s.read(bool(self.s.safety_bits >> 2 & 1))

    def isEmergencyStopped(self):
        return self.s.read(bool(self.s.safety_bits >> 7 & 1))

    def isConnected(self):
        return self.s.connected

    def disconnect(self):
        pass


def standin_factory(state: ControllerState):
    """An ``interfaces=`` factory for UR10eExecutor that hands out the stand-ins over ``state``."""
    return lambda config: (StandInControl(state), StandInReceive(state))


def observation_pose_controller(config):
    """``rtde_interfaces`` for an executor_node process (``rtde_standin:observation_pose_controller``):
    stand-ins over a fresh controller at the UR10e observation pose; every command is printed as
    ``STANDIN <command>`` on stdout for the test to read."""
    from realvlg.robots.ur10e_shadow.config_ur10e_shadow import UR10E_OBSERVATION_Q

    state = ControllerState(UR10E_OBSERVATION_Q)

    class PrintingLog(list):
        def append(self, command):
            print("STANDIN", command[0], flush=True)
            super().append(command)

    state.commands = PrintingLog()
    return StandInControl(state), StandInReceive(state)
