"""The grasp planner, ROS-free: instruction + RGB-D capture → 6-DoF grasp in the robot base frame.

``GraspPlanner.plan`` runs the stages *ground → lift → transform* of one ``/grasp`` request (the
ROS node adds capture, the executor's checks and motion, and recording):

* strategy ``contact`` / ``rect``: the backend answers a contact pair / rectangle grasp, lifted to
  6-DoF with :func:`realvlg.geometry.lift.lift_grasp` (the paper's fine-grained, part-level path);
* strategy ``bbox`` / ``seg``: the backend answers a box / mask, and the coarse planner
  (:func:`realvlg.planning.planner.plan_coarse`: object cloud → antipodal grasps → approach cone,
  table, workspace and FR3 reachability checks) picks the grasp (the coarse object-level path);
* fallback of ``contact`` / ``rect``: when the 2D grasp cannot be lifted (too little valid depth at
  the contacts) or its 6-DoF grasp fails the executor's checks (``PlannerConfig.coarse.limits``:
  workspace, approach cone, width), the coarse planner grasps the object in the answer's region
  (the rectangle's bounding box, grown by ``fallback_margin`` px) — recorded in ``GraspPlan.attempts``
  and ``GraspPlan.fallback``;
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
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair, Grasp6D, RectGrasp
from realvlg.geometry.lift import LiftConfig, lift_grasp
from realvlg.geometry.projection import DEFAULT_DEPTH_SCALE
from realvlg.geometry.transforms import Transform
from realvlg.grounding.backend import Grounding, GroundingBackend, GroundingResult, InvalidReason
from realvlg.planning.planner import CoarsePlannerConfig, plan_coarse

STRATEGY_TASK = {"contact": "contact", "rect": "grasp", "seg": "seg", "bbox": "bbox"}
STRATEGIES = ("auto", *STRATEGY_TASK)
AUTO_ORDER = ("contact", "rect", "seg", "bbox")


@dataclass(frozen=True)
class Capture:
    """One synchronised RGB-D capture and where the camera was.

    ``color`` RGB uint8 (H, W, 3); ``depth`` registered to it, float metres or integer units of
    ``depth_scale`` metres (0 / NaN invalid); ``base_from_camera`` the camera pose in the robot
    base frame at capture time (eye-in-hand: the robot pose then, times the hand-eye calibration).
    """

    color: np.ndarray
    depth: np.ndarray
    intrinsics: CameraIntrinsics
    base_from_camera: Transform
    depth_scale: float = DEFAULT_DEPTH_SCALE
    stamp: float = 0.0
    frame: str = "camera_color_optical_frame"

    def __post_init__(self) -> None:
        h, w = self.intrinsics.height, self.intrinsics.width
        if self.color.shape != (h, w, 3) or self.depth.shape != (h, w):
            raise InvalidInputError(f"colour {self.color.shape} and depth {self.depth.shape} must match the "
                                    f"{w}x{h} intrinsics")
        if self.base_from_camera.child != self.frame:
            raise InvalidInputError(f"camera pose is for '{self.base_from_camera.child}', the image is in "
                                    f"'{self.frame}'")


@dataclass
class GraspPlan:
    """A planned grasp: the answer it came from, the pose in both frames and the stage timings."""

    grounding: Grounding
    strategy: str
    grasp_camera: Grasp6D
    grasp_base: Grasp6D
    timings: dict[str, float]
    attempts: list[str] = field(default_factory=list)
    fallback: str = ""   # why a contact/rect answer was grasped by the coarse planner instead ("" = it was not)


class PlanningError(RealVLGError):
    """No grasp could be planned. ``grounding`` is the last answer (for the overlay), ``timings``
    what the stages took."""

    def __init__(self, message: str, grounding: GroundingResult | None = None,
                 timings: dict[str, float] | None = None):
        super().__init__(message)
        self.grounding = grounding
        self.timings = timings or {}


@dataclass(frozen=True)
class PlannerConfig:
    lift: LiftConfig = LiftConfig()
    coarse: CoarsePlannerConfig = CoarsePlannerConfig()
    coarse_fallback: bool = True   # contact/rect answers that cannot be used → coarse grasp of their region
    fallback_margin: float = 20.0  # px added around the 2D grasp's bounding box for the fallback region
    auto_order: tuple[str, ...] = AUTO_ORDER
    samples: int = 1               # self-consistency samples per request
    min_agreement: float = 0.0     # answers below this agreement are not used


class GraspPlanner:
    def __init__(self, backend: GroundingBackend, config: PlannerConfig = PlannerConfig()):
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

    def _coarse(self, capture: Capture, *, box: BoundingBox | None = None, mask=None) -> Grasp6D:
        return plan_coarse(capture.depth, capture.intrinsics, box=box, mask=mask, depth_scale=capture.depth_scale,
                           base_from_camera=capture.base_from_camera, config=self.config.coarse, top=1).best

    def _region(self, grasp2d: ContactPair | RectGrasp, capture: Capture) -> BoundingBox:
        """The 2D grasp's bounding box grown by ``fallback_margin``, clipped to the image."""
        rect = grasp2d.to_rect() if isinstance(grasp2d, ContactPair) else grasp2d
        c = rect.corners()
        m, w, h = self.config.fallback_margin, capture.intrinsics.width, capture.intrinsics.height
        lo = np.clip(c.min(axis=0) - m, 0, [w - 1, h - 1])
        hi = np.clip(c.max(axis=0) + m, 0, [w - 1, h - 1])
        if not (hi > lo).all():
            raise InvalidInputError(f"the {type(grasp2d).__name__} lies outside the image: no region to fall back to")
        return BoundingBox(lo[0], lo[1], hi[0], hi[1])

    def _lift(self, strategy: str, answer: Grounding, capture: Capture) -> tuple[Grasp6D, str]:
        """The camera-frame grasp for an answer, and the fallback reason ("" without fallback)."""
        cfg = self.config
        if strategy in ("contact", "rect"):
            grasp2d = answer.contact if strategy == "contact" else answer.rect
            try:
                grasp = lift_grasp(grasp2d, capture.depth, capture.intrinsics, cfg.lift, capture.depth_scale)
                if cfg.coarse_fallback:
                    cfg.coarse.limits.check(capture.base_from_camera.apply_to_grasp(grasp),
                                            cfg.coarse.pre_grasp_offset, cfg.coarse.lift_height)
                return grasp, ""
            except (DepthError, GraspRefusedError) as exc:
                if not cfg.coarse_fallback:
                    raise
                reason = f"{type(exc).__name__}: {exc}"
            try:
                return self._coarse(capture, box=self._region(grasp2d, capture)), reason
            except RealVLGError as exc:
                raise type(exc)(f"{reason}; coarse fallback: {exc}") from None
        if strategy == "seg" and answer.mask is not None:
            return self._coarse(capture, mask=answer.mask), ""
        return self._coarse(capture, box=answer.box), ""

    def plan(self, capture: Capture, instruction: str, strategy: str = "auto") -> GraspPlan:
        timings = {"ground": 0.0, "lift": 0.0, "transform": 0.0}
        attempts: list[str] = []
        last: GroundingResult | None = None
        for name in self.strategies_for(strategy):
            t0 = time.perf_counter()
            answer = self.backend.ground(STRATEGY_TASK[name], capture.color, instruction,
                                         samples=self.config.samples, depth=capture.depth,
                                         intrinsics=capture.intrinsics)
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
                grasp_camera, fallback = self._lift(name, answer, capture)
            except (DepthError, GraspRefusedError, InvalidInputError) as exc:
                attempts.append(f"{name}: {exc}")
                continue
            finally:
                timings["lift"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            grasp_base = capture.base_from_camera.apply_to_grasp(grasp_camera)
            timings["transform"] += time.perf_counter() - t0
            if fallback:
                attempts.append(f"{name}: coarse fallback after {fallback}")
            return GraspPlan(answer, name, grasp_camera, grasp_base, timings, attempts, fallback)
        raise PlanningError("no grasp for the instruction: " + "; ".join(attempts), last, timings)
