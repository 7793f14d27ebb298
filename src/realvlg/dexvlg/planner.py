"""DexVLG's grasp pipeline, pure core: a labelled RGB-D observation and an instruction → sampled,
ranked Shadow Hand grasps in the robot base frame. Used by ``realvlg dex-eval``
(:mod:`realvlg.sim.dex_eval`) and by the grasp attempt of the ``shadow`` graph
(:mod:`realvlg.grasping`); no robot, no world, no rclpy here.

Steps (:meth:`DexGraspPlanner.plan`):

1. :class:`DexScene` — the frame's cloud in the **base frame** (z up: the model is trained with
   rotations about z only), colours 0–1, per point the ``"object/part"`` label and the object
   (the frame's labels: the renderer's in simulation; a part segmenter's on a real robot).
2. The instruction names an object of the scene and one of its parts (:func:`resolve_target`:
   whole-word match of the object's name and its part names; the caption template
   ``Grasp the {part} of the {object} object, …`` is the form the model was trained on).
3. :func:`~realvlg.dexvlg.model.sample_grasps` on the **object's** points (the model was trained
   on single-object clouds), ``samples`` grasps, ``flow_steps`` Euler steps; the finger joints
   clipped to the hand's limits (:func:`clip_to_hand`: the sampler does not clip, the executors
   refuse joints outside the range) with the distal J0 re-coupled to J1.
4. :func:`~realvlg.dexvlg.ranking.rank_with_hand` against the whole scene cloud (table and other
   objects for collisions) and the arm's reachability (``reach``, e.g.
   :class:`~realvlg.robots.ur10e_shadow.kinematics.UR10eReach`, injected by whoever knows the arm),
   target = the instructed part; ``T_base_cloud`` = identity.
5. The ranking's accepted grasps, best first, are the candidates: the grasp attempt
   (:mod:`realvlg.grasping.attempt`) executes the first whose whole motion the executor can plan
   (``executor.check``: IK of pre-grasp, approach and lift, no robot–table contact, nothing moves);
   the ranking checks the grasp and pre-grasp poses only, not the arm along the way.

:class:`DexPlan` carries the grasps, the ranking and the best grasp, or the refusal reason (no
feasible grasp). Bad input (an instruction that names nothing in the scene, a part without
observed points) raises :class:`~realvlg.errors.GraspRefusedError` / ``InvalidInputError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from realvlg.dexvlg.ranking import (
    ArmReach,
    LabelledCloud,
    RankedGrasp,
    Ranking,
    RankingConfig,
    rank_with_hand,
)
from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.frames import UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp
from realvlg.geometry.projection import backproject_cloud
from realvlg.observation import RGBDFrame


@dataclass(frozen=True)
class DexScene:
    """An observed scene in the base frame: ``points`` (M, 3) m, ``colors`` (M, 3) 0–1,
    ``part_ids`` (M,) indexing ``part_names`` (``"object/part"``, −1 = table/robot/background),
    ``object_ids`` (M,) indexing ``object_names`` (−1 = none), ``viewpoint`` the camera centre."""

    points: np.ndarray
    colors: np.ndarray
    part_ids: np.ndarray
    object_ids: np.ndarray
    part_names: tuple[str, ...]
    object_names: tuple[str, ...]
    viewpoint: tuple[float, float, float]

    @classmethod
    def from_frame(cls, frame: RGBDFrame) -> DexScene:
        """From an RGB-D frame with its camera pose and object and part labels (a simulator's
        ground truth, or a part segmenter's)."""
        if frame.labels is None or frame.base_from_camera is None:
            raise InvalidInputError("DexVLG needs a frame with object and part labels and the camera pose")
        cloud = backproject_cloud(frame.depth, frame.intrinsics, colors=frame.color)
        if len(cloud) == 0:
            raise InvalidInputError("the camera sees nothing (no valid depth)")
        T = frame.base_from_camera.matrix
        mask, labels = cloud.pixel_mask, frame.labels
        return cls(cloud.points.astype(np.float64) @ T[:3, :3].T + T[:3, 3], cloud.colors.astype(np.float64) / 255.0,
                   labels.parts[mask].astype(int), labels.objects[mask].astype(int),
                   tuple(f"{o}/{p}" for o, p in labels.part_names), tuple(labels.object_names),
                   tuple(float(v) for v in T[:3, 3]))

    def visible_parts(self, name: str) -> list[str]:
        """The parts of object ``name`` with observed points, in label order."""
        ids = set(np.unique(self.part_ids[self.part_ids >= 0]).tolist())
        return [p.split("/", 1)[1] for i, p in enumerate(self.part_names) if i in ids and p.split("/", 1)[0] == name]

    def object_points(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(points, colours) of object ``name``."""
        if name not in self.object_names:
            raise InvalidInputError(f"no object {name!r} in the scene ({', '.join(self.object_names)})")
        keep = self.object_ids == self.object_names.index(name)
        return self.points[keep], self.colors[keep]

    def labelled(self) -> LabelledCloud:
        return LabelledCloud(self.points, self.part_ids, self.part_names, object_ids=self.object_ids,
                             frame=UR_BASE_FRAME, viewpoint=self.viewpoint)


class TargetNotFoundError(GraspRefusedError):
    """The instruction names no object of the scene."""


def _mentions(text: str, words: str) -> bool:
    return re.search(r"\b" + re.escape(words.lower()) + r"s?\b", text) is not None


def resolve_target(instruction: str, scene: DexScene) -> tuple[str, str]:
    """``(object, part)`` that ``instruction`` names: an object of the scene named by a whole word
    and, of its observed parts, the one the instruction names (the first part when it names none,
    i.e. "grasp the mug" grasps the mug's first visible part). Ambiguity or nothing named raises
    :class:`GraspRefusedError`."""
    text = instruction.lower()
    named = [o for o in scene.object_names if _mentions(text, o)]
    if not named:
        raise TargetNotFoundError(f"the instruction {instruction!r} names nothing in the scene "
                                f"({', '.join(scene.object_names) or 'empty'})")
    if len(named) > 1:
        raise GraspRefusedError(f"the instruction {instruction!r} names several objects: {', '.join(named)}")
    obj = named[0]
    parts = scene.visible_parts(obj)
    if not parts:
        raise GraspRefusedError(f"the camera sees no part of the {obj}")
    spoken = [p for p in parts if _mentions(text, p)]
    return obj, (spoken[0] if spoken else parts[0])


@dataclass(frozen=True)
class DexPlannerConfig:
    samples: int = 16  # grasps drawn from the flow per request
    flow_steps: int = 10  # Euler steps of the flow
    ranking: RankingConfig = field(default_factory=RankingConfig)


@dataclass
class DexPlan:
    """The outcome of one request: the target, the sampled ``grasps`` (base frame), the
    ``ranking`` and its ``best`` grasp, or ``refusal`` (why none is feasible)."""

    instruction: str
    object: str
    part: str
    grasps: list[DexGrasp]
    ranking: Ranking
    best: RankedGrasp | None
    refusal: str = ""


def clip_to_hand(grasp: DexGrasp) -> DexGrasp:
    """``grasp`` with its 22 joints inside :data:`~realvlg.shadow_hand.JOINT_LOWER`/``UPPER`` and
    each finger's J0 set from J1 by the tendon coupling."""
    from realvlg.dexvlg.hand import couple_distal
    from realvlg.shadow_hand import JOINT_LOWER, JOINT_UPPER

    joints = couple_distal(np.clip(grasp.joints, JOINT_LOWER, JOINT_UPPER))
    return DexGrasp(grasp.position, grasp.rotation, joints, grasp.frame, dict(grasp.extras))


class DexGraspPlanner:
    """``model`` (a :class:`~realvlg.dexvlg.model.DexVLG`) + ``hand`` (default a
    :class:`~realvlg.dexvlg.hand.ShadowHand`) + the arm's ``reach`` (None: a floating hand) →
    :meth:`plan` (module docstring)."""

    def __init__(self, model, hand=None, config: DexPlannerConfig = DexPlannerConfig(), reach: ArmReach | None = None):
        if hand is None:
            from realvlg.dexvlg.hand import ShadowHand

            hand = ShadowHand()
        self.model, self.hand, self.config, self.reach = model, hand, config, reach

    def plan(self, scene: DexScene, instruction: str, *, target: tuple[str, str] | None = None,
             seed: int = 0) -> DexPlan:
        """Sample and rank grasps for ``instruction``; ``target`` (object, part) skips
        :func:`resolve_target` (the benchmark knows it)."""
        from realvlg.dexvlg.model import sample_grasps

        if not instruction.strip():
            raise InvalidInputError("the instruction is empty")
        obj, part = target if target is not None else resolve_target(instruction, scene)
        points, colors = scene.object_points(obj)
        text = instruction if self.model.config.language else ""
        grasps = [clip_to_hand(g) for g in sample_grasps(self.model, points, colors, text, self.config.samples,
                                                         self.config.flow_steps, seed, frame=UR_BASE_FRAME)]
        ranking = rank_with_hand(grasps, self.hand, scene.labelled(), f"{obj}/{part}", np.eye(4),
                                 self.config.ranking, reach=self.reach)
        try:
            best, refusal = ranking.best, ""
        except GraspRefusedError as exc:
            best, refusal = None, str(exc)
        return DexPlan(instruction, obj, part, grasps, ranking, best, refusal)

