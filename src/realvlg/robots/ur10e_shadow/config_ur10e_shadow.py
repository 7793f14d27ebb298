"""Parameters of the UR10e + Shadow Hand executor, simulated or real (SI units: metres, radians,
seconds, m/s, rad/s). One config for both backends: the grasp stages read the top-level fields,
the ur_rtde backend also :class:`RTDEConfig`, the Shadow Robot driver publisher
:class:`~realvlg.robots.ur10e_shadow.hand.ShadowHandConfig`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.frames import LIFT_HEIGHT, PRE_GRASP_DISTANCE, TOOL0_T_PALM, UR_BASE_FRAME
from realvlg.robots.limits import WorkspaceBox
from realvlg.robots.ur10e_shadow.hand import ShadowHandConfig
from realvlg.robots.ur10e_shadow.kinematics import UR10E_Q_MAX, UR10E_Q_MIN

UR10E_OBSERVATION_Q = (0.612, -0.9188, -2.6197, -1.8597, -1.1524, -0.4607)
"""The default home: the wrist camera 0.6 m from a table point 0.86 m in front of the base, looking
down 45° (the simulated workcell's observation pose; a lab sets its own)."""


def _positive(owner: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(owner, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise InvalidInputError(f"{type(owner).__name__}.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class RTDEConfig:
    """The ur_rtde connection and its motion limits. ``joint_speed`` / ``joint_acceleration``
    (moveJ, leading axis) and ``linear_speed`` / ``linear_acceleration`` (moveL, tool) are the
    defaults; ``max_*`` clamp what a call asks for. A motion is *reached* when the arm is steady
    with every joint within ``joint_tolerance`` (moveJ), or the flange within
    ``position_tolerance`` and ``rotation_tolerance`` (moveL), at most ``settle_time`` after it
    stops; one that takes longer than ``motion_timeout`` is stopped."""

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
    connect_timeout: float = 10.0              # longest connect() waits for the controller [s]
    motion_timeout: float = 30.0               # longest a single motion may take [s]
    settle_time: float = 1.0                   # a steady robot may take this long to report the target [s]
    poll_period: float = 0.01
    joint_tolerance: float = 0.005
    position_tolerance: float = 0.002
    rotation_tolerance: float = 0.01

    def __post_init__(self) -> None:
        _positive(self, ("frequency", "joint_speed", "joint_acceleration", "linear_speed", "linear_acceleration",
                         "max_joint_speed", "max_joint_acceleration", "max_linear_speed", "max_linear_acceleration",
                         "stop_joint_deceleration", "stop_linear_deceleration", "connect_timeout", "motion_timeout",
                         "settle_time", "poll_period", "joint_tolerance", "position_tolerance", "rotation_tolerance"))


@dataclass(frozen=True)
class UR10eShadowConfig:
    """The grasp stages (:mod:`realvlg.robots.ur10e_shadow.stages`) and the arm's limits.

    ``base_frame``: the frame grasps must be in (the controller's base). ``workspace``: the box the
    flange and the palm stay in at the pre-grasp, the grasp and the lift (the default keeps both
    above a table at the robot base's height). ``table_top`` / ``table_extent`` (x_min, x_max,
    y_min, y_max in the base frame): the table the joint paths are swept against. The stages:
    pre-shape (``preshape_fraction`` of the grasp's flexions, abductions fully; the thumb fully
    too in a pinch, a grasp whose thumb aperture is below ``pinch_aperture``), a joint move to
    the palm ``pre_grasp_offset`` back along its normal (``move_duration``), a straight palm line
    to the grasp (``approach_duration``, IK every ``1/waypoints`` of it), closing to the grasp
    joints plus ``squeeze`` rad (``pinch_squeeze`` in a pinch, whose thumb stays;
    ``close_duration``, then ``close_settle``), a straight lift of ``lift_height``
    (``lift_duration``). Finger targets outside the hand's range by more than
    ``finger_tolerance`` are refused, smaller excesses clipped; joint paths are checked against
    the table every ``sweep_step`` rad of the largest joint change; a planned line whose IK jumps
    more than ``max_joint_jump`` between waypoints passes near a singularity and is refused."""

    base_frame: str = UR_BASE_FRAME
    q_min: tuple[float, ...] = tuple(UR10E_Q_MIN)
    q_max: tuple[float, ...] = tuple(UR10E_Q_MAX)
    home_q: tuple[float, ...] = UR10E_OBSERVATION_Q
    tool0_T_palm: tuple = tuple(map(tuple, TOOL0_T_PALM))
    workspace: WorkspaceBox = WorkspaceBox(x=(-1.3, 1.3), y=(-1.3, 1.3), z=(0.02, 1.5))
    table_top: float = 0.0
    table_extent: tuple[float, float, float, float] = (0.3, 1.3, -0.7, 0.7)
    pre_grasp_offset: float = PRE_GRASP_DISTANCE
    lift_height: float = LIFT_HEIGHT
    preshape_fraction: float = 0.2
    pinch_aperture: float = 0.06               # [m] thumb pad ↔ index/middle pads; below: a pinch
    squeeze: float = 0.5                       # rad past the grasp joints: the grip of position-servoed fingers
    pinch_squeeze: float = 0.25                # ... in a pinch (fingertips on a thin object)
    finger_tolerance: float = 0.05
    waypoints: int = 8
    max_joint_jump: float = 0.5
    sweep_step: float = 0.05
    move_duration: float = 2.5
    approach_duration: float = 1.2
    preshape_duration: float = 0.4
    close_duration: float = 0.8
    close_settle: float = 0.3
    lift_duration: float = 1.2
    open_duration: float = 0.5
    rtde: RTDEConfig = field(default_factory=RTDEConfig)
    hand: ShadowHandConfig = field(default_factory=lambda: ShadowHandConfig(include_wrist=False))

    def __post_init__(self) -> None:
        _positive(self, ("pre_grasp_offset", "lift_height", "pinch_aperture", "sweep_step", "max_joint_jump",
                         "move_duration", "approach_duration", "lift_duration"))
        for name in ("q_min", "q_max", "home_q"):
            if len(getattr(self, name)) != 6:
                raise InvalidInputError(f"UR10eShadowConfig.{name} needs 6 joint values")
        if np.asarray(self.tool0_T_palm).shape != (4, 4):
            raise InvalidInputError("UR10eShadowConfig.tool0_T_palm must be a 4x4 transform")
        if not (0 <= self.preshape_fraction <= 1 and self.squeeze >= 0 and self.pinch_squeeze >= 0
                and self.finger_tolerance >= 0
                and self.close_duration >= 0 and self.close_settle >= 0 and self.preshape_duration >= 0
                and self.open_duration >= 0 and int(self.waypoints) >= 1):
            raise InvalidInputError("UR10eShadowConfig: preshape_fraction in [0, 1]; the squeezes, finger_tolerance "
                                    "and the hand durations ≥ 0; waypoints ≥ 1")
