"""The coarse grasp planner: box or mask on an RGB-D frame → ranked, checked 6-DoF grasps.

Stages (the paper's coarse-grained strategy, §7):

1. **Clouds.** The object cloud and its support plane come from
   :func:`realvlg.planning.object_grasp.object_points` (box: plane removal + largest DBSCAN
   cluster; mask: the masked points, plane from the pixels around). The scene cloud for collision
   checks is every valid pixel (:func:`realvlg.geometry.projection.backproject_cloud`).
2. **Candidates.** Backend ``antipodal`` (:mod:`realvlg.planning.antipodal`, CPU, no weights) or
   ``graspnet`` (:mod:`realvlg.planning.graspnet_backend`, GPU + user checkpoint), a graspnetAPI
   ``GraspGroup`` after NMS.
3. **Filters**, in order, each counted in :attr:`CoarsePlan.rejected`:
   ``approach_cone`` — the approach lies within ``max_approach_angle`` of straight down (base −z
   when the camera pose is known, else against the support normal, else along the optical axis);
   ``table`` — every corner of the fingers and palm stays ``table_clearance`` above the support
   plane; ``limits`` — :class:`realvlg.robots.limits.GraspLimits` in the base frame (width,
   workspace box of the grasp, pre-grasp and lift points); ``unreachable`` — no FR3 IK solution
   (:mod:`realvlg.robots.franka.kinematics`) for the grasp or its half-turn. The last two need the
   camera pose (``base_from_camera``) and are skipped without it.
4. **Pick.** The survivors keep the backend's order; each carries its ``score_parts`` (for the
   antipodal backend: antipodal, centroid, approach and their weighted total).

Errors: :class:`InvalidInputError` (empty box/mask, bad input), :class:`DepthError` (too little
valid depth), :class:`GraspRefusedError` (object wider than the gripper, every grasp filtered —
the message counts each filter's rejections).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from realvlg.errors import GraspRefusedError, InvalidInputError, UnreachableError
from realvlg.frames import LIFT_HEIGHT, PRE_GRASP_DISTANCE
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import Grasp6D, from_graspnet_rotation
from realvlg.geometry.projection import DEFAULT_DEPTH_SCALE, backproject_cloud
from realvlg.geometry.transforms import Transform
from realvlg.planning.antipodal import AntipodalConfig, hand_corners, sample_antipodal
from realvlg.planning.graspnet_backend import GraspNetConfig, graspnet_grasps
from realvlg.planning.object_grasp import ObjectGraspConfig, SupportPlane, object_points
from realvlg.robots.franka.kinematics import IKConfig, reachable_grasps
from realvlg.robots.limits import GraspLimits

BACKENDS = ("antipodal", "graspnet")
FILTERS = ("approach_cone", "table", "limits", "workspace", "unreachable")


@dataclass(frozen=True)
class CoarsePlannerConfig:
    """Parameters of :func:`plan_coarse` (metres, radians)."""

    backend: str = "antipodal"
    antipodal: AntipodalConfig = field(default_factory=AntipodalConfig)
    graspnet: GraspNetConfig = field(default_factory=GraspNetConfig)
    object: ObjectGraspConfig = field(default_factory=ObjectGraspConfig)
    max_approach_angle: float = math.radians(60)
    table_clearance: float = 0.003
    limits: GraspLimits = field(default_factory=GraspLimits)
    pre_grasp_offset: float = PRE_GRASP_DISTANCE
    lift_height: float = LIFT_HEIGHT
    reachability: bool = True
    ik: IKConfig = field(default_factory=IKConfig)
    max_checked: int = 24          # candidates run through limits + IK, best first

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InvalidInputError(f"unknown coarse backend {self.backend!r}; expected one of {BACKENDS}")


@dataclass
class CoarsePlan:
    """``grasps`` best first (camera frame; ``extras``: score_parts, base-frame pose when known,
    joints), ``rejected`` filter → count, ``stats`` the backend's stage counts."""

    grasps: list[Grasp6D]
    rejected: dict[str, int]
    stats: dict[str, int]
    support: SupportPlane | None
    object_points: np.ndarray

    @property
    def best(self) -> Grasp6D:
        return self.grasps[0]


def _down_in_camera(base_from_camera: Transform | None, support: SupportPlane | None) -> np.ndarray:
    if base_from_camera is not None:
        return base_from_camera.rotation.inv().apply([0.0, 0.0, -1.0])
    if support is not None:
        return support.normal
    return np.array([0.0, 0.0, 1.0])


def plan_coarse(depth: Any, intrinsics: CameraIntrinsics, *, box: BoundingBox | None = None, mask: Any = None,
                depth_scale: float = DEFAULT_DEPTH_SCALE, base_from_camera: Transform | None = None,
                config: CoarsePlannerConfig = CoarsePlannerConfig(), top: int = 5,
                near: tuple[float, float] | None = None) -> CoarsePlan:
    """Box or mask + depth → up to ``top`` checked grasps, best first (module docstring); ``near``:
    a pixel on the object, which picks its cluster (:func:`~realvlg.planning.object_grasp.object_points`)."""
    if top < 1:
        raise InvalidInputError(f"top must be at least 1, got {top}")
    frame = config.object.frame
    if base_from_camera is not None and base_from_camera.child != frame:
        raise InvalidInputError(f"camera pose is for '{base_from_camera.child}', the grasps are in '{frame}'")
    obj, support = object_points(depth, intrinsics, box=box, mask=mask, depth_scale=depth_scale,
                                 config=config.object, near=near)
    scene = backproject_cloud(depth, intrinsics, depth_scale, frame=frame).points
    if config.backend == "graspnet":
        candidates = graspnet_grasps(obj, scene, config.graspnet)
    else:
        candidates = sample_antipodal(obj, scene, support, config.antipodal)
    rows = candidates.group.grasp_group_array
    n = len(rows)
    keep = np.ones(n, bool)
    rejected = dict.fromkeys(FILTERS, 0)
    # approach cone (graspnetAPI x = approach = first column of its rotation)
    approach = rows[:, 4:13].reshape(-1, 3, 3)[:, :, 0]
    down = _down_in_camera(base_from_camera, support)
    in_cone = approach @ down >= math.cos(config.max_approach_angle)
    rejected["approach_cone"] = int((keep & ~in_cone).sum())
    keep &= in_cone
    if support is not None:
        corners = hand_corners(rows[:, 13:16], from_graspnet_rotation(rows[:, 4:13].reshape(-1, 3, 3)),
                               rows[:, 1] + config.antipodal.width_clearance, config.antipodal.gripper)
        heights = support.height_above(corners.reshape(-1, 3)).reshape(n, -1)
        clear = heights.min(axis=1) >= config.table_clearance - 1e-6
        rejected["table"] = int((keep & ~clear).sum())
        keep &= clear
    order = np.flatnonzero(keep)
    grasps = [candidates.grasp6d(i) for i in order]
    if base_from_camera is not None and grasps:
        checked = []
        for g in grasps[:config.max_checked]:
            g_base = base_from_camera.apply_to_grasp(g)
            try:
                config.limits.check(g_base, config.pre_grasp_offset, config.lift_height)
            except GraspRefusedError as exc:
                rejected["workspace" if isinstance(exc, UnreachableError) else "limits"] += 1
                g.extras.setdefault("refused", str(exc))
                continue
            checked.append((g, g_base))
        if config.reachability and checked:
            ok, joints = reachable_grasps(np.stack([gb.homogeneous() for _, gb in checked]), config.ik)
            rejected["unreachable"] = int((~ok).sum())
            checked = [(g, gb, q) for (g, gb), good, q in zip(checked, ok, joints) if good]
        else:
            checked = [(g, gb, None) for g, gb in checked]
        grasps = []
        for g, g_base, q in checked:
            g.extras["base_pose"] = g_base.as_dict()
            if q is not None:
                g.extras["joints"] = q.tolist()
            grasps.append(g)
    if not grasps:
        counts = ", ".join(f"{k} {v}" for k, v in rejected.items() if v)
        message = f"none of the {n} grasps on the object passes the planner's checks ({counts})"
        base_checked = min(int(keep.sum()), config.max_checked) if base_from_camera is not None else 0
        if base_checked and rejected["workspace"] + rejected["unreachable"] == base_checked:
            raise UnreachableError(message + ": the robot cannot reach any of them")
        raise GraspRefusedError(message)
    return CoarsePlan(grasps[:top], rejected, candidates.stats, support, obj)
