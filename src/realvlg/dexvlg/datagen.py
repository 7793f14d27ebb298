"""Part-aware Shadow Hand grasp synthesis on the simulated objects (DexVLG paper §4.3–4.4).

For every object, every named part with a visible surface, and ``batches_per_part`` batches of
``batch_size`` candidates:

1. **Part-aware initialisation** (§4.3.1, :func:`initial_poses`): the part's oriented bounding
   box (Open3D, from the part's surface points). An approach direction ``a`` (hand → part) is one
   of the OBB's six face normals, drawn with probability ∝ face area (so long parts are
   approached across their length), jittered by up to 20°, never from below the table
   (``a_z ≤ 0.3``). The palm faces the part (palm −y = ``a``), its knuckle line (palm x) lies along
   the OBB's longest axis orthogonal to ``a`` (rolled ±25°, either sign), and it stands
   :data:`PALM_STANDOFF` off the face at a grasp point drawn on the face's central half, jittered
   ±1 cm. Fingers are pre-shaped open, the thumb opposed (:data:`PRESHAPE`). Each candidate draws
   a contact mode: the thumb plus 1–4 other fingers that the optimiser pulls onto the part.
2. **Gradient-based optimisation** (§4.3.2, :func:`optimise`): Adam on palm translation, a
   rotation increment (axis–angle) and the 18 free joints (each J0 follows J1 through the tendon
   coupling; joints are projected onto their limits after each step), minimising, per candidate,

   ``E = w_dis·E_dis + w_fc·E_fc + w_palm·E_palm + w_pen·E_pen + w_self·E_self + w_part·E_part + w_table·E_table``

   * ``E_dis``: Σ over the mode's fingers of |d + 1 mm|, d the signed distance from the finger's
     pad (the palmar half of its distal link) to the part's surface (analytic SDF,
     :class:`~realvlg.dexvlg.objects.ObjectSDF`; :data:`PAD_DEPTH`: a slight press, so that the
     contacts exist in MuJoCo), plus the pad's distance to the part's surface
     points on the side that finger must reach — for opposition: the Shadow Hand's curled finger
     pads face the wrist (palm −z) and the opposed thumb's pad the fingertips (palm +z), so the four
     fingers reach for the part's surface facing palm +z (normal · z > :data:`SIDE_COS`, initial
     palm), the thumb for the surface facing −z;
   * ``E_fc`` (frictionless force-closure proxy in place of the paper's LP force closure): the
     norm of the sum of the outward unit surface normals (SDF gradients) at the mode's pads and,
     weighted by its closeness (1 at contact, 0 from 1 cm), the palm centre — zero when unit
     contact forces balance;
   * ``E_palm``: |d(palm centre, object) − :data:`PALM_GAP`| (paper eq. 3's palm term, d0 = 1 cm);
   * ``E_pen``: hand surface points inside the object (object SDF < 0) plus object surface points
     inside the hand's collision capsules/boxes (hand SDF < 0), depths summed [m];
   * ``E_self``: hand surface points closer than 1 mm to (or inside) a collision geom of a link
     they must not touch (:func:`self_collision_bodies`);
   * ``E_part`` (part alignment, the idea of eq. 1 as a hinge instead of a log barrier so that a
     start inside the barrier is allowed): hand points within 1.5 cm of the object that are
     not at least 3 mm closer to the target part than to any other part;
   * ``E_table``: hand points below z = 5 mm (the objects stand on a table at z = 0);
   * joint limits: enforced by projection (clamping), so no energy term is needed.

3. **MuJoCo validation** (§4.4, :class:`GraspValidator`) of every optimised candidate, object free
   at the origin, hand fixed (mocap) with position-held fingers, in this order (the first failure
   is the rejection reason counted in meta.json):

   * ``penetration``: deepest hand–object MuJoCo contact ≤ :data:`PENETRATION_TOL` (2 mm);
   * ``self_penetration``: the deepest overlap of the collision-geom pairs of
     :func:`self_collision_bodies` ≤ :data:`SELF_PENETRATION_TOL` (1 mm);
   * ``table``: no hand collision geom below z = 0;
   * ``fingers``: at least :data:`MIN_FINGERS` fingers touch the object (a link of the finger
     within :data:`CONTACT_DIST`, 3 mm, by ``mj_geomDistance``);
   * ``part_alignment``: the closest object point of every touching hand link (palm included)
     is closer to the intended part than to any other part (ties within 0.1 mm count as the
     intended part);
   * ``stability``: the fingers are position-held (gain :data:`HOLD_KP`, the MJCF's force
     ranges) at squeeze targets (each touching middle/distal link pushed
     :data:`SQUEEZE_DISTANCE`, 5 mm, into the object along the surface normal, through its
     Jacobian), then with gravity (9.81 m/s²) along +x, −x, +y, −y, +z, −z
     in turn, 1 s each from the grasp, the object moves less than :data:`STABLE_DISPLACEMENT`
     (2 cm).

   The touching fingers give the caption.

Output: the dataset of :mod:`realvlg.dexvlg.dataset`; append-only grasps.jsonl and meta.json with
the counts, rewritten after every (object, part, batch) unit — a rerun with the same settings skips
finished units (and drops lines of a unit that was cut off). Everything is seeded per unit.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import pathlib
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from realvlg.dexvlg.dataset import (
    FORMAT_VERSION,
    GENERATOR,
    append_records,
    grasp_record,
    save_object_cloud,
    write_meta,
)
from realvlg.dexvlg.hand import FINGER_LINKS, ShadowHand, _link_finger, couple_distal, floating_hand_mjcf
from realvlg.dexvlg.objects import ObjectCloud, ObjectSDF, object_cloud
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import DexGrasp
from realvlg.objects import OBJECTS
from realvlg.shadow_hand import FINGERS, JOINT_LOWER, JOINT_UPPER, MJCF_PREFIX, SHADOW_JOINTS

PENETRATION_TOL = 0.002
SELF_PENETRATION_TOL = 0.001
STABLE_DISPLACEMENT = 0.02
SQUEEZE_DISTANCE = 0.005
MIN_FINGERS = 2
HOLD_KP = 5.0  # finger position gain in validation [N·m/rad]; the MJCF's 1 cannot hold a 0.25 kg mug
CONTACT_DIST = 0.003  # a hand link this close to the object touches it [m]
SIDE_COS = 0.2  # a part point faces the fingers (thumb) when n · palm z > 0.2 (< −0.2), initial palm
PALM_GAP = 0.01  # E_palm's target distance of the palm centre from the object (paper eq. 3's d0) [m]
PAD_DEPTH = 0.001  # E_dis pulls the pads this far into the surface so that MuJoCo sees the contacts [m]
PALM_STANDOFF = 0.03  # palm surface to the OBB face at initialisation [m]
PALM_CENTRE = (0.011, -0.0111, 0.05)  # the palm's front face centre, palm frame [m]
PALM_HALF_THICKNESS = 0.0111
GRASP_POINT = (0.01, 0.12)  # (palm x, palm z) that is put over the grasp point at initialisation [m]
PRESHAPE = {"FFJ2": 0.1, "FFJ1": 0.1, "MFJ2": 0.1, "MFJ1": 0.1, "RFJ2": 0.1, "RFJ1": 0.1, "LFJ2": 0.1, "LFJ1": 0.1,
            "THJ4": 1.0, "THJ3": 0.4}
"""Initial joint angles (others 0): fingers slightly bent, thumb opposed to the index/middle."""
CHECKS = ("penetration", "self_penetration", "table", "fingers", "part_alignment", "stability")
GRAVITY_DIRECTIONS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)


@dataclass(frozen=True)
class EnergyWeights:
    dis: float = 1.0
    fc: float = 0.3
    palm: float = 1.0
    pen: float = 10.0
    self: float = 30.0
    part: float = 10.0
    table: float = 30.0


@dataclass(frozen=True)
class DexDatagenConfig:
    root: str = "data/dexvlg"
    seed: int = 0
    objects: tuple[str, ...] = tuple(OBJECTS)
    parts: tuple[str, ...] = ()  # "object/part" keys to restrict to; empty: every visible part
    batches_per_part: int = 8
    batch_size: int = 32
    steps: int = 200
    cloud_points: int = 4096
    weights: EnergyWeights = EnergyWeights()

    def settings(self) -> dict:
        """What a resumed run must share with the run that started the dataset."""
        d = dataclasses.asdict(self)
        d.pop("root")
        d["objects"] = list(self.objects)
        d["parts"] = list(self.parts)
        return d


# -- initialisation -----------------------------------------------------------------------------
def part_obb(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Oriented bounding box of a part's points: centre (3,), axes (3, 3) as columns sorted by
    decreasing extent, half extents (3,)."""
    import open3d as o3d

    pcd = o3d.utility.Vector3dVector(np.asarray(points, dtype=np.float64))
    try:
        obb = o3d.geometry.OrientedBoundingBox.create_from_points(pcd)
        centre, axes, half = np.asarray(obb.center), np.asarray(obb.R), np.asarray(obb.extent) / 2
    except RuntimeError:  # degenerate (planar) point set: PCA box
        centre = points.mean(0)
        axes = np.linalg.svd(points - centre, full_matrices=False)[2].T
        proj = (points - centre) @ axes
        centre = centre + axes @ ((proj.max(0) + proj.min(0)) / 2)
        half = (proj.max(0) - proj.min(0)) / 2
    order = np.argsort(-half)
    return centre, axes[:, order], half[order]


def initial_poses(points: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` initial (palm poses (n, 4, 4), joints (n, 22)) facing the part whose surface
    ``points`` are given (module docstring, step 1)."""
    centre, axes, half = part_obb(points)
    face_area = np.array([half[1] * half[2], half[0] * half[2], half[0] * half[1]]) + 1e-6
    poses = np.empty((n, 4, 4))
    for i in range(n):
        for _ in range(100):
            k = rng.choice(3, p=face_area / face_area.sum())
            normal = axes[:, k] * rng.choice((-1.0, 1.0))  # outward face normal
            a = -normal + rng.normal(size=3) * math.radians(20) / math.sqrt(3)
            a /= np.linalg.norm(a)
            if a[2] <= 0.3:
                break
        long = next(axes[:, j] for j in range(3) if j != k)
        x = long - (long @ a) * a
        x = Rotation.from_rotvec(a * rng.uniform(-1, 1) * math.radians(25)).apply(x / np.linalg.norm(x))
        x *= rng.choice((-1.0, 1.0))
        y = -a
        R = np.column_stack([x, y, np.cross(x, y)])
        others = [j for j in range(3) if j != k]
        point = centre + normal * half[k] + sum(axes[:, j] * half[j] * rng.uniform(-0.5, 0.5) for j in others)
        t = point - a * (PALM_STANDOFF + PALM_HALF_THICKNESS) - R @ np.array([GRASP_POINT[0], 0.0, GRASP_POINT[1]])
        poses[i] = np.eye(4)
        poses[i, :3, :3] = R
        poses[i, :3, 3] = t + rng.uniform(-0.01, 0.01, 3)
    joints = np.zeros(len(SHADOW_JOINTS))
    for name, v in PRESHAPE.items():
        joints[SHADOW_JOINTS.index(name)] = v
    return poses, np.tile(couple_distal(joints), (n, 1))


# -- hand geometry for the energy ---------------------------------------------------------------
class _HandGeometry:
    """Torch views of the hand's collision geoms and sample points for the energy."""

    def __init__(self, hand: ShadowHand):
        import mujoco

        m = hand.model
        self.hand = hand
        self.geom_body = torch.tensor([hand.body_ids.index(m.geom_bodyid[g]) for g in hand.collision_geoms])
        local = []
        for g in hand.collision_geoms:
            T = np.eye(4)
            T[:3, :3] = Rotation.from_quat(np.roll(m.geom_quat[g], -1)).as_matrix()
            T[:3, 3] = m.geom_pos[g]
            local.append(T)
        self.geom_local = torch.as_tensor(np.stack(local), dtype=torch.float32)
        self.geom_size = torch.as_tensor(m.geom_size[hand.collision_geoms], dtype=torch.float32)
        self.is_capsule = torch.tensor([m.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE for g in hand.collision_geoms])
        allowed = self_collision_bodies()
        geom_body = [hand.body_names[int(b)] for b in self.geom_body]
        point_body = [hand.body_names[int(b)] for b in hand._point_body[::2]]
        # E_self uses every 2nd hand point (enough at the 1 mm margin, half the cost).
        self.self_points = torch.arange(0, len(hand._point_body), 2)
        self.self_mask = torch.tensor([[frozenset((pb, gb)) in allowed for gb in geom_body] for pb in point_body])
        # Pads: the palmar half of each distal link (fingers flex towards −y, the thumb towards −x).
        pts = hand._points.numpy()
        self.pads = []
        for f in FINGERS:
            body = hand.body_names.index(MJCF_PREFIX + FINGER_LINKS[f][1])
            side = pts[:, 0] if f == "thumb" else pts[:, 1]
            self.pads.append(torch.as_tensor(np.flatnonzero((hand._point_body.numpy() == body) & (side < 0))))

    def geom_distances(self, links: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Signed distances (B, N, G) of ``points`` (B, N, 3) to the hand's collision geoms."""
        T = links[:, self.geom_body] @ self.geom_local  # (B, G, 4, 4)
        R, t = T[..., :3, :3], T[..., :3, 3]
        p = ((points[:, :, None, :] - t[:, None])[..., None, :] @ R[:, None]).squeeze(-2)  # geom frame
        size = self.geom_size
        # capsules: segment along z, radius size[0], half length size[1]
        axis_pt = torch.zeros_like(p)
        axis_pt[..., 2] = torch.maximum(torch.minimum(p[..., 2], size[:, 1]), -size[:, 1])
        capsule = torch.sqrt(((p - axis_pt) ** 2).sum(-1) + 1e-12) - size[:, 0]
        q = p.abs() - size
        box = torch.sqrt((q.clamp(min=0) ** 2).sum(-1) + 1e-12) + q.amax(-1).clamp(max=0)
        return torch.where(self.is_capsule, capsule, box)


@functools.lru_cache(maxsize=1)
def self_collision_bodies() -> frozenset[frozenset[str]]:
    """Body pairs whose collision geoms must not overlap: the MJCF's own ``<contact><pair>``
    list (thumb distal against fingers and palm, neighbouring fingers) plus every pair of middle
    or distal links of two different fingers."""
    import mujoco

    hand = ShadowHand()
    m = hand.model
    pairs = {frozenset((mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, m.geom_bodyid[m.pair_geom1[i]]),
                        mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, m.geom_bodyid[m.pair_geom2[i]])))
             for i in range(m.npair)}
    links = [(f, MJCF_PREFIX + link) for f, pair in FINGER_LINKS.items() for link in pair]
    pairs |= {frozenset((a, b)) for fa, a in links for fb, b in links if fa != fb}
    return frozenset(pairs)


def _pose_from_params(R0: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Palm poses (B, 4, 4) from initial rotations R0, translations t and axis–angle increments w."""
    theta = torch.sqrt((w * w).sum(-1) + 1e-12)[:, None, None]
    K = torch.zeros(w.shape[0], 3, 3, dtype=w.dtype)
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -w[:, 2], w[:, 1], -w[:, 0]
    K = K - K.transpose(1, 2)
    K = K / theta
    dR = torch.eye(3, dtype=w.dtype) + torch.sin(theta) * K + (1 - torch.cos(theta)) * (K @ K)
    R = R0 @ dR
    top = torch.cat([R, t[:, :, None]], dim=2)
    bottom = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=w.dtype).expand(w.shape[0], 1, 4)
    return torch.cat([top, bottom], dim=1)


def energy_terms(geometry: _HandGeometry, sdf: ObjectSDF, object_points: torch.Tensor, part: int,
                 palm: torch.Tensor, joints: torch.Tensor, modes: torch.Tensor, side_points: torch.Tensor,
                 side_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """The energy's terms (module docstring, step 2), each (B,), for palm poses (B, 4, 4), joints
    (B, 22) and contact modes (B, 5) on part index ``part``; ``object_points`` (N, 3) for the
    object-inside-hand half of E_pen; ``side_points`` (M, 3) of the part and ``side_mask``
    (B, 5, M), the points each finger's pad is to reach."""
    hand = geometry.hand
    B, dtype = len(palm), palm.dtype
    links = hand.fk(palm, couple_distal(joints))
    pts = hand.points_torch(links)  # (B, K, 3)
    part_d = sdf.part_distances(pts)  # (B, K, P)
    d_obj = part_d.amin(-1)
    d_target = part_d[..., part]
    pads, pad_pts, side = [], [], []
    for f, pad in enumerate(geometry.pads):
        d, i = d_target[:, pad].min(1)
        pads.append(d)
        pad_pts.append(pts[torch.arange(B), pad[i]])
        gap = torch.cdist(pts[:, pad], side_points.expand(B, -1, -1))  # (B, K, M)
        side.append(torch.where(side_mask[:, f, None, :], gap, torch.full_like(gap, 1.0)).amin((1, 2)))
    pads, pad_pts = torch.stack(pads, 1), torch.stack(pad_pts, 1)  # (B, 5), (B, 5, 3)
    if not pad_pts.requires_grad:  # evaluated outside the optimisation: the normals still need it
        pad_pts = pad_pts.detach().requires_grad_(True)
    # Frictionless force-closure proxy: unit contact forces along the pads' surface normals sum to 0.
    normals = torch.autograd.grad(sdf.part_distances(pad_pts)[..., part].sum(), pad_pts, create_graph=True)[0]
    normals = normals / torch.sqrt((normals * normals).sum(-1, keepdim=True) + 1e-12)
    palm_pt = (palm @ torch.tensor([*PALM_CENTRE, 1.0], dtype=dtype))[:, :3]
    if not palm_pt.requires_grad:
        palm_pt = palm_pt.detach().requires_grad_(True)
    palm_d = sdf(palm_pt)
    palm_n = torch.autograd.grad(palm_d.sum(), palm_pt, create_graph=True)[0]
    palm_n = palm_n / torch.sqrt((palm_n * palm_n).sum(-1, keepdim=True) + 1e-12)
    force_sum = (modes[..., None] * normals).sum(1) + (1 - palm_d / 0.01).clamp(0, 1)[:, None] * palm_n
    hand_d = geometry.geom_distances(links, object_points.expand(B, -1, -1)).amin(-1)
    sub = pts[:, geometry.self_points]
    self_d = geometry.geom_distances(links, sub)
    others = [j for j in range(part_d.shape[-1]) if j != part]
    if others:
        near = (0.015 - d_obj).clamp(min=0) / 0.015
        e_part = (near * (d_target - part_d[..., others].amin(-1) + 0.003).clamp(min=0)).sum(1)
    else:
        e_part = torch.zeros(B, dtype=dtype)
    return {
        "dis": (modes * ((pads + PAD_DEPTH).abs() + torch.stack(side, 1))).sum(1),
        "fc": torch.sqrt((force_sum ** 2).sum(-1) + 1e-12),
        "palm": (palm_d - PALM_GAP).abs(),
        "pen": (-d_obj).clamp(min=0).sum(1) + (-hand_d).clamp(min=0).sum(1),
        "self": ((0.001 - self_d).clamp(min=0) * geometry.self_mask).sum((1, 2)),
        "part": e_part,
        "table": (0.005 - pts[..., 2]).clamp(min=0).sum(1),
    }


def optimise(geometry: _HandGeometry, sdf: ObjectSDF, cloud: ObjectCloud, part: str, palm: np.ndarray,
             joints: np.ndarray, modes: np.ndarray, steps: int, weights: EnergyWeights = EnergyWeights(),
             object_points: int = 512) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Minimise the energy (module docstring, step 2) from ``palm`` (B, 4, 4) and ``joints``
    (B, 22); ``modes`` (B, 5) bool marks the fingers each candidate pulls onto the part.
    Returns the final palm poses, joints and energy terms (each (B,))."""
    dtype = torch.float32
    k = cloud.part_names.index(part)
    pick = np.random.default_rng(0).choice(len(cloud.points), min(object_points, len(cloud.points)), replace=False)
    obj_pts = torch.as_tensor(cloud.points[pick], dtype=dtype)
    B = len(palm)
    R0 = torch.as_tensor(palm[:, :3, :3], dtype=dtype)
    t = torch.as_tensor(palm[:, :3, 3], dtype=dtype).clone().requires_grad_(True)
    w = torch.full((B, 3), 1e-4, dtype=dtype).requires_grad_(True)
    q = torch.as_tensor(joints, dtype=dtype).clone().requires_grad_(True)
    lower, upper = torch.as_tensor(JOINT_LOWER, dtype=dtype), torch.as_tensor(JOINT_UPPER, dtype=dtype)
    mode = torch.as_tensor(modes, dtype=dtype)
    # Opposition: in the Shadow Hand's pinch and wrap the curled fingers' pads face the wrist (palm
    # −z) and the opposed thumb's pad faces the fingertips (palm +z), so the fingers reach for the
    # part's surface facing palm +z (normal · z > SIDE_COS) and the thumb for the surface facing −z.
    part_idx = np.flatnonzero(cloud.part_mask(part))
    part_idx = part_idx[np.random.default_rng(0).permutation(len(part_idx))[:512]]
    side_points = torch.as_tensor(cloud.points[part_idx], dtype=dtype)
    facing = torch.as_tensor(cloud.normals[part_idx] @ palm[:, :3, 2].T, dtype=dtype).T  # (B, M): n · palm z
    side_mask = torch.stack([facing < -SIDE_COS] + [facing > SIDE_COS] * 4, dim=1)
    empty = ~side_mask.any(-1, keepdim=True)  # a part without such a side: any of its points
    side_mask = side_mask | empty
    opt = torch.optim.Adam([{"params": [t], "lr": 2e-3}, {"params": [w], "lr": 2e-2}, {"params": [q], "lr": 2e-2}])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1), eta_min=1e-4)
    wts = dataclasses.asdict(weights)

    def terms() -> dict[str, torch.Tensor]:
        return energy_terms(geometry, sdf, obj_pts, k, _pose_from_params(R0, t, w), q, mode, side_points, side_mask)

    for _ in range(steps):
        opt.zero_grad()
        sum(wts[name] * term for name, term in terms().items()).sum().backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            q.copy_(torch.maximum(torch.minimum(q, upper), lower))
    final = {name: term.detach().numpy() for name, term in terms().items()}
    with torch.no_grad():
        T = _pose_from_params(R0, t, w)
    return T.double().numpy(), couple_distal(q.detach().double().numpy()), final


# -- validation ---------------------------------------------------------------------------------
@dataclass
class Validation:
    ok: bool
    reason: str | None  # the first failed check (CHECKS), None when valid
    fingers: list[str]
    checks: dict


class GraspValidator:
    """MuJoCo validation of grasps on one object (module docstring, step 3). The model is the
    floating hand plus the object free at the origin (world frame = object frame)."""

    def __init__(self, name: str, hand: ShadowHand | None = None):
        import mujoco

        spec = OBJECTS[name]
        self.name = name
        self.hand = hand or ShadowHand()
        self.sdf = ObjectSDF(name)
        xml = floating_hand_mjcf(world=[spec.mjcf_body("object", (0.0, 0.0, 0.0), 0.0)], assets=spec.mjcf_assets())
        m = self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(m)
        self.object_body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "object")
        self.object_geoms = set(range(m.body_geomadr[self.object_body],
                                      m.body_geomadr[self.object_body] + m.body_geomnum[self.object_body]))
        self.object_qpos = m.jnt_qposadr[m.body_jntadr[self.object_body]]
        self.object_dof = m.jnt_dofadr[m.body_jntadr[self.object_body]]
        self.hand_geoms = {g: _link_finger(mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, m.geom_bodyid[g]))
                           for g in range(m.ngeom) if g not in self.object_geoms and m.geom_contype[g]
                           and m.geom_size[g].max() >= 0.002}
        self.actuated = np.array([SHADOW_JOINTS.index(mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, m.actuator_trnid[a, 0])
                                                      .removeprefix(MJCF_PREFIX)) for a in range(m.nu)])
        self._pairs = self.self_pairs()
        m.actuator_gainprm[:, 0] = HOLD_KP  # position actuators: force = kp·(target − q), force ranges kept
        m.actuator_biasprm[:, 1] = -HOLD_KP
        links = tuple(MJCF_PREFIX + link for pair in FINGER_LINKS.values() for link in pair)
        self.finger_geoms = [g for g in self.hand_geoms
                             if mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, m.geom_bodyid[g]) in links]

    def self_pairs(self) -> list[tuple[int, int]]:
        """Geom pairs of :func:`self_collision_bodies` (the self-penetration check)."""
        import mujoco

        m = self.model
        allowed = self_collision_bodies()
        body = {g: mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, m.geom_bodyid[g]) for g in self.hand_geoms}
        geoms = sorted(self.hand_geoms)
        return [(a, b) for i, a in enumerate(geoms) for b in geoms[i + 1:] if frozenset((body[a], body[b])) in allowed]

    def _reset(self, grasp: DexGrasp) -> None:
        import mujoco

        d = self.data
        mujoco.mj_resetData(self.model, d)
        self.hand.set_state(grasp, d)
        d.qpos[self.object_qpos:self.object_qpos + 7] = (0, 0, 0, 1, 0, 0, 0)
        d.ctrl[:] = grasp.joints[self.actuated]
        mujoco.mj_forward(self.model, d)

    def _hand_object_contacts(self):
        d = self.data
        for c in d.contact[: d.ncon]:
            g1, g2 = int(c.geom1), int(c.geom2)
            if g1 in self.object_geoms and g2 in self.hand_geoms:
                yield c, g2
            elif g2 in self.object_geoms and g1 in self.hand_geoms:
                yield c, g1

    def penetration(self) -> float:
        """Deepest hand–object penetration [m] in the current state (0 if none)."""
        return max([-float(c.dist) for c, _ in self._hand_object_contacts()], default=0.0)

    def self_penetration(self) -> float:
        """Deepest overlap [m] among :meth:`self_pairs` in the current state (0 if none)."""
        import mujoco

        dist = [mujoco.mj_geomDistance(self.model, self.data, a, b, 0.01, None) for a, b in self._pairs]
        return max(0.0, -min(dist))

    def _squeeze_targets(self, grasp: DexGrasp) -> np.ndarray:
        """Position targets that push each touching middle/distal finger link (within
        :data:`CONTACT_DIST`) :data:`SQUEEZE_DISTANCE` into the object along the surface normal at
        its closest point (least squares through the link's Jacobian). Call at the grasp state."""
        import mujoco

        m, d = self.model, self.data
        target = grasp.joints.copy()
        jac = np.zeros((3, m.nv))
        for g, point in self.contacts():
            if g not in self.finger_geoms:
                continue
            p = torch.as_tensor(point[None]).requires_grad_(True)
            normal = torch.autograd.grad(self.sdf(p).sum(), p)[0][0].numpy()  # outward
            normal /= max(np.linalg.norm(normal), 1e-9)
            mujoco.mj_jac(m, d, jac, None, point, m.geom_bodyid[g])
            J = jac[:, : len(SHADOW_JOINTS)]
            # damped least squares: no large joint moves where the link's Jacobian is near-singular
            target += J.T @ np.linalg.solve(J @ J.T + 1e-4 * np.eye(3), -normal * SQUEEZE_DISTANCE)
        return np.clip(couple_distal(target), JOINT_LOWER, JOINT_UPPER)

    def _simulate(self, seconds: float, gravity: np.ndarray) -> float:
        """Step ``seconds`` with ``gravity``; the object's displacement from the origin [m]."""
        import mujoco

        self.model.opt.gravity[:] = gravity
        for _ in range(round(seconds / self.model.opt.timestep)):
            mujoco.mj_step(self.model, self.data)
        return float(np.linalg.norm(self.data.qpos[self.object_qpos:self.object_qpos + 3]))

    def contacts(self) -> list[tuple[int, np.ndarray]]:
        """(hand geom, closest object point) for each hand collision geom within
        :data:`CONTACT_DIST` of the object in the current state."""
        import mujoco

        m, d = self.model, self.data
        fromto = np.zeros(6)
        out = []
        for g in self.hand_geoms:
            dist, point = min(((mujoco.mj_geomDistance(m, d, g, o, CONTACT_DIST, fromto), fromto[3:].copy())
                               for o in self.object_geoms), key=lambda x: x[0])
            if dist < CONTACT_DIST:
                out.append((g, point))
        return out

    def stability(self, grasp: DexGrasp) -> tuple[int, float]:
        """Hand fixed, fingers position-held at the squeeze targets, object free: gravity along
        ±x ±y ±z for 1 s each from the grasp: (stable directions, largest object displacement [m])."""
        self._reset(grasp)
        ctrl = self._squeeze_targets(grasp)[self.actuated]
        stable, worst = 0, 0.0
        for direction in GRAVITY_DIRECTIONS:
            self._reset(grasp)
            self.data.ctrl[:] = ctrl
            moved = self._simulate(1.0, 9.81 * direction)
            worst = max(worst, moved)
            stable += moved < STABLE_DISPLACEMENT
        return stable, worst

    def contact_parts_ok(self, contacts: list[tuple[int, np.ndarray]], part: str) -> bool:
        """Every contact point (object frame = world frame at the grasp) is closest to ``part``."""
        if not contacts:
            return True
        dist = self.sdf.part_distances(torch.as_tensor(np.array([p for _, p in contacts]))).numpy()
        k = self.sdf.part_names.index(part)
        return bool((dist[:, k] <= dist.min(1) + 1e-4).all())

    def validate(self, grasp: DexGrasp, part: str) -> Validation:
        """All checks in order (module docstring); stops at the first failure."""
        self._reset(grasp)
        checks: dict = {"penetration_mm": round(1000 * self.penetration(), 2)}
        if checks["penetration_mm"] > 1000 * PENETRATION_TOL:
            return Validation(False, "penetration", [], checks)
        checks["self_penetration_mm"] = round(1000 * self.self_penetration(), 2)
        if checks["self_penetration_mm"] > 1000 * SELF_PENETRATION_TOL:
            return Validation(False, "self_penetration", [], checks)
        lowest = min(self._lowest_point(g) for g in self.hand_geoms)
        checks["table_clearance_mm"] = round(1000 * lowest, 2)
        if lowest < 0.0:
            return Validation(False, "table", [], checks)
        contacts = self.contacts()
        fingers = sorted({self.hand_geoms[g] for g, _ in contacts if self.hand_geoms[g]}, key=FINGERS.index)
        checks["fingers"] = len(fingers)
        if len(fingers) < MIN_FINGERS:
            return Validation(False, "fingers", fingers, checks)
        if not self.contact_parts_ok(contacts, part):
            return Validation(False, "part_alignment", fingers, checks)
        stable, worst = self.stability(grasp)
        checks["stable_directions"] = int(stable)
        checks["max_displacement_mm"] = round(1000 * worst, 1)
        if stable < len(GRAVITY_DIRECTIONS):
            return Validation(False, "stability", fingers, checks)
        return Validation(True, None, fingers, checks)

    def _lowest_point(self, g: int) -> float:
        """Lowest z of collision geom ``g`` (capsule or box) in the current state."""
        import mujoco

        m, d = self.model, self.data
        R = d.geom_xmat[g].reshape(3, 3)
        size = m.geom_size[g]
        if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE:  # segment end points minus radius
            return float(d.geom_xpos[g][2] - abs(R[2, 2]) * size[1] - size[0])
        return float(d.geom_xpos[g][2] - np.abs(R[2, :]) @ size[:3])


# -- the generator ------------------------------------------------------------------------------
def _unit_seed(seed: int, unit: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(unit.encode())) % 2**32


def generate_unit(config: DexDatagenConfig, name: str, part: str, batch: int, cloud: ObjectCloud,
                  validator: GraspValidator, geometry: _HandGeometry) -> tuple[list[dict], dict]:
    """One batch of candidates for one part: (records of the valid grasps, counts)."""
    unit = f"{name}/{part}/{batch}"
    rng = np.random.default_rng(_unit_seed(config.seed, unit))
    torch.manual_seed(_unit_seed(config.seed, unit))
    palm, joints = initial_poses(cloud.points[cloud.part_mask(part)], config.batch_size, rng)
    modes = np.zeros((config.batch_size, 5), bool)
    modes[:, 0] = True
    for row in modes:
        row[1 + rng.permutation(4)[: rng.integers(1, 5)]] = True
    palm, joints, _ = optimise(geometry, validator.sdf, cloud, part, palm, joints, modes, config.steps, config.weights)
    counts = {"attempted": config.batch_size, "valid": 0, "rejected": dict.fromkeys(CHECKS, 0)}
    records = []
    for i in range(config.batch_size):
        grasp = DexGrasp(palm[i, :3, 3], Rotation.from_matrix(palm[i, :3, :3]), joints[i])
        result = validator.validate(grasp, part)
        if not result.ok:
            counts["rejected"][result.reason] += 1
            continue
        counts["valid"] += 1
        records.append(grasp_record(f"{name}-{part}-s{config.seed}-{batch:04d}-{i:02d}", name, part, result.fingers, grasp,
                                    result.checks))
    return records, counts


def _parts(cloud: ObjectCloud, min_points: int = 16) -> list[str]:
    """Parts with a visible surface (the banana's stem lies inside its last segment)."""
    return [p for p in cloud.part_names if cloud.part_mask(p).sum() >= min_points]


def generate(config: DexDatagenConfig, progress: bool = True) -> dict:
    """Write (or resume) the dataset at ``config.root``; returns meta."""
    from tqdm import tqdm

    unknown = set(config.objects) - set(OBJECTS)
    if unknown or not config.objects:
        raise InvalidInputError(f"unknown objects {sorted(unknown)}; objects: {sorted(OBJECTS)}")
    if config.batch_size < 1 or config.batches_per_part < 1 or config.steps < 0:
        raise InvalidInputError("batch_size and batches_per_part must be ≥ 1, steps ≥ 0")
    root = pathlib.Path(config.root)
    (root / "objects").mkdir(parents=True, exist_ok=True)
    meta_path = root / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("settings") != config.settings():
            raise InvalidInputError(f"{root} was generated with other settings ({meta.get('settings')}); "
                                    "use the same settings to resume or another --out")
        _drop_unfinished(root, set(meta["done"]))
    else:
        meta = {"generator": GENERATOR, "version": FORMAT_VERSION, "seed": config.seed, "hand": "shadow",
                "joints": list(SHADOW_JOINTS), "objects": list(config.objects), "settings": config.settings(),
                "thresholds": {"penetration_mm": 1000 * PENETRATION_TOL,
                               "self_penetration_mm": 1000 * SELF_PENETRATION_TOL,
                               "stable_displacement_mm": 1000 * STABLE_DISPLACEMENT,
                               "squeeze_mm": 1000 * SQUEEZE_DISTANCE, "min_fingers": MIN_FINGERS},
                "counts": {"attempted": 0, "valid": 0, "rejected": dict.fromkeys(CHECKS, 0), "per_part": {}},
                "done": []}
    clouds = {}
    for name in config.objects:
        clouds[name] = object_cloud(name, config.cloud_points, _unit_seed(config.seed, name))
        save_object_cloud(root / "objects" / f"{name}.npz", clouds[name])
    write_meta(root, meta)
    units = [(n, p, b) for n in config.objects for p in _parts(clouds[n]) for b in range(config.batches_per_part)
             if not config.parts or f"{n}/{p}" in config.parts]
    if not units:
        raise InvalidInputError(f"no part to generate grasps for: objects {list(config.objects)}, parts "
                                f"{list(config.parts)} (keys are object/part, e.g. bottle/body)")
    hand = ShadowHand()
    geometry = _HandGeometry(hand)
    bar = tqdm(units, desc="dex-datagen", unit="batch", disable=not progress)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only contend (about 10x slower on 2 busy cores)
    try:
        _run_units(config, root, meta, bar, clouds, hand, geometry)
    finally:
        torch.set_num_threads(threads)
    return meta


def _run_units(config: DexDatagenConfig, root: pathlib.Path, meta: dict, bar, clouds: dict[str, ObjectCloud],
               hand: ShadowHand, geometry: _HandGeometry) -> None:
    """Generate the units of ``bar`` not yet in ``meta["done"]``, saving after each."""
    done = set(meta["done"])
    validators: dict[str, GraspValidator] = {}
    for name, part, batch in bar:
        key = f"{name}/{part}/{batch}"
        if key in done:
            continue
        if name not in validators:
            validators[name] = GraspValidator(name, hand)
        validator = validators[name]
        records, counts = generate_unit(config, name, part, batch, clouds[name], validator, geometry)
        append_records(root, records)
        total = meta["counts"]
        total["attempted"] += counts["attempted"]
        total["valid"] += counts["valid"]
        for check, n in counts["rejected"].items():
            total["rejected"][check] += n
        per = total["per_part"].setdefault(f"{name}/{part}", {"attempted": 0, "valid": 0})
        per["attempted"] += counts["attempted"]
        per["valid"] += counts["valid"]
        total["acceptance"] = round(total["valid"] / max(total["attempted"], 1), 4)
        meta["done"].append(key)
        write_meta(root, meta)
        bar.set_postfix(valid=total["valid"], rate=f"{total['acceptance']:.2f}")


def _drop_unfinished(root: pathlib.Path, done: set[str]) -> None:
    """Remove grasps.jsonl lines of units that meta.json does not list as finished."""
    path = root / "grasps.jsonl"
    if not path.is_file():
        return
    keep = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        obj, part, batch = r["object"], r["part"], int(r["id"].rsplit("-", 2)[1])
        if f"{obj}/{part}/{batch}" in done:
            keep.append(line + "\n")
    path.write_text("".join(keep))
