"""The real UR10e + Shadow Hand below the grasp stages: ur_rtde (``rtde_control`` /
``rtde_receive``) for the arm and a callable for the hand (the Shadow Robot driver's trajectory
controller, published by the executor node: :class:`realvlg.ros.shadow_hand.ShadowHandPublisher`).
:class:`RTDEBackend` is the :class:`~realvlg.robots.ur10e_shadow.stages.Backend` of
:class:`~realvlg.robots.ur10e_shadow.ur10e_shadow.UR10eShadowExecutor`. Frames: the UR
controller's base (the DH base of :mod:`realvlg.robots.ur10e_shadow.kinematics`) and tool0 (the
flange): the backend sets the controller's TCP offset to zero at connect, so a moveL pose *is* a
tool0 pose. Metres, radians, m/s, rad/s.

Command-layer checks before any command (:class:`~realvlg.errors.GraspRefusedError`, nothing is
sent), below the stages' own: finite targets, joint targets within ``q_min``/``q_max``, flange
**and palm** positions (through the hand mount ``tool0_T_palm``) inside the workspace box, linear
targets with an IK solution, every target of a sequence before its first motion. Speeds and
accelerations above the configured maxima (:class:`~.config_ur10e_shadow.RTDEConfig`) are clamped
to them (the value sent is the maximum); non-positive or non-finite ones are refused.

Motions run asynchronously (``moveJ(q, speed, acceleration, True)``) and are watched every
``poll_period`` s until the robot is steady at the target: the receive interface's safety status
bits (protective stop, safeguard stop, emergency stops, violation, fault), ``isConnected`` of
both interfaces and ``isProgramRunning`` (the control script). A safety stop raises
:class:`RobotSafetyStopError`, a lost connection or a dead control script
:class:`~realvlg.robots.executor.RobotConnectionError`, a motion that does not end within
``motion_timeout`` is stopped (``stopJ`` / ``stopL``) and raises the latter too. After any of
these the backend is *faulted*: every later motion is refused until :meth:`RTDEBackend.reconnect`
succeeds with the controller in normal mode (a protective stop is cleared on the teach pendant or
through the dashboard server, by a person). Between motions the executor node's link monitor
(:class:`~realvlg.robots.link.LinkMonitor`) asks :meth:`RTDEBackend.fault` at the state rate: the
same checks, so a stop or a dropped connection at standstill is reported too, and it reconnects
once the controller is back in normal mode.

An unreachable controller at :meth:`~RTDEBackend.connect` (refused, or silent for
``connect_timeout`` s) raises :class:`~realvlg.robots.executor.RobotUnreachableError` with the
host. The hand: ``send_hand(fingers) -> seconds`` publishes a finger target and says how long the
motion takes; the backend waits that long (or the stage's duration, if longer). The arm cannot
tell whether the hand holds the object and no hand sensing is wired here, so
:meth:`RTDEBackend.holding` is None (the grasp reports "holding unknown"). No RTDE controller
simulator exists on these machines: the tests drive this module at its command layer, through a
recording stand-in of the two ur_rtde interfaces injected with ``interfaces=`` (the default
factory builds the real ones; only its refusal of an unreachable host runs for real).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.errors import GraspRefusedError, InvalidInputError, RealVLGError, UnreachableError
from realvlg.robots.executor import RobotConnectionError, RobotUnreachableError
from realvlg.robots.ur10e_shadow.config_ur10e_shadow import RTDEConfig, UR10eShadowConfig
from realvlg.robots.ur10e_shadow.kinematics import forward_kinematics, solve_ik
from realvlg.robots.ur10e_shadow.stages import Backend

# RTDE safety_status_bits (UR RTDE guide): bit → what it means for motion
SAFETY_BITS = {
    2: "protective stop",
    4: "safeguard stop",
    5: "system emergency stop",
    6: "robot emergency stop",
    7: "emergency stop",
    8: "safety violation",
    9: "safety fault",
    10: "stopped due to safety",
}
class RobotSafetyStopError(RealVLGError):
    """The arm's safety system stopped it (protective / safeguard / emergency stop, violation, fault)."""


def safety_stop_reasons(bits: int) -> list[str]:
    """The names of the stop conditions set in an RTDE ``safety_status_bits`` word."""
    return [name for bit, name in SAFETY_BITS.items() if int(bits) >> bit & 1]


def pose_to_rtde(T: np.ndarray) -> list[float]:
    """4x4 → ``[x, y, z, rx, ry, rz]`` (rotation vector), the pose format of ur_rtde."""
    T = np.asarray(T, dtype=float)
    return [*T[:3, 3].tolist(), *Rotation.from_matrix(T[:3, :3]).as_rotvec().tolist()]


def pose_from_rtde(pose: Sequence[float]) -> np.ndarray:
    p = np.asarray(pose, dtype=float)
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(p[3:6]).as_matrix()
    T[:3, 3] = p[:3]
    return T


@dataclass(frozen=True)
class JointMove:
    """moveJ to ``q`` (6,) rad; ``speed`` [rad/s] / ``acceleration`` [rad/s²] default to the config's."""

    q: tuple[float, ...]
    speed: float | None = None
    acceleration: float | None = None


@dataclass(frozen=True)
class LinearMove:
    """moveL of the flange to ``pose`` (base←tool0 4x4); ``speed`` [m/s] / ``acceleration`` [m/s²]."""

    pose: np.ndarray
    speed: float | None = None
    acceleration: float | None = None


def _limited(value: float | None, default: float, maximum: float, what: str) -> float:
    value = default if value is None else float(value)
    if not (math.isfinite(value) and value > 0):
        raise GraspRefusedError(f"{what} must be a positive number, got {value}")
    return min(value, maximum)


def rtde_interfaces(config: RTDEConfig):
    """The real ur_rtde interfaces (receive first: a read-only connection that proves the host
    answers, then control, which uploads its script to the controller)."""
    import rtde_control
    import rtde_receive

    receive = rtde_receive.RTDEReceiveInterface(config.host, config.frequency)
    try:
        control = rtde_control.RTDEControlInterface(config.host, config.frequency)
    except RuntimeError:
        receive.disconnect()
        raise
    return control, receive


class RTDEBackend(Backend):
    """A UR10e over ur_rtde and a Shadow Hand behind ``send_hand`` (module docstring);
    ``interfaces(rtde_config) -> (control, receive)`` builds the two RTDE interfaces (default
    :func:`rtde_interfaces`)."""

    def __init__(self, config: UR10eShadowConfig, send_hand: Callable[[np.ndarray], float],
                 interfaces: Callable[[RTDEConfig], tuple] = rtde_interfaces) -> None:
        self.config = config
        self._send_hand = send_hand
        self._interfaces = interfaces
        self._control = None
        self._receive = None
        self._fault = ""

    # -- the stages' backend -------------------------------------------------------------------
    def arm_q(self) -> np.ndarray:
        return self.joint_positions()

    def hand_q(self) -> None:
        """Not measured (module docstring)."""
        return None

    def move_joints(self, path: np.ndarray, duration: float) -> str:
        """moveJ through each waypoint (the controller's own speed limits set the time)."""
        self.run([JointMove(tuple(np.asarray(q, dtype=float).tolist())) for q in np.atleast_2d(path)])
        return ""

    def move_line(self, path: np.ndarray, flange_target: np.ndarray, duration: float, stop_on_table: bool) -> str:
        """moveL to ``flange_target``: the controller's straight tool line, the one ``path`` samples."""
        self.run([LinearMove(np.asarray(flange_target, dtype=float))])
        return ""

    def set_hand(self, fingers: np.ndarray, duration: float) -> None:
        time.sleep(max(duration, self._send_hand(np.asarray(fingers, dtype=float))))

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def holding(self) -> None:
        """Unknown: no hand sensing is wired (module docstring)."""
        return None

    # -- command-layer checks -------------------------------------------------------------------------
    def checked(self, motion: JointMove | LinearMove) -> JointMove | LinearMove:
        """The motion with its speed and acceleration filled in and clamped; raises
        :class:`GraspRefusedError` for a target that must not be commanded."""
        cfg = self.config
        if isinstance(motion, JointMove):
            q = np.asarray(motion.q, dtype=float).reshape(-1)
            if q.shape != (6,) or not np.isfinite(q).all():
                raise GraspRefusedError(f"a UR10e joint target is 6 finite angles, got {motion.q!r}")
            outside = [f"joint {i + 1} = {v:.3f} not in [{lo:.3f}, {hi:.3f}]"
                       for i, (v, lo, hi) in enumerate(zip(q, cfg.q_min, cfg.q_max)) if not lo <= v <= hi]
            if outside:
                raise GraspRefusedError(f"joint target outside the joint limits: {', '.join(outside)} (rad)")
            self._check_workspace(forward_kinematics(q), "joint target")
            speed = _limited(motion.speed, cfg.rtde.joint_speed, cfg.rtde.max_joint_speed, "joint speed")
            acc = _limited(motion.acceleration, cfg.rtde.joint_acceleration, cfg.rtde.max_joint_acceleration,
                           "joint acceleration")
            return JointMove(tuple(q.tolist()), speed, acc)
        if isinstance(motion, LinearMove):
            T = np.asarray(motion.pose, dtype=float)
            if T.shape != (4, 4) or not np.isfinite(T).all():
                raise GraspRefusedError("a UR10e linear target is a finite 4x4 pose")
            self._check_workspace(T, "linear target")
            if not solve_ik(T, q_min=np.asarray(cfg.q_min), q_max=np.asarray(cfg.q_max)).reachable:
                raise UnreachableError(f"linear target at {np.round(T[:3, 3], 3).tolist()} has no UR10e IK "
                                        "solution within the joint limits")
            speed = _limited(motion.speed, cfg.rtde.linear_speed, cfg.rtde.max_linear_speed, "linear speed")
            acc = _limited(motion.acceleration, cfg.rtde.linear_acceleration, cfg.rtde.max_linear_acceleration,
                           "linear acceleration")
            return LinearMove(T, speed, acc)
        raise InvalidInputError(f"not a UR10e motion: {motion!r}")

    def _check_workspace(self, T_base_tool0: np.ndarray, what: str) -> None:
        palm = T_base_tool0 @ np.asarray(self.config.tool0_T_palm, dtype=float)
        self.config.workspace.check(T_base_tool0[:3, 3], f"{what}: flange position")
        self.config.workspace.check(palm[:3, 3], f"{what}: palm position")

    # -- sequences -------------------------------------------------------------------------------
    def run(self, motions: Sequence[JointMove | LinearMove]) -> None:
        """Check every motion, then run them in order; the first failure ends the sequence."""
        for motion in [self.checked(m) for m in motions]:
            self._run(motion)

    # -- connection ------------------------------------------------------------------------------
    def connect(self) -> None:
        """Build the interfaces within ``connect_timeout`` (a host that drops packets would keep
        ur_rtde's TCP connect waiting for minutes), zero the TCP offset, check the robot's state."""
        outcome: dict = {}

        def build() -> None:
            try:
                outcome["interfaces"] = self._interfaces(self.config.rtde)
            except RuntimeError as exc:   # ur_rtde: "Could not connect to: HOST at PORT, verify the IP"
                outcome["error"] = exc

        worker = threading.Thread(target=build, name="ur-rtde-connect", daemon=True)
        worker.start()
        worker.join(self.config.rtde.connect_timeout)
        self._control = self._receive = None
        if worker.is_alive():
            raise RobotUnreachableError(f"the UR controller at {self.config.rtde.host} did not answer within "
                                        f"{self.config.rtde.connect_timeout:g} s")
        if "error" in outcome:
            raise RobotUnreachableError(f"cannot reach the UR controller at {self.config.rtde.host}: "
                                        f"{' '.join(str(outcome['error']).split())}") from outcome["error"]
        self._control, self._receive = outcome["interfaces"]
        try:
            self._control.setTcp([0.0] * 6)   # moveL / getActualTCPPose then speak of tool0
        except RuntimeError as exc:
            self._fail("setTcp failed")
            raise RobotConnectionError(f"the UR controller at {self.config.rtde.host} refused setTcp: {exc}") from exc
        self._fault = ""
        self._check_state("connect")

    def reconnect(self) -> None:
        """Drop a fault (a cleared protective stop, a restored network) by connecting anew. While
        the current connection still reads a safety stop, raise :class:`RobotSafetyStopError` and
        keep it: building new interfaces (uploading the control script) at the link monitor's
        retry rate cannot clear a stop — a person does, on the teach pendant."""
        if self._receive is not None:
            try:
                stops = self._stops()
            except RobotConnectionError:
                stops = []   # no answer over this connection: a new one may get through
            if stops:
                raise RobotSafetyStopError(f"the UR10e is still in {', '.join(stops)}; clear it on the teach pendant")
        self.disconnect()
        self.connect()

    def disconnect(self) -> None:
        for interface in (self._control, self._receive):
            if interface is not None:
                try:
                    if interface is self._control:
                        interface.stopScript()
                    interface.disconnect()
                except RuntimeError:
                    pass   # already gone: nothing left to release
        self._control = self._receive = None

    def _require(self, motion: bool = True):
        """The two interfaces; a faulted executor refuses motion but still reads its state."""
        if self._control is None or self._receive is None:
            raise RobotConnectionError("the UR10e backend is not connected (call connect())")
        if motion and self._fault:
            raise RobotConnectionError(f"the UR10e backend stopped after an earlier failure ({self._fault}); "
                                       "no further motion until reconnect()")
        return self._control, self._receive

    # -- state -----------------------------------------------------------------------------------
    def joint_positions(self) -> np.ndarray:
        _, receive = self._require(motion=False)
        return np.asarray(self._call(receive.getActualQ, "getActualQ"), dtype=float)

    def flange_pose(self) -> np.ndarray:
        _, receive = self._require(motion=False)
        return pose_from_rtde(self._call(receive.getActualTCPPose, "getActualTCPPose"))

    def _call(self, fn, what: str):
        try:
            return fn()
        except RuntimeError as exc:
            self._fail(f"{what} failed: {' '.join(str(exc).split())}")
            raise RobotConnectionError(f"lost the connection to the UR controller ({what}: {exc})") from exc

    def _fail(self, reason: str) -> None:
        self._fault = reason

    def _stops(self) -> list[str]:
        """The safety stops the receive interface reports now (raises RobotConnectionError if it cannot read)."""
        receive = self._receive
        stops = safety_stop_reasons(self._call(receive.getSafetyStatusBits, "getSafetyStatusBits"))
        if self._call(receive.isProtectiveStopped, "isProtectiveStopped") and "protective stop" not in stops:
            stops.insert(0, "protective stop")
        if self._call(receive.isEmergencyStopped, "isEmergencyStopped") and "emergency stop" not in stops:
            stops.append("emergency stop")
        return stops

    def _check_state(self, during: str) -> None:
        """Raise (and fault the executor) if the robot is stopped by safety, disconnected or its
        control script has ended."""
        control, receive = self._control, self._receive
        if not (self._call(receive.isConnected, "isConnected") and self._call(control.isConnected, "isConnected")):
            self._fail(f"connection lost during {during}")
            raise RobotConnectionError(f"lost the connection to the UR controller at {self.config.rtde.host} during {during}")
        stops = self._stops()
        if stops:
            self._fail(f"{', '.join(stops)} during {during}")
            raise RobotSafetyStopError(f"the UR10e is in {', '.join(stops)} (during {during}); clear it on the "
                                       "teach pendant, then reconnect() — no further motion until then")
        if not self._call(control.isProgramRunning, "isProgramRunning"):
            self._fail(f"control script not running during {during}")
            raise RobotConnectionError(f"the RTDE control script is not running on the UR controller "
                                       f"(during {during}); reconnect() uploads it again")

    def fault(self) -> str:
        """``""`` when a motion may be commanded; else why not (the link monitor's question, asked
        at the state rate from another thread than the motions): the state check of every motion
        (connection, safety stops, control script), run now, or an earlier failure. Whatever it
        finds is latched until :meth:`reconnect` — a UR safety stop ends the control script, so a
        cleared stop still needs a new connection. Never raises."""
        if self._control is None or self._receive is None:
            return "the UR10e backend is not connected"
        if not self._fault:
            try:
                self._check_state("the link check")
            except RealVLGError:
                pass   # latched in self._fault by the check
        return self._fault

    # -- motion ----------------------------------------------------------------------------------
    def stop(self) -> None:
        control = self._control
        if control is None:
            return
        try:
            control.stopJ(self.config.rtde.stop_joint_deceleration, False)
        except RuntimeError:
            pass   # the connection is gone: the controller's own watchdog stops the arm

    def _run(self, motion: JointMove | LinearMove) -> None:
        control, receive = self._require()
        cfg = self.config
        joint = isinstance(motion, JointMove)
        what = "moveJ" if joint else "moveL"
        self._check_state(f"{what} (before)")
        target = list(motion.q) if joint else pose_to_rtde(motion.pose)
        accepted = self._call(lambda: (control.moveJ if joint else control.moveL)(
            target, motion.speed, motion.acceleration, True), what)
        if not accepted:
            self._fail(f"{what} rejected")
            raise RobotConnectionError(f"the UR controller rejected {what} to {np.round(target, 4).tolist()}")
        start = time.monotonic()
        steady_since = None
        while True:
            try:
                self._check_state(what)
                status = self._call(control.getAsyncOperationProgressEx, "getAsyncOperationProgressEx")
                running = status.isAsyncOperationRunning()
                if not running and self._call(control.isSteady, "isSteady"):
                    if self._reached(motion, receive):
                        return
                    steady_since = steady_since or time.monotonic()
                    if time.monotonic() - steady_since > cfg.rtde.settle_time:
                        self._fail(f"{what} stopped short of its target")
                        raise RobotConnectionError(f"{what} ended steady but away from its target "
                                                   "(blocked, or stopped by the controller)")
                if time.monotonic() - start > cfg.rtde.motion_timeout:
                    self._fail(f"{what} timed out")
                    raise RobotConnectionError(f"{what} did not finish within {cfg.rtde.motion_timeout:g} s; "
                                               "the arm was stopped")
            except RealVLGError:
                self._stop_motion(joint)
                raise
            time.sleep(cfg.rtde.poll_period)

    def _reached(self, motion: JointMove | LinearMove, receive) -> bool:
        if isinstance(motion, JointMove):
            q = np.asarray(self._call(receive.getActualQ, "getActualQ"), dtype=float)
            return bool(np.abs(q - np.asarray(motion.q)).max() <= self.config.rtde.joint_tolerance)
        T = pose_from_rtde(self._call(receive.getActualTCPPose, "getActualTCPPose"))
        angle = Rotation.from_matrix(T[:3, :3].T @ motion.pose[:3, :3]).magnitude()
        return bool(np.linalg.norm(T[:3, 3] - motion.pose[:3, 3]) <= self.config.rtde.position_tolerance
                    and angle <= self.config.rtde.rotation_tolerance)

    def _stop_motion(self, joint: bool) -> None:
        try:
            if joint:
                self._control.stopJ(self.config.rtde.stop_joint_deceleration, False)
            else:
                self._control.stopL(self.config.rtde.stop_linear_deceleration, False)
        except RuntimeError:
            pass   # connection gone: the controller stops the arm when its RTDE watchdog expires
