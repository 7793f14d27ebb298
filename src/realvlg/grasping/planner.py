"""The RealVLG-R1 grasp planner, ROS-free: instruction + RGB-D frame → 6-DoF parallel-gripper grasp
in the robot base frame, and :class:`Plan`, what every planner of a grasp attempt returns.

``LiftPlanner.plan`` runs the stages *ground → lift → transform* of one ``/grasp`` request (the
attempt, :mod:`realvlg.grasping.attempt`, adds capture, the executor's checks and motion, and the
record):

* strategy ``contact`` / ``rect``: the backend answers a contact pair / rectangle grasp, lifted to
  6-DoF with :func:`realvlg.geometry.lift.lift_grasp` (the paper's fine-grained, part-level path);
  a lifted grasp that only the insertion past the visible surface takes below the workspace floor
  (+ ``floor_margin``) is backed off along its approach to it (a thin object lying on the table);
* strategy ``bbox`` / ``seg``: the backend answers a box / mask, and the coarse planner
  (:func:`realvlg.planning.planner.plan_coarse`: object cloud → antipodal grasps → scene collision,
  approach cone, table, workspace and FR3 reachability checks) proposes ``candidates`` grasps, best
  first (the coarse object-level path); the attempt executes the first the executor accepts;
* fallback of ``contact`` / ``rect``: when the 2D grasp cannot be lifted (too little valid depth at
  the contacts), its 6-DoF grasp fails the executor's checks (``LiftPlannerConfig.coarse.limits``:
  workspace, approach cone, width) or its gripper hits the observed scene (:meth:`LiftPlanner.scene_collision`:
  fingers and palm at the grasp and on the way in from the pre-grasp, against the cloud above the
  table — the neighbours in clutter), the coarse planner grasps the object in the answer's region
  (the rectangle's bounding box, grown by ``fallback_margin`` px; of what stands in it, the
  cluster imaged closest to the 2D grasp's centre, not the largest) — recorded in ``Plan.notes``;
* strategy ``auto``: the strategies of ``auto_order`` that the backend supports, in order; the next
  one is tried when an answer is unusable (invalid, too little agreement) or its grasp cannot be
  lifted (missing depth, wider than the gripper). An instruction naming nothing in the scene
  (``not_found``) ends the request at once: no other strategy would find it either.

Every failure is a :class:`PlanningError` whose message lists each attempt's reason and whose
``failure`` names the request's result code (a :class:`~realvlg.grasping.attempt.ResultCode` name):
per strategy, ``INVALID_ANSWER`` (unparsable or unusable answer, too little agreement),
``NO_DEPTH`` (no valid depth at the target), ``NO_GRASP`` (no grasp on the object: wider than the
gripper, no antipodal pair, collisions) or ``UNREACHABLE`` (every grasp outside the workspace or
without an IK solution); over several strategies the one that got furthest (that order) names it.

``reference``: an optional photo of the object (UniVG-R1's multi-image form), passed to the
backend, which refuses it (InvalidInputError) when it takes one image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError, RealVLGError, UnreachableError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair, Grasp, Grasp6D, RectGrasp
from realvlg.geometry.lift import LiftConfig, lift_grasp
from realvlg.geometry.projection import backproject_cloud
from realvlg.grounding.backend import Grounding, GroundingBackend, GroundingResult, InvalidReason
from realvlg.observation import RGBDFrame
from realvlg.planning.antipodal import in_hand_counts, voxel_downsample
from realvlg.planning.object_grasp import object_points
from realvlg.planning.planner import CoarsePlannerConfig, plan_coarse

STRATEGY_TASK = {"contact": "contact", "rect": "grasp", "seg": "seg", "bbox": "bbox"}
STRATEGIES = ("auto", *STRATEGY_TASK)
AUTO_ORDER = ("contact", "rect", "seg", "bbox")
# a failed strategy's result code, by how far it got: the furthest of a request's strategies names it
FAILURES = ("INVALID_ANSWER", "NO_DEPTH", "NO_GRASP", "UNREACHABLE")


def failure_of(error: Exception) -> str:
    """The :data:`FAILURES` name of why lifting / coarse planning an answer failed."""
    if isinstance(error, DepthError):
        return "NO_DEPTH"
    return "UNREACHABLE" if isinstance(error, UnreachableError) else "NO_GRASP"


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
    what the stages took, ``not_found``: the instruction names nothing in the scene, ``failure``:
    why (a :data:`FAILURES` name, see the module docstring)."""

    def __init__(self, message: str, grounding: GroundingResult | None = None,
                 timings: dict[str, float] | None = None, not_found: bool = False, failure: str = "NO_GRASP"):
        super().__init__(message)
        self.grounding = grounding
        self.timings = timings or {}
        self.not_found = not_found or getattr(grounding, "reason", None) is InvalidReason.NOT_FOUND
        self.failure = failure


@dataclass(frozen=True)
class LiftPlannerConfig:
    lift: LiftConfig = LiftConfig()
    coarse: CoarsePlannerConfig = CoarsePlannerConfig()
    coarse_fallback: bool = True   # contact/rect answers that cannot be used → coarse grasp of their region
    fallback_margin: float = 20.0  # px added around the 2D grasp's bounding box for the fallback region
    auto_order: tuple[str, ...] = AUTO_ORDER
    samples: int = 1               # self-consistency samples per request
    min_agreement: float = 0.0     # answers below this agreement are not used
    scene_collision: bool = True   # a lifted grasp whose gripper hits the observed scene falls back to coarse
    approach_samples: int = 5      # gripper poses checked from the pre-grasp to the grasp
    candidates: int = 4            # coarse grasps proposed (best first) for the executor to choose from
    floor_margin: float = 0.002    # a lifted grasp raised to the workspace floor ends this far above it [m]


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

    def _coarse(self, frame: RGBDFrame, *, box: BoundingBox | None = None, mask=None,
                near: tuple[float, float] | None = None) -> list[Grasp6D]:
        """Up to ``candidates`` coarse grasps, best first, whose approach is clear of the scene too
        (the sampler checks the hand at the grasp only); ``near``: a pixel on the object."""
        cfg = self.config
        grasps = plan_coarse(frame.depth, frame.intrinsics, box=box, mask=mask, depth_scale=1.0,
                             base_from_camera=frame.base_from_camera, config=cfg.coarse,
                             top=cfg.coarse.max_checked, near=near).grasps
        if not cfg.scene_collision:
            return grasps[:cfg.candidates]
        clear, hit = [], ""
        for g in grasps:
            why = self.scene_collision(g, frame, box=box, mask=mask)
            if why:
                hit = hit or why
                continue
            clear.append(g)
            if len(clear) == cfg.candidates:
                break
        if not clear:
            raise GraspRefusedError(f"all {len(grasps)} coarse grasps hit the scene on the way in: {hit}")
        return clear

    def scene_collision(self, grasp: Grasp6D, frame: RGBDFrame, *, box: BoundingBox | None = None,
                        mask=None) -> str:
        """Why the gripper (fingers and palm, :class:`~realvlg.planning.antipodal.GripperGeometry`,
        opened ``width + width_clearance``) at ``grasp`` (camera frame) or on its straight way in
        from the pre-grasp hits the observed scene above the table (found around the target's
        ``box`` or ``mask``); "" when clear."""
        cfg, a = self.config.coarse, self.config.coarse.antipodal
        try:
            _, support = object_points(frame.depth, frame.intrinsics, box=box, mask=mask, depth_scale=1.0,
                                       config=cfg.object)
        except RealVLGError:
            return ""  # no object cloud to place the table by: the executor's checks still apply
        scene = backproject_cloud(frame.depth, frame.intrinsics, 1.0, frame=frame.frame_id).points
        if support is not None:
            scene = scene[support.height_above(scene) > cfg.table_clearance]
        opening = grasp.width + a.width_clearance
        near = np.linalg.norm(scene - grasp.position, axis=1) < a.gripper.reach(opening) + cfg.pre_grasp_offset
        scene = voxel_downsample(scene[near], a.collision_voxel)
        rotation = grasp.rotation.as_matrix()[None]
        for back in np.linspace(0.0, cfg.pre_grasp_offset, self.config.approach_samples):
            centre = (grasp.position - back * grasp.approach)[None]
            hits = int(in_hand_counts(scene, centre, rotation, np.array([opening]), a.gripper)[0])
            if hits > a.collision_tolerance:
                where = "at the grasp" if back == 0 else f"{back * 100:.1f} cm before the grasp"
                return f"the gripper hits the scene {where} ({hits} points in the fingers or palm)"
        return ""

    def _above_floor(self, grasp: Grasp6D, frame: RGBDFrame) -> Grasp6D:
        """A lifted grasp that only its insertion past the visible surface took lower than
        ``floor_margin`` above the workspace floor, backed off along its approach to that height (by
        at most that insertion): a thin object lying on the table (a marker, a razor) is grasped
        just above the table instead of being refused. Any other grasp is returned unchanged."""
        base = frame.base_from_camera.apply_to_grasp(grasp)
        target = self.config.coarse.limits.workspace.z[0] + self.config.floor_margin
        down = -float(base.approach[2])  # how far the grasp sinks per metre along its approach
        if base.position[2] >= target or down <= 0.0:
            return grasp
        back = (target - float(base.position[2])) / down
        insertion = float(grasp.extras["insertion"])  # lift_grasp records it on every grasp
        if back > insertion:
            return grasp
        extras = {**grasp.extras, "insertion": insertion - back, "raised_to_floor": back}
        return replace(grasp, position=grasp.position - back * grasp.approach, extras=extras)

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

    def _lift(self, strategy: str, answer: Grounding, frame: RGBDFrame) -> tuple[list[Grasp6D], str]:
        """The camera-frame grasps for an answer, best first, and the fallback reason ("" without)."""
        cfg = self.config
        if strategy in ("contact", "rect"):
            grasp2d = answer.contact if strategy == "contact" else answer.rect
            try:
                grasp = self._above_floor(lift_grasp(grasp2d, frame.depth, frame.intrinsics, cfg.lift, 1.0), frame)
                if cfg.coarse_fallback:
                    cfg.coarse.limits.check(frame.base_from_camera.apply_to_grasp(grasp),
                                            cfg.coarse.pre_grasp_offset, cfg.coarse.lift_height)
                    hit = cfg.scene_collision and self.scene_collision(grasp, frame, box=self._region(grasp2d, frame))
                    if hit:
                        raise GraspRefusedError(f"the lifted grasp collides: {hit}")
                return [grasp], ""
            except (DepthError, GraspRefusedError) as exc:
                if not cfg.coarse_fallback:
                    raise
                reason = f"{type(exc).__name__}: {exc}"
            centre = grasp2d.points.mean(axis=0) if isinstance(grasp2d, ContactPair) else grasp2d.center
            try:
                return self._coarse(frame, box=self._region(grasp2d, frame), near=tuple(centre)), reason
            except RealVLGError as exc:
                raise type(exc)(f"{reason}; coarse fallback: {exc}") from None
        if strategy == "seg" and answer.mask is not None:
            return self._coarse(frame, mask=answer.mask), ""
        return self._coarse(frame, box=answer.box), ""

    def plan(self, frame: RGBDFrame, instruction: str, strategy: str = "auto",
             reference: np.ndarray | None = None) -> Plan:
        """One grasp for ``instruction`` on ``frame`` (which needs its camera pose), or
        :class:`PlanningError` listing why each strategy failed; ``reference``: a photo of the object
        for the backend (module docstring)."""
        if frame.base_from_camera is None:
            raise InvalidInputError("the frame has no camera pose: the planner needs base←camera")
        timings = {"ground": 0.0, "lift": 0.0, "transform": 0.0}
        attempts: list[str] = []
        failure = 0  # index into FAILURES of the furthest strategy
        last: GroundingResult | None = None
        extra = {"reference": reference} if reference is not None else {}
        for name in self.strategies_for(strategy):
            t0 = time.perf_counter()
            answer = self.backend.ground(STRATEGY_TASK[name], frame.color, instruction,
                                         samples=self.config.samples, depth=frame.depth,
                                         intrinsics=frame.intrinsics, **extra)
            timings["ground"] += time.perf_counter() - t0
            last = answer
            if not answer.valid:
                attempts.append(f"{name}: {answer.message}")
                if answer.reason is InvalidReason.NOT_FOUND:
                    break
                failure = max(failure, FAILURES.index("NO_DEPTH" if answer.reason is InvalidReason.NO_DEPTH
                                                      else "INVALID_ANSWER"))
                continue
            if answer.agreement < self.config.min_agreement:
                attempts.append(f"{name}: agreement {answer.agreement:.2f} below {self.config.min_agreement:.2f}")
                failure = max(failure, FAILURES.index("INVALID_ANSWER"))
                continue
            t0 = time.perf_counter()
            try:
                grasps_camera, fallback = self._lift(name, answer, frame)
            except (DepthError, GraspRefusedError, InvalidInputError) as exc:
                attempts.append(f"{name}: {exc}")
                failure = max(failure, FAILURES.index(failure_of(exc)))
                continue
            finally:
                timings["lift"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            grasps_base = [frame.base_from_camera.apply_to_grasp(g) for g in grasps_camera]
            timings["transform"] += time.perf_counter() - t0
            if fallback:
                attempts.append(f"{name}: coarse fallback after {fallback}")
            return Plan(name, grasps_base, answer, "", attempts, timings)
        raise PlanningError("no grasp for the instruction: " + "; ".join(attempts), last, timings,
                            failure=FAILURES[failure])
