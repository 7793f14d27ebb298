"""Ranking sampled Shadow Hand grasps for an instruction's part (DexVLG inference, issue 10 item 4).

The flow sampler proposes N :class:`~realvlg.geometry.grasps.DexGrasp` in the frame of the observed
cloud; :func:`rank_grasps` scores each against that cloud and the arm, rejects the infeasible ones
with a reason, and returns the rest best first, each with its score breakdown. Pure numpy/scipy
(Open3D only to estimate missing normals); no rclpy.

Inputs. A :class:`LabelledCloud` (the scene as observed: points, outward normals, per-point part
ids from a part segmentation, or from the renderer in simulation, with ``-1`` for unlabelled
points such as the table) and, per grasp, the hand's points in the same frame: the points of each
finger's middle and distal links (``(N, 5, K, 3)``, :data:`~realvlg.shadow_hand.FINGERS` order) and
points on the whole hand's surface (``(N, S, 3)``). :func:`hand_points` gets both from any hand
model with ``finger_points(grasp)`` / ``surface_points(grasp, n)`` (``realvlg.dexvlg.hand.ShadowHand``),
:func:`hand_volumes` the hand's collision primitives; :func:`rank_with_hand` does all three with
one batched forward kinematics and ranks.

Terms (each in [0, 1]; the score is their weighted sum, weights in :class:`RankingConfig`):

``collision``  penetration of the hand and the scene, two measures (``collision_measure``):
               *volume* — how deep observed scene points lie inside the hand's collision
               primitives (the capsules and boxes of the Shadow Hand MJCF, :class:`HandVolume`,
               from :func:`hand_volumes`); *surface* — for every hand surface point ``h`` the
               nearest scene point ``q`` within ``penetration_radius`` and its outward normal
               ``n``: depth = max(0, (q − h)·n) (how far ``h`` lies behind the observed surface).
               The surface measure also sees a hand inside an object's unobserved interior, but
               on a single-view cloud it reads a finger *behind* a part thinner than
               ``penetration_radius`` (a handle gripped from both sides) as penetration, since
               the part's back is not observed; the volume measure has no such false alarm.
               ``auto`` (default): volume when the hand's volume is given, else surface; ``both``:
               the worse. term = 1 − depth / tolerance (``volume_tolerance`` 5 mm: a finger
               capsule is only 7–13 mm thick; ``collision_tolerance`` 1 cm for the surface
               measure); deeper: **rejected**.
``contact``    the instructed part, paper §6.2: a finger touches the part when its points come
               within ``contact_distance`` (1 cm) of the part's points and closer to the part than
               to any other point of the scene (other parts, other objects, the table).
               term = min(1, fingers on the part / ``full_contact_fingers``); ``pta`` (≥ 1 finger)
               and ``pga`` (≥ 3 fingers) are reported beside it. ``require_contact`` rejects
               grasps without PTA.
``reach``      the arm's reachability, asked of ``reach`` (an :class:`ArmReach`, e.g.
               :class:`~realvlg.robots.ur10e_shadow.kinematics.UR10eReach`): the palm pose goes to
               the arm base (``T_base_cloud``); the grasp and the pre-grasp (``pre_grasp_offset``
               back along the palm normal) must both be reachable, else the grasp is
               **rejected**; the term is the arm's own (the UR10e's: distance from its
               singularities). Without an arm (``reach`` None, a floating hand) every grasp is
               reachable with term 1.
``closure``    a force-closure proxy from the contacts with the target's object (fingers whose
               nearest scene point, within ``contact_distance``, is on that object): each contact
               contributes the ``cone_edges`` edges of its linearised friction cone
               (``friction``) about the inward normal −n, as wrenches
               (f, (c − c̄) × f / ``torque_length``) about the contacts' centroid c̄. term =
               min(1, σ_min(G) / ``sigma_ref``) · spread, with σ_min(G) the smallest singular
               value of the 6 × (fingers·edges) grasp matrix (zero unless the contact wrenches
               span all six directions, a necessary condition of force closure) and spread =
               1 − ‖mean inward normal‖ (0 when every finger pushes the same way, 1 when the
               pushes cancel, the condition that makes positive combinations of them span).
               Not a Ferrari–Canny ε; it orders grasps, it proves nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.frames import PALM_NORMAL, PRE_GRASP_DISTANCE
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import FINGERS

TERMS = ("collision", "contact", "reach", "closure")
COLLISION_MEASURES = ("auto", "volume", "surface", "both")


class ArmReach(Protocol):
    """What the ranking asks of an arm (module docstring, ``reach``)."""

    def reach(self, T_base_palm: np.ndarray, T_base_pre: np.ndarray) -> tuple[np.ndarray, ...]:
        """(N, 4, 4) grasp and pre-grasp palm poses → (joints (N, dof), grasp ok (N,), pre-grasp
        ok (N,), term (N,) in [0, 1])."""


@dataclass(frozen=True)
class RankingConfig:
    """Weights and thresholds of :func:`rank_grasps` (metres, radians); the module docstring
    defines each term."""

    w_collision: float = 1.0
    w_contact: float = 2.0
    w_reach: float = 0.5
    w_closure: float = 1.0
    contact_distance: float = 0.01           # paper §6.2: a finger < 1 cm from the part
    full_contact_fingers: int = 3            # fingers on the part for a full contact term (PGA)
    require_contact: bool = False            # reject grasps without PTA
    collision_tolerance: float = 0.01        # deepest accepted hand point behind the surface (clouds are noisy)
    volume_tolerance: float = 0.005          # deepest accepted scene point inside the hand's primitives
    penetration_radius: float = 0.03         # scene points farther than this from a hand point are ignored
    collision_measure: str = "auto"          # auto | volume | surface | both
    pre_grasp_offset: float = PRE_GRASP_DISTANCE   # the pre-grasp palm, back from the grasp along −palm normal
    friction: float = 0.5
    cone_edges: int = 4
    torque_length: float = 0.05
    sigma_ref: float = 0.5
    surface_points: int = 512                # hand surface points per grasp (hand_points)
    normal_radius: float = 0.01              # Open3D normal estimation when the cloud has none

    def __post_init__(self) -> None:
        for name in ("contact_distance", "collision_tolerance", "volume_tolerance", "penetration_radius", "torque_length",
                     "sigma_ref", "normal_radius", "pre_grasp_offset"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidInputError(f"RankingConfig.{name} must be a positive number, got {value}")
        if self.collision_measure not in COLLISION_MEASURES:
            raise InvalidInputError(f"collision_measure must be one of {COLLISION_MEASURES}, got {self.collision_measure!r}")
        if self.penetration_radius <= self.collision_tolerance:
            raise InvalidInputError("penetration_radius must exceed collision_tolerance (else no collision is seen)")
        if any(getattr(self, f"w_{t}") < 0 for t in TERMS):
            raise InvalidInputError("RankingConfig weights must be non-negative")
        if not 1 <= self.full_contact_fingers <= len(FINGERS):
            raise InvalidInputError(f"full_contact_fingers must be in 1..{len(FINGERS)}")

    @property
    def weights(self) -> dict[str, float]:
        return {t: getattr(self, f"w_{t}") for t in TERMS}


def parse_weights(text: str) -> dict[str, float]:
    """``"contact=0,reach=1.5"`` → ``{"contact": 0.0, "reach": 1.5}`` (the ``w_<term>`` fields of
    :class:`RankingConfig` to override; ``""`` → none). :class:`InvalidInputError` for an unknown
    term or a value that is not a number."""
    weights = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        term, sep, value = (part.strip() for part in item.partition("="))
        if not sep or term not in TERMS:
            raise InvalidInputError(f"ranking weights are TERM=W with TERM one of {', '.join(TERMS)}; got {item!r}")
        try:
            weights[term] = float(value)
        except ValueError as exc:
            raise InvalidInputError(f"the weight of {term!r} is not a number: {value!r}") from exc
    return weights


@dataclass(frozen=True)
class LabelledCloud:
    """The observed scene in frame ``frame``: ``points`` (M, 3) m, ``part_ids`` (M,) int indexing
    ``part_names`` (−1 = unlabelled: table, background), optional outward ``normals`` (M, 3) and
    ``object_ids`` (M,) (which object each point belongs to; −1 = none). ``viewpoint``: the camera
    centre in ``frame`` (normals are oriented towards it when they are estimated)."""

    points: np.ndarray
    part_ids: np.ndarray
    part_names: tuple[str, ...]
    normals: np.ndarray | None = None
    object_ids: np.ndarray | None = None
    frame: str = "camera"
    viewpoint: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=float)
        ids = np.asarray(self.part_ids).astype(int)
        if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0 or not np.isfinite(points).all():
            raise InvalidInputError(f"a scene cloud is a non-empty (M, 3) array of finite points, got {points.shape}")
        if ids.shape != (len(points),) or ids.min() < -1 or ids.max() >= len(self.part_names):
            raise InvalidInputError(f"part_ids must be (M,) ints in [-1, {len(self.part_names) - 1}]")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "part_ids", ids)
        object.__setattr__(self, "part_names", tuple(self.part_names))
        for name in ("normals", "object_ids"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=float if name == "normals" else int)
            if arr.shape[0] != len(points) or (name == "normals" and arr.shape != points.shape):
                raise InvalidInputError(f"{name} must have one entry per point ({len(points)}), got {arr.shape}")
            object.__setattr__(self, name, arr)

    def part_index(self, part: int | str) -> int:
        if isinstance(part, str):
            if part not in self.part_names:
                raise InvalidInputError(f"part {part!r} is not in the cloud's parts {list(self.part_names)}")
            part = self.part_names.index(part)
        if not 0 <= part < len(self.part_names) or not np.any(self.part_ids == part):
            raise InvalidInputError(f"the cloud has no points of part {part}")
        return int(part)

    def with_normals(self, radius: float = 0.01, max_nn: int = 30) -> LabelledCloud:
        """This cloud with Open3D-estimated normals oriented towards ``viewpoint`` (kept if present)."""
        if self.normals is not None:
            return self
        import open3d as o3d

        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(self.points))
        pcd.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=radius, max_nn=max_nn))
        pcd.orient_normals_towards_camera_location(np.asarray(self.viewpoint, dtype=float))
        return LabelledCloud(self.points, self.part_ids, self.part_names, np.asarray(pcd.normals),
                             self.object_ids, self.frame, self.viewpoint)


@dataclass
class RankedGrasp:
    """One scored grasp: ``score`` (weighted sum of ``terms``), ``terms`` (collision, contact,
    reach, closure in [0, 1]), ``details`` (surface_ and volume_penetration_m — NaN for a measure
    not computed —, the collision measure used, fingers on the part, pta, pga, sigma_min,
    spread, the IK ``q``), ``reason`` (empty when accepted)."""

    grasp: DexGrasp
    score: float
    terms: dict[str, float]
    details: dict = field(default_factory=dict)
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return not self.reason

    def as_dict(self) -> dict:
        return {**self.grasp.as_dict(), "score": self.score, "terms": self.terms, "details": self.details,
                "reason": self.reason}


@dataclass
class Ranking:
    """``accepted`` best first, ``rejected`` in input order, and the wall time of the ranking."""

    accepted: list[RankedGrasp]
    rejected: list[RankedGrasp]
    seconds: float = 0.0

    @property
    def best(self) -> RankedGrasp:
        """The best accepted grasp; :class:`GraspRefusedError` (with the reasons) when none is."""
        if self.accepted:
            return self.accepted[0]
        reasons: dict[str, int] = {}
        for r in self.rejected:
            reasons[r.reason.split(":")[0]] = reasons.get(r.reason.split(":")[0], 0) + 1
        summary = "; ".join(f"{n}× {why}" for why, n in reasons.items()) or "no grasps were given"
        raise GraspRefusedError(f"none of the {len(self.rejected)} sampled grasps is feasible: {summary}")


@dataclass(frozen=True)
class HandVolume:
    """The hand's collision primitives per grasp, in the grasps' frame: capsules as segment ends
    ``capsule_ends`` (N, C, 2, 3) with ``capsule_radii`` (C,), boxes as poses ``box_poses``
    (N, B, 4, 4) (frame←box) with half extents ``box_half`` (B, 3)."""

    capsule_ends: np.ndarray
    capsule_radii: np.ndarray
    box_poses: np.ndarray
    box_half: np.ndarray


MJ_GEOM_CAPSULE, MJ_GEOM_BOX = 3, 6   # mujoco.mjtGeom values


def _links(hand, grasps: list[DexGrasp]):
    """ShadowHand's batched forward kinematics: (N, nbodies, 4, 4) torch link poses."""
    import torch

    palms = torch.as_tensor(np.stack([g.homogeneous() for g in grasps]))
    joints = torch.as_tensor(np.stack([g.joints for g in grasps]))
    with torch.no_grad():
        return hand.fk(palms, joints)


def hand_volumes(hand, grasps: list[DexGrasp], links=None) -> HandVolume:
    """The collision capsules and boxes of ``realvlg.dexvlg.hand.ShadowHand`` (``model``,
    ``collision_geoms``, ``body_ids``, batched ``fk``) placed for each grasp (``links``: the
    hand's forward kinematics of ``grasps`` when already computed)."""
    m = hand.model
    links = (_links(hand, grasps) if links is None else links).numpy()   # (N, nbodies, 4, 4)
    ends, radii, boxes, half = [], [], [], []
    for g in hand.collision_geoms:
        local = np.eye(4)
        local[:3, :3] = Rotation.from_quat(np.roll(m.geom_quat[g], -1)).as_matrix()   # MuJoCo quats are w, x, y, z
        local[:3, 3] = m.geom_pos[g]
        pose = links[:, hand.body_ids.index(int(m.geom_bodyid[g]))] @ local   # (N, 4, 4)
        size = m.geom_size[g]
        if m.geom_type[g] == MJ_GEOM_CAPSULE:
            axis = pose[:, :3, 2] * size[1]
            ends.append(np.stack([pose[:, :3, 3] - axis, pose[:, :3, 3] + axis], axis=1))
            radii.append(size[0])
        elif m.geom_type[g] == MJ_GEOM_BOX:
            boxes.append(pose)
            half.append(size[:3])
        else:
            raise InvalidInputError(f"hand collision geom {g} has type {m.geom_type[g]}: only capsules and boxes")
    n = len(grasps)
    return HandVolume(np.stack(ends, 1) if ends else np.zeros((n, 0, 2, 3)), np.asarray(radii, dtype=float),
                      np.stack(boxes, 1) if boxes else np.zeros((n, 0, 4, 4)),
                      np.asarray(half, dtype=float).reshape(-1, 3))


def hand_points(hand, grasps: list[DexGrasp], n_surface: int = 512, seed: int = 0,
                links=None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 5, K, 3) finger points and (N, S, 3) surface points of ``grasps`` from a hand model
    (``finger_points(grasp) -> {finger: (k, 3)}``, ``surface_points(grasp, n, seed) -> (n, 3)``).
    Fingers with fewer points are padded by repeating their points (distances are unchanged).
    A hand with ``realvlg.dexvlg.hand.ShadowHand``'s batched torch kinematics (``fk``,
    ``points_torch``, ``finger_point_index``) is evaluated in one batch, with the same points."""
    if not grasps:
        return np.zeros((0, len(FINGERS), 1, 3)), np.zeros((0, n_surface, 3))
    if all(hasattr(hand, a) for a in ("fk", "points_torch", "finger_point_index")):
        import torch

        links = _links(hand, grasps) if links is None else links
        with torch.no_grad():
            per_finger = [hand.points_torch(links, hand.finger_point_index[f]).numpy() for f in FINGERS]
            everything = hand.points_torch(links).numpy()
        pick = np.random.default_rng(seed).choice(everything.shape[1], size=n_surface,
                                                  replace=n_surface > everything.shape[1])
        per_grasp = [{f: per_finger[j][i] for j, f in enumerate(FINGERS)} for i in range(len(grasps))]
        surface = everything[:, pick]
    else:
        per_grasp = [hand.finger_points(g) for g in grasps]
        surface = np.stack([np.asarray(hand.surface_points(g, n_surface, seed), dtype=float) for g in grasps])
    k = max(len(np.asarray(fp[f])) for fp in per_grasp for f in FINGERS)
    fingers = np.empty((len(grasps), len(FINGERS), k, 3))
    for i, fp in enumerate(per_grasp):
        for j, name in enumerate(FINGERS):
            pts = np.asarray(fp[name], dtype=float).reshape(-1, 3)
            fingers[i, j] = pts[np.arange(k) % len(pts)]
    return fingers, surface


def rank_grasps(grasps: list[DexGrasp], cloud: LabelledCloud, target_part: int | str,
                finger_points: np.ndarray, surface_points: np.ndarray, T_base_cloud: np.ndarray,
                config: RankingConfig = RankingConfig(), volume: HandVolume | None = None,
                reach: ArmReach | None = None) -> Ranking:
    """Score, filter and sort ``grasps`` (all in ``cloud.frame``) for ``target_part`` of ``cloud``
    (module docstring). ``finger_points`` (N, 5, K, 3) and ``surface_points`` (N, S, 3) are the
    hand's points per grasp in the same frame (:func:`hand_points`), ``volume`` its collision
    primitives (:func:`hand_volumes`; needed by the volume measure); ``T_base_cloud`` is the
    arm's base←cloud frame 4x4, ``reach`` the arm (module docstring)."""
    t0 = time.perf_counter()
    n = len(grasps)
    fingers = np.asarray(finger_points, dtype=float)
    surface = np.asarray(surface_points, dtype=float)
    if fingers.ndim != 4 or fingers.shape[:2] != (n, len(FINGERS)) or fingers.shape[-1] != 3:
        raise InvalidInputError(f"finger_points must be (N={n}, 5, K, 3), got {fingers.shape}")
    if surface.ndim != 3 or surface.shape[0] != n or surface.shape[-1] != 3:
        raise InvalidInputError(f"surface_points must be (N={n}, S, 3), got {surface.shape}")
    if not (np.isfinite(fingers).all() and np.isfinite(surface).all()):
        raise InvalidInputError("hand points are not finite")
    frames = {g.frame for g in grasps} - {cloud.frame}
    if frames:
        raise InvalidInputError(f"grasps in frame(s) {sorted(frames)}, the cloud is in {cloud.frame!r}")
    T_base_cloud = np.asarray(T_base_cloud, dtype=float)
    if T_base_cloud.shape != (4, 4) or not np.isfinite(T_base_cloud).all():
        raise InvalidInputError("T_base_cloud must be a finite 4x4 transform")
    part = cloud.part_index(target_part)
    if n == 0:
        return Ranking([], [], time.perf_counter() - t0)
    cloud = cloud.with_normals(config.normal_radius)

    tree = cKDTree(cloud.points)
    measure = config.collision_measure
    if measure == "auto":
        measure = "surface" if volume is None else "volume"
    if measure in ("volume", "both") and volume is None:
        raise InvalidInputError(f"collision_measure {measure!r} needs the hand's volume (hand_volumes)")
    if volume is not None and volume.capsule_ends.shape[0] != n:
        raise InvalidInputError(f"the hand volume is for {volume.capsule_ends.shape[0]} grasps, not {n}")
    surface_depth = (np.full(n, np.nan) if measure == "volume"
                     else _penetration(surface, cloud, tree, config.penetration_radius))
    volume_depth = np.full(n, np.nan) if volume is None else _scene_in_hand(volume, cloud, tree)
    ratios = {"surface": surface_depth / config.collision_tolerance,
              "volume": volume_depth / config.volume_tolerance}
    ratio = np.fmax(ratios["surface"], ratios["volume"]) if measure == "both" else ratios[measure]
    on_part, contacts, inward = _finger_contacts(fingers, cloud, tree, part, config.contact_distance)
    q, reach_ok, pre_ok, reach_term = _reachability(grasps, T_base_cloud, config, reach)
    sigma, spread = _closure(contacts, inward, config)

    n_on = on_part.sum(-1)
    terms = {
        "collision": np.clip(1.0 - ratio, 0.0, 1.0),
        "contact": np.minimum(1.0, n_on / config.full_contact_fingers),
        "reach": np.where(reach_ok, reach_term, 0.0),
        "closure": np.minimum(1.0, sigma / config.sigma_ref) * spread,
    }
    weights = config.weights
    score = sum(weights[t] * terms[t] for t in TERMS)

    accepted, rejected = [], []
    for i, g in enumerate(grasps):
        fingers_on = [FINGERS[j] for j in np.flatnonzero(on_part[i])]
        details = {"surface_penetration_m": float(surface_depth[i]), "volume_penetration_m": float(volume_depth[i]),
                   "collision_measure": measure, "fingers_on_part": fingers_on,
                   "pta": bool(n_on[i] >= 1), "pga": bool(n_on[i] >= 3), "sigma_min": float(sigma[i]),
                   "spread": float(spread[i]), "q": q[i].tolist(), "part": cloud.part_names[part]}
        reason = ""
        if not reach_ok[i]:
            reason = "unreachable: the arm cannot hold the palm at the grasp (no IK solution within the joint limits)"
        elif not pre_ok[i]:
            reason = (f"unreachable: the arm cannot reach the pre-grasp "
                      f"({config.pre_grasp_offset * 100:.0f} cm back from the grasp)")
        elif ratio[i] > 1.0:
            worst = "volume" if measure == "volume" or (measure == "both" and
                                                         ratios["volume"][i] >= ratios["surface"][i]) else "surface"
            reason = ("collision: " + (
                f"observed scene points lie {volume_depth[i] * 1000:.1f} mm inside the hand (tolerance "
                f"{config.volume_tolerance * 1000:.1f} mm)" if worst == "volume" else
                f"the hand lies {surface_depth[i] * 1000:.1f} mm behind the observed surface (tolerance "
                f"{config.collision_tolerance * 1000:.1f} mm)"))
        elif config.require_contact and n_on[i] == 0:
            reason = f"no contact: no finger within {config.contact_distance * 100:.0f} cm of the {cloud.part_names[part]}"
        ranked = RankedGrasp(g, float(score[i]), {t: float(terms[t][i]) for t in TERMS}, details, reason)
        (rejected if reason else accepted).append(ranked)
    accepted.sort(key=lambda r: -r.score)
    return Ranking(accepted, rejected, time.perf_counter() - t0)


def rank_with_hand(grasps: list[DexGrasp], hand, cloud: LabelledCloud, target_part: int | str,
                   T_base_cloud: np.ndarray, config: RankingConfig = RankingConfig(),
                   reach: ArmReach | None = None) -> Ranking:
    """:func:`hand_points` of ``hand`` (e.g. ``realvlg.dexvlg.hand.ShadowHand()``) then
    :func:`rank_grasps`; ``seconds`` covers both."""
    t0 = time.perf_counter()
    batched = grasps and all(hasattr(hand, a) for a in ("fk", "points_torch", "finger_point_index"))
    links = _links(hand, grasps) if batched else None
    fingers, surface = hand_points(hand, grasps, config.surface_points, links=links)
    volume = hand_volumes(hand, grasps, links) if batched and hasattr(hand, "collision_geoms") else None
    ranking = rank_grasps(grasps, cloud, target_part, fingers, surface, T_base_cloud, config, volume, reach)
    ranking.seconds = time.perf_counter() - t0
    return ranking


def _penetration(surface: np.ndarray, cloud: LabelledCloud, tree: cKDTree, radius: float) -> np.ndarray:
    """(N,) deepest penetration [m] of each grasp's hand surface points behind the observed surface."""
    flat = surface.reshape(-1, 3)
    dist, idx = tree.query(flat, distance_upper_bound=radius)
    near = np.isfinite(dist)
    depth = np.zeros(len(flat))
    depth[near] = np.einsum("ij,ij->i", cloud.points[idx[near]] - flat[near], cloud.normals[idx[near]])
    return np.maximum(depth, 0.0).reshape(surface.shape[:2]).max(axis=1)


def _scene_in_hand(volume: HandVolume, cloud: LabelledCloud, tree: cKDTree) -> np.ndarray:
    """(N,) deepest observed scene point inside the hand's capsules and boxes [m] (0: none inside)."""
    n = volume.capsule_ends.shape[0]
    depth = np.zeros(n)
    # capsules: scene points within reach of each segment's midpoint, distance to the segment
    a, b = volume.capsule_ends[:, :, 0], volume.capsule_ends[:, :, 1]          # (N, C, 3)
    reach = np.linalg.norm(b - a, axis=-1) / 2 + volume.capsule_radii
    for (i, c), idx in zip(np.ndindex(a.shape[:2]), tree.query_ball_point((a + b).reshape(-1, 3) / 2,
                                                                           reach.ravel())):
        if not idx:
            continue
        p = cloud.points[idx]
        ab = b[i, c] - a[i, c]
        t = np.clip((p - a[i, c]) @ ab / max(ab @ ab, 1e-12), 0.0, 1.0)
        d = volume.capsule_radii[c] - np.linalg.norm(p - (a[i, c] + t[:, None] * ab), axis=1)
        depth[i] = max(depth[i], d.max())
    # boxes: points within the circumscribed sphere, depth to the nearest face when inside
    centres = volume.box_poses[:, :, :3, 3]
    radius = np.broadcast_to(np.linalg.norm(volume.box_half, axis=1), centres.shape[:2])
    for (i, k), idx in zip(np.ndindex(centres.shape[:2]), tree.query_ball_point(centres.reshape(-1, 3),
                                                                                radius.ravel())):
        if not idx:
            continue
        R = volume.box_poses[i, k, :3, :3]
        local = np.abs((cloud.points[idx] - centres[i, k]) @ R)
        d = (volume.box_half[k] - local).min(axis=1)
        depth[i] = max(depth[i], d.max())
    return np.maximum(depth, 0.0)


def _finger_contacts(fingers: np.ndarray, cloud: LabelledCloud, tree: cKDTree, part: int, distance: float):
    """Per grasp and finger: on the target part (paper §6.2), and the contact point and inward
    normal on the target's object (NaN where the finger touches nothing of it).

    "Within ``distance`` of the part and closer to it than to any other part" is: the scene point
    nearest to the finger (over all its points) is a point of the part, less than ``distance``
    away — one nearest-neighbour query of the whole scene. A finger touches the object when that
    nearest point belongs to the target's object."""
    target = cloud.part_ids == part
    if cloud.object_ids is not None:
        obj_id = np.bincount(cloud.object_ids[target] + 1).argmax() - 1
        on_object = (cloud.object_ids == obj_id) if obj_id >= 0 else target
    else:
        on_object = cloud.part_ids >= 0
    dist, idx = tree.query(fingers.reshape(-1, 3), distance_upper_bound=distance)
    dist, idx = dist.reshape(fingers.shape[:3]), idx.reshape(fingers.shape[:3])
    k_best = dist.argmin(-1)
    touching = np.isfinite(np.take_along_axis(dist, k_best[..., None], -1)[..., 0])     # (N, 5)
    nearest = np.where(touching, np.take_along_axis(idx, k_best[..., None], -1)[..., 0], 0)
    on_part = touching & target[nearest]
    touching &= on_object[nearest]
    contacts = np.where(touching[..., None], cloud.points[nearest], np.nan)
    inward = np.where(touching[..., None], -cloud.normals[nearest], np.nan)
    return on_part, contacts, inward


def _reachability(grasps: list[DexGrasp], T_base_cloud: np.ndarray, config: RankingConfig, reach: ArmReach | None):
    """The arm's answer for the grasp and pre-grasp palm poses; (q (N, dof), grasp ok, pre-grasp
    ok, term); without an arm everything is reachable, term 1, no joints."""
    n = len(grasps)
    if reach is None:
        return np.zeros((n, 0)), np.ones(n, bool), np.ones(n, bool), np.ones(n)
    palm = T_base_cloud @ np.stack([g.homogeneous() for g in grasps])
    pre = palm.copy()
    pre[:, :3, 3] -= config.pre_grasp_offset * (palm[:, :3, :3] @ PALM_NORMAL)
    return reach.reach(palm, pre)


def _closure(contacts: np.ndarray, inward: np.ndarray, config: RankingConfig):
    """(N,) σ_min of the friction-cone grasp matrix and (N,) normal spread (module docstring)."""
    touching = np.isfinite(contacts[..., 0])                    # (N, 5)
    count = touching.sum(-1)
    c = np.nan_to_num(contacts)
    nrm = np.nan_to_num(inward)
    centroid = (c * touching[..., None]).sum(1) / np.maximum(count, 1)[:, None]
    # an orthonormal tangent basis per contact, then the cone's edges n + μ (cos a t1 + sin a t2)
    helper = np.where(np.abs(nrm[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    t1 = np.cross(nrm, helper)
    t1 /= np.maximum(np.linalg.norm(t1, axis=-1, keepdims=True), 1e-12)
    t2 = np.cross(nrm, t1)
    angles = 2 * np.pi * np.arange(config.cone_edges) / config.cone_edges
    edges = nrm[..., None, :] + config.friction * (np.cos(angles)[:, None] * t1[..., None, :]
                                                   + np.sin(angles)[:, None] * t2[..., None, :])
    edges /= np.maximum(np.linalg.norm(edges, axis=-1, keepdims=True), 1e-12)   # (N, 5, E, 3)
    edges *= touching[..., None, None]
    arm = (c - centroid[:, None]) / config.torque_length
    torques = np.cross(arm[..., None, :], edges)
    G = np.concatenate([edges, torques], axis=-1).reshape(len(c), -1, 6).transpose(0, 2, 1)
    sigma = np.linalg.svd(G, compute_uv=False)[:, -1]
    mean_normal = (nrm * touching[..., None]).sum(1) / np.maximum(count, 1)[:, None]
    spread = np.where(count >= 2, 1.0 - np.linalg.norm(mean_normal, axis=-1), 0.0)
    return sigma, spread
