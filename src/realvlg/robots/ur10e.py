"""Universal Robots UR10e arm executor over ur_rtde (``rtde_control`` / ``rtde_receive``).

Interface. :class:`UR10eArm` is the small interface of the real DexVLG arm: ``connect`` /
``disconnect``, ``joint_positions`` (6,) rad, ``flange_pose`` base←tool0 4x4, ``move_joints``
(moveJ), ``move_linear`` (moveL of tool0), ``stop``, and :meth:`UR10eArm.execute_grasp`, a Shadow
Hand grasp in the stages of the MuJoCo twin (``realvlg.dexvlg.sim_executor``: pre-grasp,
approach, grasp, lift) with the hand's targets handed to a callable (the ROS publisher of
:mod:`realvlg.ros.nodes.shadow_hand_node` on the robot). Frames: the UR controller's base (the DH
base of :mod:`realvlg.dexvlg.ur10e`) and tool0 (the flange): the executor sets the controller's
TCP offset to zero at connect, so a moveL pose *is* a tool0 pose. Metres, radians, m/s, rad/s.

Checks before any command (:class:`~realvlg.errors.GraspRefusedError`, nothing is sent): finite
targets, joint targets within ``q_min``/``q_max``, flange **and palm** positions (through the
hand mount ``tool0_T_palm``) inside the workspace box, linear targets with an IK solution, every
target of a sequence before its first motion. Speeds and accelerations above the configured
maxima are clamped to them (the value sent is the maximum); non-positive or non-finite ones are
refused.

Motions run asynchronously (``moveJ(q, speed, acceleration, True)``) and are watched every
``poll_period`` s until the robot is steady at the target: the receive interface's safety status
bits (protective stop, safeguard stop, emergency stops, violation, fault), ``isConnected`` of
both interfaces and ``isProgramRunning`` (the control script). A safety stop raises
:class:`RobotSafetyStopError`, a lost connection or a dead control script
:class:`~realvlg.robots.executor.RobotConnectionError`, a motion that does not end within
``motion_timeout`` is stopped (``stopJ`` / ``stopL``) and raises the latter too. After any of
these the executor is *faulted*: every later motion is refused until :meth:`UR10eExecutor.reconnect`
succeeds with the controller in normal mode (a protective stop is cleared on the teach pendant or
through the dashboard server, by a person).

An unreachable controller at :meth:`~UR10eExecutor.connect` (refused, or silent for
``connect_timeout`` s) raises :class:`~realvlg.robots.executor.RobotUnreachableError` with the
host. No RTDE controller simulator exists on these machines: the tests drive this module at its
command layer, through a recording stand-in of the two ur_rtde interfaces injected with
``interfaces=`` (the default factory builds the real ones; only its refusal of an unreachable
host runs for real).
"""

from __future__ import annotations

import abc
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.dexvlg.ur10e import (
    PALM_NORMAL,
    TOOL0_T_PALM,
    UR10E_Q_MAX,
    UR10E_Q_MIN,
    forward_kinematics,
    solve_ik,
)
from realvlg.errors import GraspRefusedError, InvalidInputError, RealVLGError
from realvlg.geometry.grasps import DexGrasp
from realvlg.robots.executor import RobotConnectionError, RobotUnreachableError
from realvlg.robots.limits import WorkspaceBox
from realvlg.robots.shadow_hand import ShadowHandCommander, ShadowHandConfig
from realvlg.shadow_hand import SHADOW_JOINTS

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
# Knuckle abductions, the little finger's metacarpal and the thumb's rotation: fully set in the
# pre-shape, never squeezed (the same split as realvlg.dexvlg.sim_executor).
SPREAD_JOINTS = np.array([(j.endswith("J3") and not j.startswith("TH")) or j.endswith("J4") for j in SHADOW_JOINTS])
UR10E_HOME_Q = (0.0, -math.pi / 2, math.pi / 2, -math.pi / 2, -math.pi / 2, 0.0)


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
class UR10eConfig:
    """Parameters of :class:`UR10eExecutor` (SI units; the module docstring says how each is used).

    ``joint_speed`` / ``joint_acceleration`` (moveJ, leading axis) and ``linear_speed`` /
    ``linear_acceleration`` (moveL, tool) are the defaults; ``max_*`` clamp what a call asks for.
    ``workspace``: the box (controller base frame) that the flange and the palm must stay in; the
    default keeps both above a table at the height of the robot's base (z = 0). The grasp fields
    (``pre_grasp_offset`` … ``finger_tolerance``) are those of :meth:`UR10eArm.execute_grasp`."""

    host: str = "192.168.1.10"
    frequency: float = 500.0                   # RTDE rate [Hz]; e-series controllers run 500 Hz
    joint_speed: float = 0.5
    joint_acceleration: float = 1.0
    linear_speed: float = 0.1
    linear_acceleration: float = 0.5
    max_joint_speed: float = 1.05
    max_joint_acceleration: float = 1.4
    max_linear_speed: float = 0.25
    max_linear_acceleration: float = 1.2
    stop_joint_deceleration: float = 2.0       # stopJ [rad/s²]
    stop_linear_deceleration: float = 10.0     # stopL [m/s²]
    q_min: tuple[float, ...] = tuple(UR10E_Q_MIN)
    q_max: tuple[float, ...] = tuple(UR10E_Q_MAX)
    workspace: WorkspaceBox = WorkspaceBox(x=(-1.3, 1.3), y=(-1.3, 1.3), z=(0.02, 1.5))
    tool0_T_palm: tuple = tuple(map(tuple, TOOL0_T_PALM))
    home_q: tuple[float, ...] = UR10E_HOME_Q
    base_frame: str = "base"                   # the frame grasps must be in (the controller's base)
    pre_grasp_offset: float = 0.10
    lift_height: float = 0.10
    preshape_fraction: float = 0.2             # of the grasp's flexions before the approach
    squeeze: float = 0.2                       # rad past the grasp's flexions when closing
    close_wait: float = 1.5                    # s for the hand to close before the lift
    finger_tolerance: float = 0.05             # rad a finger target may exceed its range (then clipped)
    connect_timeout: float = 10.0              # longest connect() waits for the controller [s]
    motion_timeout: float = 30.0               # longest a single motion may take [s]
    settle_time: float = 1.0                   # a steady robot may take this long to report the target [s]
    poll_period: float = 0.01
    joint_tolerance: float = 0.005             # reached: every joint within this [rad] ...
    position_tolerance: float = 0.002          # ... or the flange within this [m] (moveL)
    rotation_tolerance: float = 0.01           # ... and turned less than this [rad] from it

    def __post_init__(self) -> None:
        for name in ("frequency", "joint_speed", "joint_acceleration", "linear_speed", "linear_acceleration",
                     "max_joint_speed", "max_joint_acceleration", "max_linear_speed", "max_linear_acceleration",
                     "stop_joint_deceleration", "stop_linear_deceleration", "connect_timeout", "motion_timeout",
                     "settle_time", "poll_period", "joint_tolerance", "position_tolerance", "rotation_tolerance",
                     "pre_grasp_offset", "lift_height"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InvalidInputError(f"UR10eConfig.{name} must be a positive number, got {value!r}")
        for name in ("q_min", "q_max", "home_q"):
            if len(getattr(self, name)) != 6:
                raise InvalidInputError(f"UR10eConfig.{name} needs 6 joint values")
        if np.asarray(self.tool0_T_palm).shape != (4, 4):
            raise InvalidInputError("UR10eConfig.tool0_T_palm must be a 4x4 transform")
        if not (0 <= self.preshape_fraction <= 1 and self.squeeze >= 0 and self.close_wait >= 0
                and self.finger_tolerance >= 0):
            raise InvalidInputError("UR10eConfig: preshape_fraction in [0, 1]; squeeze, close_wait, "
                                    "finger_tolerance ≥ 0")


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


@dataclass
class GraspMotion:
    """What :meth:`UR10eArm.execute_grasp` did: the arm's joint solutions, the finger targets it
    sent and the wall time [s] of each stage (``pre_grasp``, ``approach``, ``grasp``, ``lift``).
    The arm cannot tell whether the hand holds the object: that check belongs to the hand (its
    joint states or tactile sensors) or the simulator."""

    q_pre_grasp: np.ndarray
    q_grasp: np.ndarray
    preshape: np.ndarray
    squeezed: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


class UR10eArm(abc.ABC):
    """The DexVLG arm interface (module docstring); subclasses implement the primitives."""

    config: UR10eConfig

    @abc.abstractmethod
    def connect(self) -> None:
        """Reach the controller; :class:`RobotUnreachableError` if it does not answer."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Release the connection (idempotent)."""

    @abc.abstractmethod
    def joint_positions(self) -> np.ndarray:
        """(6,) measured joint angles [rad]."""

    @abc.abstractmethod
    def flange_pose(self) -> np.ndarray:
        """base←tool0 4x4 as measured."""

    @abc.abstractmethod
    def _run(self, motion: JointMove | LinearMove) -> None:
        """Execute one motion whose checks have passed; raise on any failure."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Decelerate to a standstill now."""

    # -- checks (shared) -------------------------------------------------------------------------
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
            speed = _limited(motion.speed, cfg.joint_speed, cfg.max_joint_speed, "joint speed")
            acc = _limited(motion.acceleration, cfg.joint_acceleration, cfg.max_joint_acceleration,
                           "joint acceleration")
            return JointMove(tuple(q.tolist()), speed, acc)
        if isinstance(motion, LinearMove):
            T = np.asarray(motion.pose, dtype=float)
            if T.shape != (4, 4) or not np.isfinite(T).all():
                raise GraspRefusedError("a UR10e linear target is a finite 4x4 pose")
            self._check_workspace(T, "linear target")
            if not solve_ik(T, q_min=np.asarray(cfg.q_min), q_max=np.asarray(cfg.q_max)).reachable:
                raise GraspRefusedError(f"linear target at {np.round(T[:3, 3], 3).tolist()} has no UR10e IK "
                                        "solution within the joint limits")
            speed = _limited(motion.speed, cfg.linear_speed, cfg.max_linear_speed, "linear speed")
            acc = _limited(motion.acceleration, cfg.linear_acceleration, cfg.max_linear_acceleration,
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

    def move_joints(self, q, speed: float | None = None, acceleration: float | None = None) -> None:
        self.run([JointMove(tuple(np.asarray(q, dtype=float).reshape(-1).tolist()), speed, acceleration)])

    def move_linear(self, T_base_tool0, speed: float | None = None, acceleration: float | None = None) -> None:
        self.run([LinearMove(np.asarray(T_base_tool0, dtype=float), speed, acceleration)])

    def home(self) -> None:
        self.move_joints(self.config.home_q)

    def execute_grasp(self, grasp: DexGrasp, send_hand: Callable[[np.ndarray], None]) -> GraspMotion:
        """Run a Shadow Hand grasp (palm pose in the controller base frame ``config.base_frame``),
        the stages of the MuJoCo twin (``realvlg.dexvlg.sim_executor``):

        1. ``pre_grasp``: ``send_hand(preshape)`` (the grasp's abductions and thumb rotation,
           ``preshape_fraction`` of its flexions), moveJ to the palm ``pre_grasp_offset`` back from
           its grasping side;
        2. ``approach``: moveL to the grasp;
        3. ``grasp``: ``send_hand(grasp joints + squeeze)`` (``squeeze`` rad further along the
           closing direction, within the limits), then ``close_wait`` s for the hand;
        4. ``lift``: moveL ``lift_height`` straight up.

        ``send_hand`` takes 22 finger angles (SHADOW_JOINTS order), e.g. a
        ``ShadowHandPublisher.command``. Frame, finger limits, IK of all three poses and every arm
        check run before the first command; a failure at any stage raises and nothing after it runs."""
        cfg = self.config
        if grasp.frame != cfg.base_frame:
            raise GraspRefusedError(f"grasp is in frame {grasp.frame!r}, the UR10e needs {cfg.base_frame!r}")
        hand = ShadowHandCommander(ShadowHandConfig(include_wrist=False, limit_tolerance=cfg.finger_tolerance))
        close = hand.checked(grasp.joints, "grasp joints")
        preshape = np.where(SPREAD_JOINTS, close, cfg.preshape_fraction * close)
        squeezed = np.clip(close + cfg.squeeze * np.sign(close - preshape) * ~SPREAD_JOINTS, hand.lower, hand.upper)

        T_palm = grasp.homogeneous()
        palm_T_tool0 = np.linalg.inv(np.asarray(cfg.tool0_T_palm, dtype=float))
        T_pre = T_palm.copy()
        T_pre[:3, 3] -= cfg.pre_grasp_offset * (T_palm[:3, :3] @ PALM_NORMAL)
        T_lift = T_palm.copy()
        T_lift[2, 3] += cfg.lift_height
        limits = {"q_min": np.asarray(cfg.q_min), "q_max": np.asarray(cfg.q_max)}
        pre = solve_ik(T_pre @ palm_T_tool0, self.joint_positions(), **limits)
        if not pre.reachable:
            raise GraspRefusedError("the pre-grasp has no UR10e IK solution within the joint limits")
        at_grasp = solve_ik(T_palm @ palm_T_tool0, pre.q, **limits)
        if not at_grasp.reachable:
            raise GraspRefusedError("the grasp has no UR10e IK solution within the joint limits")
        to_pre = self.checked(JointMove(tuple(pre.q.tolist())))
        approach = self.checked(LinearMove(T_palm @ palm_T_tool0))
        lift = self.checked(LinearMove(T_lift @ palm_T_tool0))

        def close_hand() -> None:
            send_hand(squeezed)
            time.sleep(cfg.close_wait)

        result = GraspMotion(pre.q, at_grasp.q, preshape, squeezed)
        for stage, step in (("pre_grasp", lambda: (send_hand(preshape), self._run(to_pre))),
                            ("approach", lambda: self._run(approach)), ("grasp", close_hand),
                            ("lift", lambda: self._run(lift))):
            t = time.perf_counter()
            step()
            result.timings[stage] = time.perf_counter() - t
        return result

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()


def _limited(value: float | None, default: float, maximum: float, what: str) -> float:
    value = default if value is None else float(value)
    if not (math.isfinite(value) and value > 0):
        raise GraspRefusedError(f"{what} must be a positive number, got {value}")
    return min(value, maximum)


def rtde_interfaces(config: UR10eConfig):
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


class UR10eExecutor(UR10eArm):
    """A UR10e over ur_rtde; ``interfaces(config) -> (control, receive)`` builds the two RTDE
    interfaces (default :func:`rtde_interfaces`)."""

    def __init__(self, config: UR10eConfig = UR10eConfig(),
                 interfaces: Callable[[UR10eConfig], tuple] = rtde_interfaces) -> None:
        self.config = config
        self._interfaces = interfaces
        self._control = None
        self._receive = None
        self._fault = ""

    # -- connection ------------------------------------------------------------------------------
    def connect(self) -> None:
        """Build the interfaces within ``connect_timeout`` (a host that drops packets would keep
        ur_rtde's TCP connect waiting for minutes), zero the TCP offset, check the robot's state."""
        outcome: dict = {}

        def build() -> None:
            try:
                outcome["interfaces"] = self._interfaces(self.config)
            except RuntimeError as exc:   # ur_rtde: "Could not connect to: HOST at PORT, verify the IP"
                outcome["error"] = exc

        worker = threading.Thread(target=build, name="ur-rtde-connect", daemon=True)
        worker.start()
        worker.join(self.config.connect_timeout)
        self._control = self._receive = None
        if worker.is_alive():
            raise RobotUnreachableError(f"the UR controller at {self.config.host} did not answer within "
                                        f"{self.config.connect_timeout:g} s")
        if "error" in outcome:
            raise RobotUnreachableError(f"cannot reach the UR controller at {self.config.host}: "
                                        f"{' '.join(str(outcome['error']).split())}") from outcome["error"]
        self._control, self._receive = outcome["interfaces"]
        try:
            self._control.setTcp([0.0] * 6)   # moveL / getActualTCPPose then speak of tool0
        except RuntimeError as exc:
            self._fail("setTcp failed")
            raise RobotConnectionError(f"the UR controller at {self.config.host} refused setTcp: {exc}") from exc
        self._fault = ""
        self._check_state("connect")

    def reconnect(self) -> None:
        """Drop a fault (a cleared protective stop, a restored network) by connecting anew."""
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
            raise RobotConnectionError("the UR10e executor is not connected (call connect())")
        if motion and self._fault:
            raise RobotConnectionError(f"the UR10e executor stopped after an earlier failure ({self._fault}); "
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

    def _check_state(self, during: str) -> None:
        """Raise (and fault the executor) if the robot is stopped by safety, disconnected or its
        control script has ended."""
        control, receive = self._control, self._receive
        if not (self._call(receive.isConnected, "isConnected") and self._call(control.isConnected, "isConnected")):
            self._fail(f"connection lost during {during}")
            raise RobotConnectionError(f"lost the connection to the UR controller at {self.config.host} during {during}")
        stops = safety_stop_reasons(self._call(receive.getSafetyStatusBits, "getSafetyStatusBits"))
        if self._call(receive.isProtectiveStopped, "isProtectiveStopped") and "protective stop" not in stops:
            stops.insert(0, "protective stop")
        if self._call(receive.isEmergencyStopped, "isEmergencyStopped") and "emergency stop" not in stops:
            stops.append("emergency stop")
        if stops:
            self._fail(f"{', '.join(stops)} during {during}")
            raise RobotSafetyStopError(f"the UR10e is in {', '.join(stops)} (during {during}); clear it on the "
                                       "teach pendant, then reconnect() — no further motion until then")
        if not self._call(control.isProgramRunning, "isProgramRunning"):
            self._fail(f"control script not running during {during}")
            raise RobotConnectionError(f"the RTDE control script is not running on the UR controller "
                                       f"(during {during}); reconnect() uploads it again")

    # -- motion ----------------------------------------------------------------------------------
    def stop(self) -> None:
        control = self._control
        if control is None:
            return
        try:
            control.stopJ(self.config.stop_joint_deceleration, False)
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
                    if time.monotonic() - steady_since > cfg.settle_time:
                        self._fail(f"{what} stopped short of its target")
                        raise RobotConnectionError(f"{what} ended steady but away from its target "
                                                   "(blocked, or stopped by the controller)")
                if time.monotonic() - start > cfg.motion_timeout:
                    self._fail(f"{what} timed out")
                    raise RobotConnectionError(f"{what} did not finish within {cfg.motion_timeout:g} s; "
                                               "the arm was stopped")
            except RealVLGError:
                self._stop_motion(joint)
                raise
            time.sleep(cfg.poll_period)

    def _reached(self, motion: JointMove | LinearMove, receive) -> bool:
        if isinstance(motion, JointMove):
            q = np.asarray(self._call(receive.getActualQ, "getActualQ"), dtype=float)
            return bool(np.abs(q - np.asarray(motion.q)).max() <= self.config.joint_tolerance)
        T = pose_from_rtde(self._call(receive.getActualTCPPose, "getActualTCPPose"))
        angle = Rotation.from_matrix(T[:3, :3].T @ motion.pose[:3, :3]).magnitude()
        return bool(np.linalg.norm(T[:3, 3] - motion.pose[:3, 3]) <= self.config.position_tolerance
                    and angle <= self.config.rotation_tolerance)

    def _stop_motion(self, joint: bool) -> None:
        try:
            if joint:
                self._control.stopJ(self.config.stop_joint_deceleration, False)
            else:
                self._control.stopL(self.config.stop_linear_deceleration, False)
        except RuntimeError:
            pass   # connection gone: the controller stops the arm when its RTDE watchdog expires
