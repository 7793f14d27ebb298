"""CPU antipodal grasp sampler: object cloud → scored 6-DoF parallel-jaw grasps, no weights.

Algorithm (all in the camera frame, metres):

1. **Completion.** A single view sees an object's top and at most its near sides, never two
   opposite faces, so no antipodal pair could be observed. When the support plane is known, the
   object is completed as a prism standing on it: the boundary cells of its footprint (the points
   projected onto the plane, on a ``voxel`` grid) are extruded from their highest point down to the
   plane. The walls stand for the unseen sides; they are also obstacles for the fingers.
2. **Normals.** Open3D estimates normals on the voxel-downsampled completed cloud (hybrid
   radius/k-NN search); they are turned outward, away from the cloud's centroid (right for convex
   shapes; inner surfaces of concave ones, e.g. a bowl's inside, come out reversed).
3. **Antipodal pairs.** From ``seeds`` random points p1, a ray is cast into the object along −n1;
   the points it meets (nearest neighbour within ``0.75 · voxel`` of samples every half voxel up to
   ``2 · max_width``, scipy cKDTree) are candidate second contacts p2. A pair is antipodal when the
   line p1→p2 lies inside both friction cones (half-angle ``atan(friction)``): ``−n1·c ≥ cos`` and
   ``n2·c ≥ cos`` with c = (p2 − p1)/|p2 − p1|. The farthest antipodal hit is kept (the fingers
   close on the outer surfaces). Pairs wider than ``max_width`` are dropped (when every pair is, the
   object is refused as wider than the gripper).
4. **Approaches.** The grasp centre is the contacts' midpoint, the closing axis c; the approach is
   the preferred direction (against the support plane's normal: top-down onto the table; else the
   viewing ray through the centroid) made orthogonal to c, and that direction turned about c by
   each of ``approach_offsets``.
5. **Score.** ``antipodal`` (how deep inside the friction cones, 0–1), ``centroid``
   (exp(−d²/σ²), d = centre-to-object-centroid distance) and ``approach`` (cosine to the preferred
   direction, clipped at 0), weighted by ``weights``; every part is kept per grasp.
6. **Collision.** With a support plane, a candidate whose hand (any corner of the finger and palm
   boxes) comes closer than ``table_clearance`` to it is first backed off along the approach (at
   most ``GripperGeometry.pad_half``: the contacts stay on the finger pads), else dropped; the
   plane's points then leave the scene cloud. Candidates are checked best first, 32 at a time,
   until ``enough_free`` are free or every candidate (at most ``max_collision_checks``) was checked,
   against the scene cloud within the hand's reach plus the walls, voxel-downsampled to
   ``collision_voxel``: at most ``collision_tolerance`` points inside either finger or the palm
   (boxes of :class:`GripperGeometry`, opened ``width + width_clearance``). A blocked candidate is
   backed off along its approach (``pad_half / 2``, then ``pad_half`` from the contacts in all:
   they stay on the pads) and its whole hand checked there again. The object's own points count:
   on an object taller than the fingers are long (a standing pear or bottle) the palm of a grasp
   across its widest part lands on its own top; the free grasps (higher up, backed off, tilted)
   may rank behind hundreds of those — hence no cap on the checks by default.
7. **NMS** (graspnetAPI's ``GraspGroup.nms``, translation ``nms_translation``, rotation
   ``nms_rotation``) and the result sorted best first.

Output: :class:`CoarseGrasps`, holding a graspnetAPI ``GraspGroup`` (17-float rows: score, width,
height, depth, R(9, row-major, graspnetAPI's x = approach), t(3), object_id = -1). graspnetAPI's
``t`` is realvlg's grasp centre and its ``depth`` is how far the fingertips reach past it
(``GripperGeometry.tip_beyond``). ``CoarseGrasps.grasp6d(i)`` gives realvlg's :class:`Grasp6D`
(z = approach, y = closing) with the score parts in ``extras``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError, RealVLGError
from realvlg.frames import FRANKA_HAND_STROKE
from realvlg.geometry.grasps import Grasp6D, from_graspnet_rotation, to_graspnet_rotation
from realvlg.planning.object_grasp import SupportPlane

SCORE_PARTS = ("antipodal", "centroid", "approach")


class MissingDependencyError(RealVLGError):
    """An optional component (library, compiled ops, checkpoint) is not installed; the message
    names it and how to get it."""


def graspnet_api():
    """The graspnetAPI module (its import logs ROS warnings from autolab_core: silenced)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        import graspnetAPI
    except ImportError as exc:
        raise MissingDependencyError(
            f"graspnetAPI (GraspGroup, NMS) is not importable ({exc}); install it with ./scripts/setup.sh "
            "(pip install --no-deps graspnetAPI==1.2.11 && pip install --no-build-isolation grasp_nms)") from None
    finally:
        root.setLevel(level)
    return graspnetAPI


@dataclass(frozen=True)
class GripperGeometry:
    """A parallel-jaw hand as three boxes in the gripper frame (x = y × z, y = closing, z = approach,
    origin = grasp centre). Defaults: the Franka Hand (fingers ~2 cm wide, reaching 1 cm past the
    centre; a 20 × 6 cm palm 4.5 cm behind the tips)."""

    finger_width: float = 0.02        # along x
    finger_thickness: float = 0.01    # along y, outside the opening
    finger_length: float = 0.045      # along z, from the palm to the tips
    tip_beyond: float = 0.01          # tips past the grasp centre along the approach
    pad_half: float = 0.008           # contacts may lie this far from the centre along the approach
    palm_width: float = 0.2           # along y
    palm_thickness: float = 0.06      # along x
    palm_depth: float = 0.04          # along z

    def reach(self, opening: float) -> float:
        """Distance from the grasp centre to the hand's farthest corner at this opening."""
        half_y = max(self.palm_width / 2, opening / 2 + self.finger_thickness)
        half_x = max(self.palm_thickness, self.finger_width) / 2
        return math.hypot(half_x, half_y, self.finger_length + self.palm_depth - self.tip_beyond)

    def boxes(self, opening: np.ndarray) -> np.ndarray:
        """(N, 3, 2, 3) [min, max] corners of finger −y, finger +y and palm, for openings (N,)."""
        o = np.asarray(opening, dtype=float)[:, None] / 2
        fx, tip, base = self.finger_width / 2, self.tip_beyond, self.tip_beyond - self.finger_length
        n = len(o)
        lo = np.empty((n, 3, 3))
        hi = np.empty((n, 3, 3))
        lo[:, 0] = np.c_[np.full(n, -fx), -o[:, 0] - self.finger_thickness, np.full(n, base)]
        hi[:, 0] = np.c_[np.full(n, fx), -o[:, 0], np.full(n, tip)]
        lo[:, 1] = np.c_[np.full(n, -fx), o[:, 0], np.full(n, base)]
        hi[:, 1] = np.c_[np.full(n, fx), o[:, 0] + self.finger_thickness, np.full(n, tip)]
        half_palm = np.maximum(self.palm_width / 2, o[:, 0] + self.finger_thickness)
        lo[:, 2] = np.c_[np.full(n, -self.palm_thickness / 2), -half_palm, np.full(n, base - self.palm_depth)]
        hi[:, 2] = np.c_[np.full(n, self.palm_thickness / 2), half_palm, np.full(n, base)]
        return np.stack([lo, hi], axis=2)


@dataclass(frozen=True)
class AntipodalConfig:
    """Parameters of :func:`sample_antipodal` (metres, radians)."""

    max_width: float = FRANKA_HAND_STROKE
    min_width: float = 0.004
    width_clearance: float = 0.01          # the fingers open this much wider than the contacts
    friction: float = 0.4                  # Coulomb coefficient: cone half-angle atan(0.4) ≈ 21.8°
    voxel: float = 0.003
    seeds: int = 1000
    approach_offsets: tuple[float, ...] = (0.0, math.radians(-30), math.radians(30), math.radians(-60),
                                           math.radians(60))
    centroid_sigma: float = 0.03
    weights: tuple[float, float, float] = (0.4, 0.3, 0.3)  # antipodal, centroid, approach
    max_collision_checks: int | None = None  # candidates checked at most, best first (None: all)
    enough_free: int = 64                  # collision checks stop once this many grasps are free
    collision_tolerance: int = 3           # points allowed inside the hand (sensor noise)
    table_clearance: float = 0.003         # every corner of the hand this far above the support plane
    collision_voxel: float = 0.004         # the scene is checked at this resolution
    nms_translation: float = 0.02
    nms_rotation: float = math.radians(30)
    gripper: GripperGeometry = field(default_factory=GripperGeometry)
    seed: int = 0
    frame: str = "camera_color_optical_frame"

    def __post_init__(self) -> None:
        if not (0 < self.min_width < self.max_width) or self.voxel <= 0 or self.friction <= 0 or self.seeds < 1:
            raise InvalidInputError("antipodal config needs 0 < min_width < max_width, voxel > 0, friction > 0, "
                                    "seeds ≥ 1")
        if min(self.weights) < 0 or sum(self.weights) <= 0:
            raise InvalidInputError(f"score weights must be non-negative with a positive sum, got {self.weights}")


@dataclass
class CoarseGrasps:
    """Grasps best first: ``group`` a graspnetAPI ``GraspGroup`` (camera frame), ``parts`` the score
    parts per grasp (name → (N,) array; the GraspGroup's score is their weighted sum), ``stats``
    counts of each stage (explains an empty result)."""

    group: object
    parts: dict[str, np.ndarray]
    stats: dict[str, int]
    frame: str = "camera_color_optical_frame"

    def __len__(self) -> int:
        return len(self.group)

    def grasp6d(self, i: int) -> Grasp6D:
        row = self.group.grasp_group_array[i]
        R = from_graspnet_rotation(row[4:13].reshape(3, 3))
        parts = {k: float(v[i]) for k, v in self.parts.items()}
        return Grasp6D(row[13:16], Rotation.from_matrix(R), float(row[1]), self.frame, float(row[0]),
                       extras={"score_parts": parts, "tip_depth": float(row[3])})

    def grasps(self, top: int | None = None) -> list[Grasp6D]:
        return [self.grasp6d(i) for i in range(min(len(self), top if top is not None else len(self)))]


def to_grasp_array(position: np.ndarray, rotation: np.ndarray, width: np.ndarray, score: np.ndarray,
                   gripper: GripperGeometry = GripperGeometry(), object_id: np.ndarray | float = -1) -> np.ndarray:
    """(N, 17) graspnetAPI rows from realvlg grasps: centres (N, 3), realvlg rotations (N, 3, 3)."""
    n = len(position)
    rows = np.empty((n, 17))
    rows[:, 0], rows[:, 1] = score, width
    rows[:, 2], rows[:, 3] = gripper.finger_width, gripper.tip_beyond
    rows[:, 4:13] = to_graspnet_rotation(rotation).reshape(n, 9)
    rows[:, 13:16] = position
    rows[:, 16] = object_id
    return rows


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _plane_basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = _unit(np.cross(normal, helper))
    return e1, np.cross(normal, e1)


def prism_walls(points: np.ndarray, support: SupportPlane, voxel: float) -> np.ndarray:
    """Points on the vertical walls of the object's footprint, from each boundary cell's highest
    point down to the support plane, every ``voxel`` (step 1 of the module docstring)."""
    e1, e2 = _plane_basis(support.normal)
    height = support.height_above(points)
    cells = np.floor(np.c_[points @ e1, points @ e2] / voxel).astype(np.int64)
    cells -= cells.min(axis=0) - 1  # a free border of one cell all round
    shape = tuple(cells.max(axis=0) + 2)
    flat = np.ravel_multi_index(cells.T, shape)
    by_cell = np.lexsort((height, flat))  # by cell, then by height: each cell's highest point last
    highest = by_cell[np.r_[flat[by_cell][1:] != flat[by_cell][:-1], True]]
    occupied = np.zeros(shape, bool)
    occupied.ravel()[flat[highest]] = True
    inner = occupied.copy()
    inner[1:-1, 1:-1] &= occupied[:-2, 1:-1] & occupied[2:, 1:-1] & occupied[1:-1, :-2] & occupied[1:-1, 2:]
    on_boundary = (occupied & ~inner).ravel()[flat[highest]]
    starts, start_heights = points[highest[on_boundary]], height[highest[on_boundary]]
    steps = np.arange(1, int(np.ceil(start_heights.max(initial=0) / voxel)) + 1) * voxel
    drop = np.minimum(steps[None, :], start_heights[:, None] - voxel / 2)  # stop just above the plane
    walls = starts[:, None, :] + drop[..., None] * support.normal
    return np.unique(walls.reshape(-1, 3).round(6), axis=0)


def _normals(points: np.ndarray, voxel: float) -> tuple[np.ndarray, np.ndarray]:
    """Voxel-downsampled points and their outward normals (step 2)."""
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points.astype(np.float64)))
    cloud = cloud.voxel_down_sample(voxel)
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=3 * voxel, max_nn=24))
    pts, normals = np.asarray(cloud.points), np.asarray(cloud.normals)
    flip = np.einsum("ij,ij->i", normals, pts - pts.mean(axis=0)) < 0
    normals[flip] *= -1
    return pts, normals


def _antipodal_pairs(pts: np.ndarray, normals: np.ndarray, cfg: AntipodalConfig,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(p1, p2, antipodality 0–1, widest pair seen) of the seeds' farthest antipodal hits (step 3)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(pts)
    seeds = rng.choice(len(pts), size=min(cfg.seeds, len(pts)), replace=False)
    p1, n1 = pts[seeds], normals[seeds]
    t = np.arange(2 * cfg.voxel, 2 * cfg.max_width, cfg.voxel / 2)
    samples = p1[:, None, :] - t[None, :, None] * n1[:, None, :]
    dist, hit = tree.query(samples.reshape(-1, 3), distance_upper_bound=0.75 * cfg.voxel, workers=-1)
    hit = hit.reshape(len(seeds), len(t))
    found = np.isfinite(dist.reshape(len(seeds), len(t)))
    hit_safe = np.where(found, hit, 0)
    c = pts[hit_safe] - p1[:, None, :]
    length = np.linalg.norm(c, axis=-1)
    c /= np.maximum(length, 1e-12)[..., None]
    cos_cone = math.cos(math.atan(cfg.friction))
    cos1 = -np.einsum("sj,stj->st", n1, c)
    cos2 = np.einsum("stj,stj->st", normals[hit_safe], c)
    ok = found & (cos1 >= cos_cone) & (cos2 >= cos_cone) & (length >= cfg.min_width)
    widest_ok = np.where(ok, length, 0).max(initial=0.0)
    ok &= length <= cfg.max_width
    has = ok.any(axis=1)
    last = len(t) - 1 - np.argmax(ok[:, ::-1], axis=1)  # the farthest antipodal hit per seed
    rows = np.flatnonzero(has)
    cols = last[rows]
    antipodality = (np.minimum(cos1[rows, cols], cos2[rows, cols]) - cos_cone) / (1 - cos_cone)
    return p1[rows], pts[hit_safe[rows, cols]], antipodality, widest_ok


def in_hand_counts(scene: np.ndarray, centres: np.ndarray, rotations: np.ndarray, opening: np.ndarray,
                    gripper: GripperGeometry) -> np.ndarray:
    """(N,) number of scene points inside each grasp's fingers or palm (the boxes of
    :meth:`GripperGeometry.boxes`, tested with |x| and |y| by symmetry)."""
    g = gripper
    local = np.matmul((scene[None, :, :] - centres[:, None, :]).astype(np.float32),
                      rotations.astype(np.float32))  # Rᵀ(p − c), row-wise: (N, P, 3)
    ax, ay, z = np.abs(local[..., 0]), np.abs(local[..., 1]), local[..., 2]
    half = (opening / 2)[:, None].astype(np.float32)
    base = g.tip_beyond - g.finger_length
    finger = (ax <= g.finger_width / 2) & (ay >= half) & (ay <= half + g.finger_thickness) & (z >= base) \
        & (z <= g.tip_beyond)
    palm = (ax <= g.palm_thickness / 2) & (ay <= np.maximum(g.palm_width / 2, half + g.finger_thickness)) \
        & (z >= base - g.palm_depth) & (z < base)
    return (finger | palm).sum(axis=1)


def hand_corners(centres: np.ndarray, rotations: np.ndarray, opening: np.ndarray,
                 gripper: GripperGeometry) -> np.ndarray:
    """(N, 24, 3) corners of the fingers and the palm of grasps (centres (N, 3), realvlg rotations
    (N, 3, 3)) opened to ``opening`` (N,), in the grasps' frame."""
    boxes = gripper.boxes(opening)  # (N, 3, 2, 3)
    pick = np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T  # (8, 3) lo/hi per axis
    corners = np.stack([boxes[:, :, pick[:, k], k] for k in range(3)], axis=-1).reshape(len(centres), 24, 3)
    return np.einsum("nij,nkj->nki", rotations, corners) + centres[:, None, :]


def voxel_downsample(points: np.ndarray, voxel: float) -> np.ndarray:
    """One point (the first) per ``voxel`` cube."""
    if len(points) == 0:
        return points
    _, first = np.unique(np.floor(points / voxel).astype(np.int64), axis=0, return_index=True)
    return points[first]


def sample_antipodal(object_points: np.ndarray, scene_points: np.ndarray | None = None,
                     support: SupportPlane | None = None, config: AntipodalConfig = AntipodalConfig(),
                     preferred_approach: np.ndarray | None = None) -> CoarseGrasps:
    """Antipodal grasps on ``object_points`` (N, 3), checked against ``scene_points`` (M, 3),
    best first (module docstring: the algorithm). ``preferred_approach`` overrides the default
    preference (against the support normal, else the viewing ray through the centroid).

    Raises :class:`InvalidInputError` for malformed clouds, :class:`DepthError` when the cloud is
    too sparse for normals, :class:`GraspRefusedError` when no pair fits the gripper or every
    candidate collides."""
    gn = graspnet_api()
    cfg = config
    obj = np.asarray(object_points, dtype=float)
    if obj.ndim != 2 or obj.shape[1] != 3 or not np.isfinite(obj).all():
        raise InvalidInputError(f"object points must be finite with shape (N, 3), got {obj.shape}")
    scene = np.empty((0, 3)) if scene_points is None else np.asarray(scene_points, dtype=float)
    if scene.ndim != 2 or scene.shape[1] != 3:
        raise InvalidInputError(f"scene points must have shape (M, 3), got {scene.shape}")
    walls = prism_walls(obj, support, cfg.voxel) if support is not None else np.empty((0, 3))
    pts, normals = _normals(np.vstack([obj, walls]), cfg.voxel)
    if len(pts) < 20:
        raise DepthError(f"the object cloud has only {len(pts)} points at {cfg.voxel * 1000:.0f} mm spacing (need 20)")
    rng = np.random.default_rng(cfg.seed)
    p1, p2, antipodality, widest = _antipodal_pairs(pts, normals, cfg, rng)
    stats = {"object_points": len(obj), "wall_points": len(walls), "seeds": min(cfg.seeds, len(pts)),
             "antipodal_pairs": len(p1)}
    if len(p1) == 0:
        if widest > cfg.max_width:
            raise GraspRefusedError(f"the object is wider than the gripper: its antipodal pairs are at least "
                                    f"{widest * 100:.1f} cm apart, the gripper opens {cfg.max_width * 100:.1f} cm")
        raise GraspRefusedError(f"no antipodal contact pair on the object ({stats['seeds']} seeds, friction "
                                f"{cfg.friction}): too little of its surface is visible")
    centroid = pts.mean(axis=0)
    if preferred_approach is not None:
        preferred = _unit(np.asarray(preferred_approach, dtype=float))
    elif support is not None:
        preferred = support.normal
    else:
        preferred = _unit(centroid)
    closing = _unit(p2 - p1)
    centre = (p1 + p2) / 2
    base = preferred - closing * (closing @ preferred)[:, None]
    usable = np.linalg.norm(base, axis=1) > 1e-3  # closing along the preferred approach: no base direction
    closing, centre, p1, p2, antipodality, base = (a[usable] for a in (closing, centre, p1, p2, antipodality, base))
    base = _unit(base)
    # each approach: base turned about the closing axis (Rodrigues; base ⟂ closing)
    angles = np.asarray(cfg.approach_offsets)
    approach = (np.cos(angles)[None, :, None] * base[:, None, :]
                + np.sin(angles)[None, :, None] * np.cross(closing, base)[:, None, :]).reshape(-1, 3)
    k = len(angles)
    closing, centre, antipodality = np.repeat(closing, k, 0), np.repeat(centre, k, 0), np.repeat(antipodality, k)
    width = np.repeat(np.linalg.norm(p2 - p1, axis=1), k)
    rotation = np.stack([np.cross(closing, approach), closing, approach], axis=-1)
    d = np.linalg.norm(centre - centroid, axis=1)
    parts = {"antipodal": np.clip(antipodality, 0, 1), "centroid": np.exp(-(d / cfg.centroid_sigma) ** 2),
             "approach": np.clip(approach @ preferred, 0, 1)}
    w = np.asarray(cfg.weights) / sum(cfg.weights)
    score = sum(wi * parts[name] for wi, name in zip(w, SCORE_PARTS))
    stats["candidates"] = len(score)
    order = np.argsort(-score, kind="stable")
    # the hand's lowest corner above the table, how fast backing off along the approach raises it, and
    # how far each centre is backed off from its contacts
    lowest, rise, shift = np.full(len(centre), np.inf), np.zeros(len(centre)), np.zeros(len(centre))
    if support is not None:  # the table as a plane: every corner of the hand above it
        corners = hand_corners(centre, rotation, width + cfg.width_clearance, cfg.gripper)
        lowest = support.height_above(corners.reshape(-1, 3)).reshape(len(centre), -1).min(axis=1)
        # back off along the approach (contacts stay on the pads) when that clears the table
        rise = approach @ support.normal
        shift = np.where(rise > 1e-3, np.clip((cfg.table_clearance - lowest) / np.maximum(rise, 1e-3), 0,
                                              cfg.gripper.pad_half), 0.0)
        centre = centre - shift[:, None] * approach
        clear = lowest + shift * rise >= cfg.table_clearance - 1e-9
        stats["table_collisions"] = int((~clear).sum())
        order = order[clear[order]]
        # the table's own points are covered by the plane test
        scene = scene[support.height_above(scene) > cfg.table_clearance]
    if len(order) == 0:
        raise GraspRefusedError(f"every antipodal grasp's fingers or palm would hit the table "
                                f"({stats['candidates']} candidates): the object is too flat to grasp")
    best = order[:cfg.max_collision_checks]
    reach = (np.linalg.norm(centre[best] - centroid, axis=1).max() + cfg.gripper.reach(cfg.max_width)
             + cfg.gripper.pad_half)  # the hand backed off included
    near = scene[np.linalg.norm(scene - centroid, axis=1) < reach]
    obstacles = voxel_downsample(np.vstack([near, walls]), cfg.collision_voxel)
    free_parts, checked, backed_off = [], 0, 0
    for s in range(0, len(best), 32):  # best first, until enough are free
        batch = best[s:s + 32]
        opening = width[batch] + cfg.width_clearance
        hits = in_hand_counts(obstacles, centre[batch], rotation[batch], opening, cfg.gripper)
        # blocked (the palm on the object's own top, a neighbour): back off along the approach, in all at
        # most pad_half from the contacts, and check the whole hand there again
        for back in (cfg.gripper.pad_half / 2, cfg.gripper.pad_half):
            again = np.flatnonzero((hits > cfg.collision_tolerance) & (shift[batch] < back)
                                   & (lowest[batch] + back * rise[batch] >= cfg.table_clearance - 1e-9))
            if len(again) == 0:
                continue
            i = batch[again]
            moved = centre[i] - (back - shift[i])[:, None] * approach[i]
            now = in_hand_counts(obstacles, moved, rotation[i], opening[again], cfg.gripper)
            ok = now <= cfg.collision_tolerance
            centre[i[ok]], shift[i[ok]], hits[again[ok]] = moved[ok], back, now[ok]
            backed_off += int(ok.sum())
        free_parts.append(batch[hits <= cfg.collision_tolerance])
        checked += len(batch)
        if sum(map(len, free_parts)) >= cfg.enough_free:
            break
    free = np.concatenate(free_parts)
    stats["collision_checked"], stats["collision_free"], stats["backed_off"] = checked, len(free), backed_off
    if len(free) == 0:
        checked_of = "" if len(best) == len(order) else f" best of {len(order)}"
        raise GraspRefusedError(f"all {len(best)}{checked_of} antipodal grasps collide with the scene (fingers or palm)")
    rows = to_grasp_array(centre[free], rotation[free], width[free], score[free], cfg.gripper, object_id=free)
    group = gn.GraspGroup(rows).nms(cfg.nms_translation, cfg.nms_rotation)
    group.sort_by_score()
    kept = group.grasp_group_array[:, 16].astype(np.int64)  # object_id carried each candidate's index
    group.grasp_group_array[:, 16] = -1
    stats["after_nms"] = len(kept)
    return CoarseGrasps(group, {name: parts[name][kept] for name in SCORE_PARTS}, stats, cfg.frame)
