"""The grasp stages of the UR10e + Shadow Hand, one implementation for the real robot and its
MuJoCo twin: :func:`plan_grasp` decides everything before the robot moves, :func:`run_grasp` runs
the plan on a :class:`Backend` — ur_rtde + the Shadow Robot driver
(:class:`~realvlg.robots.ur10e_shadow.rtde.RTDEBackend`) or the simulated world
(:class:`~realvlg.sim.ur10e_shadow_world.SimBackend`). The backends differ only in how they move.

A grasp (:class:`~realvlg.geometry.grasps.DexGrasp`) is the base←palm pose and 22 finger joints;
the hand's approach is the palm normal (:data:`~realvlg.frames.PALM_NORMAL`). Stages
(:class:`~realvlg.robots.ur10e_shadow.config_ur10e_shadow.UR10eShadowConfig` names each value):

1. ``pre_grasp`` — fingers to the *pre-shape* (the grasp's abductions and thumb rotation,
   ``preshape_fraction`` of its flexions), then a joint move to the palm ``pre_grasp_offset`` back
   along the approach. A *pinch* — a grasp whose thumb aperture (thumb pad to the midpoint of the
   index and middle pads, :meth:`~realvlg.robots.ur10e_shadow.model.TableCollision.thumb_aperture`)
   is below ``pinch_aperture`` — pre-shapes the thumb fully: it is the anvil the fingers close
   onto. Swung in from the open pre-shape, a thumb at a small aperture crosses the object and
   pushes a thin one away; at a wide aperture it wraps around from outside, where an already
   closed thumb would hit the object on the approach (docs/dexvlg-data.md, "The executor's
   pinch");
2. ``approach`` — a straight palm line to the grasp (IK at ``waypoints`` points);
3. ``grasp`` — fingers to the grasp joints plus ``squeeze`` rad further in the closing direction
   (position-servoed fingers then press on the object), ``close_settle`` s to settle. A pinch's
   thumb holds still and its fingers squeeze ``pinch_squeeze``: pressed harder, fingertips flick a
   thin object out sideways;
4. ``lift`` — the palm straight up by ``lift_height``.

Planning refuses (:class:`~realvlg.errors.GraspRefusedError`, nothing moves) a grasp that is not
in the base frame, has finger joints outside the hand's range by more than ``finger_tolerance``,
has no IK solution within the joint limits at a pose of the plan, passes near a singularity (a
joint jumps more than ``max_joint_jump`` between waypoints), puts the flange or the palm outside
the workspace box, or would put the robot into the table anywhere along its joint paths
(:class:`~realvlg.robots.ur10e_shadow.model.TableCollision`, every ``sweep_step`` rad from the
current joints to the pre-grasp, along the approach and into the grasp).

IK: :func:`~realvlg.robots.ur10e_shadow.kinematics.solve_ik` through the hand mount ``tool0_T_palm``,
the branch nearest the previous configuration; at the pre-grasp, when that branch puts the robot
into the table, the nearest branch that does not.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field

import numpy as np

from realvlg.errors import GraspRefusedError, UnreachableError
from realvlg.frames import PALM_NORMAL
from realvlg.geometry.grasps import DexGrasp
from realvlg.robots.executor import GraspResult
from realvlg.robots.ur10e_shadow.config_ur10e_shadow import UR10eShadowConfig
from realvlg.robots.ur10e_shadow.kinematics import forward_kinematics, solve_ik
from realvlg.robots.ur10e_shadow.model import TableCollision
from realvlg.shadow_hand import JOINT_LOWER, JOINT_UPPER, SHADOW_JOINTS, SPREAD_JOINTS, THUMB_JOINTS

STAGES = ("pre_grasp", "approach", "grasp", "lift")


class Backend(abc.ABC):
    """What the stages need below them. Motions return ``""`` when they reached their target and
    the reason when they did not (blocked, hit the table); a lost connection or a safety stop
    raises (:class:`~realvlg.robots.executor.RobotConnectionError` and its kin)."""

    def connect(self) -> None:
        """Reach the arm and the hand (nothing to do in-process)."""

    def disconnect(self) -> None:
        """Release them (idempotent)."""

    def reconnect(self) -> None:
        """Reach them again after a fault or a lost connection."""
        self.disconnect()
        self.connect()

    def fault(self) -> str:
        """Why no motion may be commanded now, ``""`` when it may (:meth:`Executor.fault`)."""
        return ""

    @abc.abstractmethod
    def arm_q(self) -> np.ndarray:
        """(6,) measured arm joints [rad]."""

    @abc.abstractmethod
    def hand_q(self) -> np.ndarray | None:
        """(22,) measured finger joints (SHADOW_JOINTS order), None where not measured."""

    @abc.abstractmethod
    def move_joints(self, path: np.ndarray, duration: float) -> str:
        """Through the joint waypoints ``path`` (K, 6) in joint space, ``duration`` s in all."""

    @abc.abstractmethod
    def move_line(self, path: np.ndarray, flange_target: np.ndarray, duration: float, stop_on_table: bool) -> str:
        """Along a straight flange line to ``flange_target`` (base←tool0 4x4) whose IK waypoints
        are ``path`` (K, 6); ``stop_on_table`` False lets a held object press on the table."""

    @abc.abstractmethod
    def set_hand(self, fingers: np.ndarray, duration: float) -> None:
        """Fingers to ``fingers`` (22,) over ``duration`` s; returns when the time has passed."""

    @abc.abstractmethod
    def wait(self, seconds: float) -> None:
        """Hold still for ``seconds``."""

    @abc.abstractmethod
    def holding(self) -> bool | None:
        """Whether the hand holds an object off the table; None where the hand cannot tell."""


@dataclass(frozen=True)
class GraspPlan:
    """The joint-space plan of one grasp: arm waypoints (K, 6) per stage, the finger targets and
    the flange poses (base←tool0) the straight lines end at."""

    pre_grasp: np.ndarray
    approach: np.ndarray
    lift: np.ndarray
    preshape: np.ndarray
    close: np.ndarray
    flange: dict[str, np.ndarray] = field(default_factory=dict)


def finger_targets(grasp: DexGrasp, config: UR10eShadowConfig, pinch: bool) -> tuple[np.ndarray, np.ndarray]:
    """(pre-shape, squeezed close) finger targets of a grasp (``pinch``: the thumb pre-shaped
    fully, module docstring); refuses joints outside the hand's range by more than
    ``finger_tolerance`` and clips smaller excesses."""
    j = grasp.joints
    tol = config.finger_tolerance
    bad = (j < JOINT_LOWER - tol) | (j > JOINT_UPPER + tol)
    if bad.any():
        listed = ", ".join(f"{SHADOW_JOINTS[k]} = {j[k]:.3f} not in [{JOINT_LOWER[k]:.3f}, {JOINT_UPPER[k]:.3f}]"
                           for k in np.flatnonzero(bad))
        raise GraspRefusedError(f"finger joints outside the Shadow Hand's range: {listed} (rad)")
    close = np.clip(j, JOINT_LOWER, JOINT_UPPER)
    preshape = np.where(SPREAD_JOINTS | (pinch & THUMB_JOINTS), close, config.preshape_fraction * close)
    squeeze = config.pinch_squeeze if pinch else config.squeeze
    squeezed = np.clip(close + squeeze * np.sign(close - preshape) * ~SPREAD_JOINTS, JOINT_LOWER, JOINT_UPPER)
    return preshape, squeezed


class GraspPlanner:
    """:meth:`plan`: a :class:`GraspPlan` for a grasp from the arm's current joints, or
    :class:`GraspRefusedError` (module docstring)."""

    def __init__(self, config: UR10eShadowConfig, collision: TableCollision | None = None):
        self.config = config
        self.collision = collision or TableCollision(config.table_top, config.table_extent)
        self.tool0_T_palm = np.asarray(config.tool0_T_palm, dtype=float)
        self._palm_T_tool0 = np.linalg.inv(self.tool0_T_palm)
        self._limits = {"q_min": np.asarray(config.q_min), "q_max": np.asarray(config.q_max)}

    def plan(self, grasp: DexGrasp, q_now: np.ndarray, fingers_now: np.ndarray | None = None) -> GraspPlan:
        """``fingers_now``: the measured fingers (None: not measured; the hand takes the pre-shape
        before the arm moves)."""
        cfg = self.config
        grasp_fingers = np.clip(grasp.joints, JOINT_LOWER, JOINT_UPPER)
        preshape, close = finger_targets(grasp, cfg, self.is_pinch(grasp_fingers))
        fingers_now = preshape if fingers_now is None else fingers_now
        T_grasp = grasp.homogeneous()
        T_pre = T_grasp.copy()
        T_pre[:3, 3] -= cfg.pre_grasp_offset * (T_grasp[:3, :3] @ PALM_NORMAL)
        T_lift = T_grasp.copy()
        T_lift[2, 3] += cfg.lift_height
        for what, T in (("pre-grasp", T_pre), ("grasp", T_grasp), ("lift", T_lift)):
            cfg.workspace.check((T @ self._palm_T_tool0)[:3, 3], f"{what}: flange position")
            cfg.workspace.check(T[:3, 3], f"{what}: palm position")
        q_pre = self._ik(T_pre, q_now, "the pre-grasp pose", preshape)
        approach = self._line(T_pre, T_grasp, q_pre, "the approach")
        lift = self._line(T_grasp, T_lift, approach[-1], "the lift")
        moves = [(q_now, q_pre, fingers_now, preshape, "on the way to the pre-grasp pose"),
                 *((a, b, preshape, preshape, "on the approach") for a, b in zip((q_pre, *approach[:-1]), approach[:-1])),
                 (approach[-2] if len(approach) > 1 else q_pre, approach[-1], preshape, grasp_fingers,
                  "at the grasp pose")]
        for q0, q1, f0, f1, what in moves:
            if self.collision.path_collides(q0, q1, f0, f1, cfg.sweep_step):
                raise GraspRefusedError(f"the robot would hit the table {what} (palm at z = {T_grasp[2, 3]:.3f} m, "
                                        f"table top {cfg.table_top} m)")
        flange = {stage: T @ self._palm_T_tool0 for stage, T in (("approach", T_grasp), ("lift", T_lift))}
        return GraspPlan(q_pre[None], approach, lift, preshape, close, flange)

    def is_pinch(self, fingers: np.ndarray) -> bool:
        """Whether the finger joints ``fingers`` (22,) close a pinch (module docstring)."""
        return self.collision.thumb_aperture(fingers) < self.config.pinch_aperture

    def _ik(self, T_base_palm: np.ndarray, q_near: np.ndarray, what: str, fingers: np.ndarray | None = None):
        """The IK branch nearest ``q_near``; with ``fingers``, the nearest one that keeps the robot
        (hand at ``fingers``) off the table, when the nearest does not."""
        ik = solve_ik(T_base_palm @ self._palm_T_tool0, q_near, **self._limits)
        if not ik.reachable:
            p = T_base_palm[:3, 3]
            raise UnreachableError(f"{what} is out of the UR10e's reach (palm at {np.round(p, 3).tolist()} m)")
        if fingers is None:
            return ik.q
        branches = sorted((q for q in ik.candidates if np.isfinite(q).all()), key=lambda q: np.abs(q - q_near).max())
        return next((q for q in branches if not self.collision.collides(q, fingers)), ik.q)

    def _line(self, T0: np.ndarray, T1: np.ndarray, q0: np.ndarray, what: str) -> np.ndarray:
        """IK along the straight palm line T0 → T1 (same orientation, the translation lerped)."""
        path, q = [], q0
        for s in np.linspace(0, 1, int(self.config.waypoints) + 1)[1:]:
            T = T1.copy()
            T[:3, 3] = (1 - s) * T0[:3, 3] + s * T1[:3, 3]
            previous = q
            q = self._ik(T, q, what)
            if np.abs(q - previous).max() > self.config.max_joint_jump:
                raise GraspRefusedError(f"{what} passes near a singularity (a joint jumps by "
                                        f"> {self.config.max_joint_jump} rad)")
            path.append(q)
        return np.array(path)

    def palm_pose(self, q: np.ndarray) -> np.ndarray:
        """base←palm at arm joints ``q``."""
        return forward_kinematics(np.asarray(q, dtype=float)) @ self.tool0_T_palm


def run_grasp(plan: GraspPlan, backend: Backend, config: UR10eShadowConfig) -> GraspResult:
    """The four stages of ``plan`` on ``backend``; the first stage that does not reach its target
    ends the grasp with its reason. ``success`` = the hand holds the object after the lift (or,
    where the hand cannot tell, the sequence ran: ``holding`` None)."""
    timings: dict[str, float] = {}
    steps = {
        "pre_grasp": lambda: (backend.set_hand(plan.preshape, config.preshape_duration),
                              backend.move_joints(plan.pre_grasp, config.move_duration))[1],
        "approach": lambda: backend.move_line(plan.approach, plan.flange["approach"], config.approach_duration, True),
        "grasp": lambda: (backend.set_hand(plan.close, config.close_duration), backend.wait(config.close_settle), "")[2],
        # a held object may press the fingertips on the table at lift-off
        "lift": lambda: backend.move_line(plan.lift, plan.flange["lift"], config.lift_duration, False),
    }
    for stage in STAGES:
        t = time.perf_counter()
        reason = steps[stage]()
        timings[stage] = time.perf_counter() - t
        if reason:
            return GraspResult(False, f"{stage}: {reason}", stage, timings=timings)
    holding = backend.holding()
    if holding is False:
        return GraspResult(False, "nothing held after the lift", "check", timings=timings, holding=False)
    return GraspResult(True, "", "done", timings=timings, holding=holding)
