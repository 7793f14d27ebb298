"""The RealVLG-R1 grasp planner, ROS-free: instruction + RGB-D frame → 6-DoF parallel-gripper grasp
in the robot base frame, and :class:`Plan`, what every planner of a grasp attempt returns.

``LiftPlanner.plan`` runs the stages *ground → lift → transform* of one ``/grasp`` request (the
attempt, :mod:`realvlg.grasping.attempt`, adds capture, the executor's checks and motion, and the
record):

* strategy ``contact`` / ``rect``: the backend answers a contact pair / rectangle grasp, lifted to
  6-DoF with :func:`realvlg.geometry.lift.lift_grasp` (the paper's fine-grained, part-level path);
* strategy ``bbox`` / ``seg``: the backend answers a box / mask, and the coarse planner
  (:func:`realvlg.planning.planner.plan_coarse`: object cloud → antipodal grasps → approach cone,
  table, workspace and FR3 reachability checks) picks the grasp (the coarse object-level path);
* fallback of ``contact`` / ``rect``: when the 2D grasp cannot be lifted (too little valid depth at
  the contacts) or its 6-DoF grasp fails the executor's checks (``LiftPlannerConfig.coarse.limits``:
  workspace, approach cone, width), the coarse planner grasps the object in the answer's region
  (the rectangle's bounding box, grown by ``fallback_margin`` px) — recorded in ``Plan.notes``;
* strategy ``auto``: the strategies of ``auto_order`` that the backend supports, in order; the next
  one is tried when an answer is unusable (invalid, too little agreement) or its grasp cannot be
  lifted (missing depth, wider than the gripper). An instruction naming nothing in the scene
  (``not_found``) ends the request at once: no other strategy would find it either.

Every failure is a :class:`PlanningError` whose message lists each attempt's reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError, RealVLGError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair, Grasp, Grasp6D, RectGrasp
from realvlg.geometry.lift import LiftConfig, lift_grasp
from realvlg.grounding.backend import Grounding, GroundingBackend, GroundingResult, InvalidReason
from realvlg.observation import RGBDFrame
from realvlg.planning.planner import CoarsePlannerConfig, plan_coarse

STRATEGY_TASK = {"contact": "contact", "rect": "grasp", "seg": "seg", "bbox": "bbox"}
STRATEGIES = ("auto", *STRATEGY_TASK)
AUTO_ORDER = ("contact", "rect", "seg", "bbox")


@dataclass
class Plan:
    """What a planner proposes for one instruction on one frame: ``candidates`` in the robot base
    frame, best first (the attempt executes the first one the executor accepts), the answer they
    came from (``grounding``, for the overlay and the record; None for planners without one), the
    ``target`` in words, ``notes`` on strategies tried or fallen back from, and stage timings."""

    strategy: str
    candidates: list[Grasp]
    grounding: GroundingResult | None = None
    target: str = ""
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class PlanningError(RealVLGError):
    """No grasp could be planned. ``grounding`` is the last answer (for the overlay), ``timings``
    what the stages took, ``not_found``: the instruction names nothing in the scene."""

    def __init__(self, message: str, grounding: GroundingResult | None = None,
                 timings: dict[str, float] | None = None, not_found: bool = False):
        super().__init__(message)
        self.grounding = grounding
        self.timings = timings or {}
        self.not_found = not_found or getattr(grounding, "reason", None) is InvalidReason.NOT_FOUND


@dataclass(frozen=True)
class LiftPlannerConfig:
    lift: LiftConfig = LiftConfig()
    coarse: CoarsePlannerConfig = CoarsePlannerConfig()
    coarse_fallback: bool = True   # contact/rect answers that cannot be used → coarse grasp of their region
    fallback_margin: float = 20.0  # px added around the 2D grasp's bounding box for the fallback region
    auto_order: tuple[str, ...] = AUTO_ORDER
    samples: int = 1               # self-consistency samples per request
    min_agreement: float = 0.0     # answers below this agreement are not used


class LiftPlanner:
    """The RealVLG-R1 planner (see the module docstring): a grounding backend's 2D answer → one
    parallel-gripper grasp in the base frame."""

    name = "lift2d"

    def __init__(self, backend: GroundingBackend, config: LiftPlannerConfig = LiftPlannerConfig()):
        self.backend = backend
        self.config = config

    def strategies_for(self, strategy: str) -> list[str]:
        if strategy in ("", "auto"):
            supported = getattr(self.backend, "tasks", tuple(STRATEGY_TASK.values()))
            order = [s for s in self.config.auto_order if STRATEGY_TASK[s] in supported]
            if not order:
                raise PlanningError(f"the grounding backend '{self.backend.name}' answers none of the tasks "
                                    f"of the auto strategy {self.config.auto_order}")
            return order
        if strategy not in STRATEGY_TASK:
            raise InvalidInputError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
        return [strategy]

    def _coarse(self, frame: RGBDFrame, *, box: BoundingBox | None = None, mask=None) -> Grasp6D:
        return plan_coarse(frame.depth, frame.intrinsics, box=box, mask=mask, depth_scale=1.0,
                           base_from_camera=frame.base_from_camera, config=self.config.coarse, top=1).best

    def _region(self, grasp2d: ContactPair | RectGrasp, frame: RGBDFrame) -> BoundingBox:
        """The 2D grasp's bounding box grown by ``fallback_margin``, clipped to the image."""
        rect = grasp2d.to_rect() if isinstance(grasp2d, ContactPair) else grasp2d
        c = rect.corners()
        m, w, h = self.config.fallback_margin, frame.intrinsics.width, frame.intrinsics.height
        lo = np.clip(c.min(axis=0) - m, 0, [w - 1, h - 1])
        hi = np.clip(c.max(axis=0) + m, 0, [w - 1, h - 1])
        if not (hi > lo).all():
            raise InvalidInputError(f"the {type(grasp2d).__name__} lies outside the image: no region to fall back to")
        return BoundingBox(lo[0], lo[1], hi[0], hi[1])

    def _lift(self, strategy: str, answer: Grounding, frame: RGBDFrame) -> tuple[Grasp6D, str]:
        """The camera-frame grasp for an answer, and the fallback reason ("" without fallback)."""
        cfg = self.config
        if strategy in ("contact", "rect"):
            grasp2d = answer.contact if strategy == "contact" else answer.rect
            try:
                grasp = lift_grasp(grasp2d, frame.depth, frame.intrinsics, cfg.lift, 1.0)
                if cfg.coarse_fallback:
                    cfg.coarse.limits.check(frame.base_from_camera.apply_to_grasp(grasp),
                                            cfg.coarse.pre_grasp_offset, cfg.coarse.lift_height)
                return grasp, ""
            except (DepthError, GraspRefusedError) as exc:
                if not cfg.coarse_fallback:
                    raise
                reason = f"{type(exc).__name__}: {exc}"
            try:
                return self._coarse(frame, box=self._region(grasp2d, frame)), reason
            except RealVLGError as exc:
                raise type(exc)(f"{reason}; coarse fallback: {exc}") from None
        if strategy == "seg" and answer.mask is not None:
            return self._coarse(frame, mask=answer.mask), ""
        return self._coarse(frame, box=answer.box), ""

    def plan(self, frame: RGBDFrame, instruction: str, strategy: str = "auto") -> Plan:
        """One grasp for ``instruction`` on ``frame`` (which needs its camera pose), or
        :class:`PlanningError` listing why each strategy failed."""
        if frame.base_from_camera is None:
            raise InvalidInputError("the frame has no camera pose: the planner needs base←camera")
        timings = {"ground": 0.0, "lift": 0.0, "transform": 0.0}
        attempts: list[str] = []
        last: GroundingResult | None = None
        for name in self.strategies_for(strategy):
            t0 = time.perf_counter()
            answer = self.backend.ground(STRATEGY_TASK[name], frame.color, instruction,
                                         samples=self.config.samples, depth=frame.depth,
                                         intrinsics=frame.intrinsics)
            timings["ground"] += time.perf_counter() - t0
            last = answer
            if not answer.valid:
                attempts.append(f"{name}: {answer.message}")
                if answer.reason is InvalidReason.NOT_FOUND:
                    break
                continue
            if answer.agreement < self.config.min_agreement:
                attempts.append(f"{name}: agreement {answer.agreement:.2f} below {self.config.min_agreement:.2f}")
                continue
            t0 = time.perf_counter()
            try:
                grasp_camera, fallback = self._lift(name, answer, frame)
            except (DepthError, GraspRefusedError, InvalidInputError) as exc:
                attempts.append(f"{name}: {exc}")
                continue
            finally:
                timings["lift"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            grasp_base = frame.base_from_camera.apply_to_grasp(grasp_camera)
            timings["transform"] += time.perf_counter() - t0
            if fallback:
                attempts.append(f"{name}: coarse fallback after {fallback}")
            return Plan(name, [grasp_base], answer, "", attempts, timings)
        raise PlanningError("no grasp for the instruction: " + "; ".join(attempts), last, timings)
