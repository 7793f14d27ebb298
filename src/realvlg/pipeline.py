"""The grasp planner, ROS-free: instruction + RGB-D capture → 6-DoF grasp in the robot base frame.

``GraspPlanner.plan`` runs the stages *ground → lift → transform* of one ``/grasp`` request (the
ROS node adds capture, the executor's checks and motion, and recording):

* strategy ``contact`` / ``rect``: the backend answers a contact pair / rectangle grasp, lifted to
  6-DoF with :func:`realvlg.geometry.lift.lift_grasp` (the paper's fine-grained, part-level path);
* strategy ``bbox`` / ``seg``: the backend answers a box / mask, and the object's point cloud gives
  the grasp (:mod:`realvlg.planning.object_grasp`, the coarse object-level path);
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
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.lift import LiftConfig, lift_grasp
from realvlg.geometry.projection import DEFAULT_DEPTH_SCALE
from realvlg.geometry.transforms import Transform
from realvlg.grounding.backend import Grounding, GroundingBackend, GroundingResult, InvalidReason
from realvlg.planning.object_grasp import ObjectGraspConfig, object_grasp

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
    object_grasp: ObjectGraspConfig = ObjectGraspConfig()
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

    def _lift(self, strategy: str, answer: Grounding, capture: Capture) -> Grasp6D:
        cfg = self.config
        if strategy == "contact":
            return lift_grasp(answer.contact, capture.depth, capture.intrinsics, cfg.lift, capture.depth_scale)
        if strategy == "rect":
            return lift_grasp(answer.rect, capture.depth, capture.intrinsics, cfg.lift, capture.depth_scale)
        if strategy == "seg" and answer.mask is not None:
            return object_grasp(capture.depth, capture.intrinsics, mask=answer.mask,
                                depth_scale=capture.depth_scale, config=cfg.object_grasp)
        return object_grasp(capture.depth, capture.intrinsics, box=answer.box,
                            depth_scale=capture.depth_scale, config=cfg.object_grasp)

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
                grasp_camera = self._lift(name, answer, capture)
            except (DepthError, GraspRefusedError, InvalidInputError) as exc:
                attempts.append(f"{name}: {exc}")
                continue
            finally:
                timings["lift"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            grasp_base = capture.base_from_camera.apply_to_grasp(grasp_camera)
            timings["transform"] += time.perf_counter() - t0
            return GraspPlan(answer, name, grasp_camera, grasp_base, timings, attempts)
        raise PlanningError("no grasp for the instruction: " + "; ".join(attempts), last, timings)
