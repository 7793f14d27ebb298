"""Executes a :class:`~realvlg.geometry.grasps.DexGrasp` on the simulated UR10e + Shadow Hand
(:class:`~realvlg.dexvlg.sim.DexSimWorld`), the closed-loop twin of the ur_rtde executor.

A grasp is the base←palm pose plus 22 finger joints. The hand's *approach* direction is the palm
normal (palm −y). Stages:

1. ``pre_grasp`` — fingers to the *pre-shape* (the grasp's knuckle abductions and thumb rotation,
   ``preshape_fraction`` of its flexions), then a joint move to the palm pose
   ``pregrasp_distance`` back along the approach;
2. ``approach`` — a straight palm line to the grasp pose (IK at ``waypoints`` points);
3. ``grasp`` — fingers to the grasp joints plus ``squeeze`` rad further in the closing direction
   (position servos then press on the object);
4. ``lift`` — the palm straight up by ``lift_height``.

Everything is planned before the robot moves (:meth:`MujocoUR10eExecutor.plan`): a grasp that is
not in the base frame, has finger joints out of range, has no IK solution at a pose of the plan
(unreachable) or would put the robot into the table anywhere along its joint paths (kinematic
checks every ``sweep_step`` rad of the moves from the current joints to the pre-grasp, along the
approach and into the grasp) raises :class:`~realvlg.errors.GraspRefusedError` and nothing moves.

IK: :func:`~realvlg.dexvlg.ur10e.solve_ik` (closed form, the branch nearest the current joints)
through the hand mount :data:`~realvlg.dexvlg.ur10e.TOOL0_T_PALM`, as the ur_rtde executor does; at
the pre-grasp pose, when that branch puts the robot into the table, the nearest branch that does not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from realvlg.dexvlg.sim import DexSimWorld
from realvlg.dexvlg.ur10e import TOOL0_T_PALM, solve_ik
from realvlg.errors import GraspRefusedError
from realvlg.geometry.grasps import DexGrasp
from realvlg.robots.executor import GraspResult
from realvlg.shadow_hand import SHADOW_JOINTS

# Knuckle abductions and the thumb's rotation: set fully in the pre-shape, never squeezed.
_SPREAD = np.array([j.endswith("J3") and j[:2] != "TH" or j.endswith("J4") for j in SHADOW_JOINTS])
_T_PALM_FLANGE = np.linalg.inv(TOOL0_T_PALM)


@dataclass(frozen=True)
class MujocoUR10eConfig:
    pregrasp_distance: float = 0.10  # m back along the approach
    preshape_fraction: float = 0.2
    squeeze: float = 0.5  # rad past the grasp joints (the grip force of the position-servoed fingers)
    lift_height: float = 0.10  # m
    waypoints: int = 8  # IK points on the approach and lift lines
    move_duration: float = 2.5  # s, joint move to the pre-grasp
    approach_duration: float = 1.2
    close_duration: float = 0.8
    lift_duration: float = 1.2
    joint_tolerance: float = 0.05  # rad a grasp joint may exceed the hand's range (then clipped)
    sweep_step: float = 0.05  # rad between the table checks along a planned joint move


@dataclass(frozen=True)
class DexGraspPlan:
    """Joint-space plan of one grasp: arm waypoints (K, 6) per stage and the finger targets."""

    pre_grasp: np.ndarray
    approach: np.ndarray
    lift: np.ndarray
    preshape: np.ndarray
    close: np.ndarray


class MujocoUR10eExecutor:
    """The simulated UR10e + Shadow Hand executor (module docstring)."""

    base_frame = "base"

    def __init__(self, world: DexSimWorld, config: MujocoUR10eConfig = MujocoUR10eConfig()):
        self.world = world
        self.config = config
        self._joint_lo = np.full(len(SHADOW_JOINTS), -np.inf)
        self._joint_hi = np.full(len(SHADOW_JOINTS), np.inf)
        m = world.model
        for k, j in enumerate(SHADOW_JOINTS):
            jid = m.joint("robot0:" + j).id
            self._joint_lo[k], self._joint_hi[k] = m.jnt_range[jid]

    # -- the small executor interface -----------------------------------------------------------
    def connect(self) -> None:
        """Nothing to reach: the world runs in-process."""

    def disconnect(self) -> None:
        """Nothing to release."""

    def current_pose(self) -> np.ndarray:
        """base←palm."""
        return self.world.palm_pose()

    def joint_positions(self) -> np.ndarray:
        """(6,) arm joint angles [rad]."""
        return self.world.arm_q()

    def flange_pose(self) -> np.ndarray:
        """base←tool0."""
        return self.world.flange_pose()

    def home(self) -> None:
        """Open the hand, then move to the observation pose."""
        self.open()
        self.world.move_arm(self.world.observation_q(), self.config.move_duration)

    def open(self) -> None:
        self.world.set_hand(np.zeros(len(SHADOW_JOINTS)), 0.5)

    def is_holding(self) -> bool:
        """Whether some object touches the hand and not the table."""
        return any(hand and not table for hand, table in map(self.world.contacts, self.world.active))

    # -- planning -------------------------------------------------------------------------------
    def plan(self, grasp: DexGrasp) -> DexGraspPlan:
        """The joint-space plan, or :class:`GraspRefusedError` (module docstring)."""
        cfg = self.config
        if grasp.frame != self.base_frame:
            raise GraspRefusedError(f"the executor takes grasps in the {self.base_frame!r} frame, got {grasp.frame!r}")
        j = grasp.joints
        bad = (j < self._joint_lo - cfg.joint_tolerance) | (j > self._joint_hi + cfg.joint_tolerance)
        if bad.any():
            names = [SHADOW_JOINTS[k] for k in np.flatnonzero(bad)]
            raise GraspRefusedError(f"finger joints outside the Shadow Hand's range: {', '.join(names)}")
        close_j = np.clip(j, self._joint_lo, self._joint_hi)
        preshape = np.where(_SPREAD, close_j, cfg.preshape_fraction * close_j)
        direction = np.sign(close_j - preshape) * (~_SPREAD)
        squeeze = np.clip(close_j + cfg.squeeze * direction, self._joint_lo, self._joint_hi)

        T_grasp = grasp.homogeneous()
        approach = -T_grasp[:3, 1]  # the palm normal
        T_pre = T_grasp.copy()
        T_pre[:3, 3] -= cfg.pregrasp_distance * approach
        T_lift = T_grasp.copy()
        T_lift[2, 3] += cfg.lift_height
        q_now = self.world.arm_q()
        q_pre = self._ik(T_pre, q_now, "the pre-grasp pose", preshape)
        approach_q = self._line(T_pre, T_grasp, q_pre, "the approach")
        lift_q = self._line(T_grasp, T_lift, approach_q[-1], "the lift")
        for q0, q1, f0, f1, what in ((q_now, q_pre, self.world.hand_q(), preshape, "on the way to the pre-grasp pose"),
                                     *((a, b, preshape, preshape, "on the approach")
                                       for a, b in zip((q_pre, *approach_q[:-1]), approach_q[:-1])),
                                     (approach_q[-2] if len(approach_q) > 1 else q_pre, approach_q[-1],
                                      preshape, close_j, "at the grasp pose")):
            if self.path_hits_table(q0, q1, f0, f1):
                raise GraspRefusedError(f"the robot would hit the table {what} "
                                        f"(palm at z = {T_grasp[2, 3]:.3f} m, table top {self.world.config.table_top} m)")
        return DexGraspPlan(q_pre[None], approach_q, lift_q, preshape, squeeze)

    def path_hits_table(self, q0: np.ndarray, q1: np.ndarray, fingers0: np.ndarray, fingers1: np.ndarray) -> bool:
        """Whether the straight joint-space move q0 → q1 (the path :meth:`DexSimWorld.move_arm`
        follows, fingers interpolated alongside) touches the table: checked every
        :attr:`MujocoUR10eConfig.sweep_step` rad of the largest joint change, end included."""
        n = max(1, int(np.ceil(np.abs(q1 - q0).max() / self.config.sweep_step)))
        return any(self.world.collides_with_table(q0 + s * (q1 - q0), fingers0 + s * (fingers1 - fingers0))
                   for s in np.linspace(0, 1, n + 1)[1:])

    def _ik(self, T_base_palm: np.ndarray, q_near: np.ndarray, what: str,
            fingers: np.ndarray | None = None) -> np.ndarray:
        """The IK branch nearest ``q_near``; with ``fingers``, the nearest one that keeps the robot
        (hand at ``fingers``) off the table, when the nearest does not."""
        ik = solve_ik(T_base_palm @ _T_PALM_FLANGE, q_near)
        if not ik.reachable:
            p = T_base_palm[:3, 3]
            raise GraspRefusedError(f"{what} is out of the UR10e's reach (palm at {np.round(p, 3).tolist()} m)")
        if fingers is None:
            return ik.q
        # the branches nearest first (ik.q heads the list: solve_ik's choice, by the same measure)
        branches = sorted((q for q in ik.candidates if np.isfinite(q).all()), key=lambda q: np.abs(q - q_near).max())
        return next((q for q in branches if not self.world.collides_with_table(q, fingers)), ik.q)

    def _line(self, T0: np.ndarray, T1: np.ndarray, q0: np.ndarray, what: str) -> np.ndarray:
        """IK along the straight palm line T0 → T1 (same orientation, the translation lerped)."""
        path, q = [], q0
        for s in np.linspace(0, 1, self.config.waypoints + 1)[1:]:
            T = T1.copy()
            T[:3, 3] = (1 - s) * T0[:3, 3] + s * T1[:3, 3]
            q = self._ik(T, q, what)
            if np.abs(q - path[-1] if path else q - q0).max() > 0.5:
                raise GraspRefusedError(f"{what} passes near a singularity (a joint jumps by > 0.5 rad)")
            path.append(q)
        return np.array(path)

    # -- execution ------------------------------------------------------------------------------
    def grasp(self, grasp: DexGrasp) -> GraspResult:
        """Plan (refusals raise, nothing moves), then run the four stages; ``success`` = the hand
        holds an object off the table after the lift."""
        plan = self.plan(grasp)
        cfg, w = self.config, self.world
        timings: dict[str, float] = {}

        def run(stage: str, fn) -> str:
            t = time.perf_counter()
            reason = fn()
            timings[stage] = time.perf_counter() - t
            return reason

        def follow(path: np.ndarray, duration: float, stop_on_table: bool = True) -> str:
            for i, q in enumerate(path):
                last = i == len(path) - 1
                r = w.move_arm(q, duration / len(path), tolerance=0.02 if last else np.inf,
                               settle=0.5 if last else 0.0, stop_on_table_contact=stop_on_table)
                if not r.reached:
                    return r.reason
            return ""

        stages = (
            ("pre_grasp", lambda: (w.set_hand(plan.preshape, 0.4), follow(plan.pre_grasp, cfg.move_duration))[1]),
            ("approach", lambda: follow(plan.approach, cfg.approach_duration)),
            ("grasp", lambda: (w.set_hand(plan.close, cfg.close_duration), w.step(0.3), "")[2]),
            # Holding an object may press the fingers' tips against the table at lift-off.
            ("lift", lambda: follow(plan.lift, cfg.lift_duration, stop_on_table=False)),
        )
        for stage, fn in stages:
            reason = run(stage, fn)
            if reason:
                return GraspResult(False, f"{stage}: {reason}", stage, timings=timings)
        holding = self.is_holding()
        return GraspResult(holding, "" if holding else "nothing held after the lift", "done", timings=timings)
