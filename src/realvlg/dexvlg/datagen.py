"""Part-aware Shadow Hand grasp synthesis on the simulated objects (DexVLG paper §4.3–4.4),
executable by the UR10e above a table.

For every object, every named part with a visible surface, and up to ``max_batches_per_part``
batches of ``batch_size`` candidates (a part stops once it has ``target_per_part`` grasps):

1. **Antipodal tripod initialisation** (§4.3.1, :func:`tripod_candidates`). A point ``x`` is drawn
   on the part's surface (at least :data:`PART_MARGIN` from every other part, outward normal
   ``n`` within :data:`NORMAL_Z` of horizontal); the line from ``x`` along ``p = −n`` crosses the
   object and must leave it through the same part, at most :data:`MAX_WIDTH` later (the chord
   ``w``). The hand takes the **tripod** posture (:func:`tripod_joints`: thumb opposing the index
   and middle fingertips, ring and little fingers stretched out of the way) opened to the aperture
   ``w +`` :data:`OPEN_MARGIN`, its closing axis (thumb pad → the index/middle pads) along ``p``,
   the thumb pad 1 mm off ``x``. Of the rotations about ``p`` the one whose palm faces most
   downwards is taken, turned by up to ±:data:`ROLL_JITTER` — grasps from above, which the
   UR10e reaches over a table (the wrist stays above the hand).
2. **Kinematic closing** (:class:`TripodCloser`, batched torch forward kinematics against the
   analytic signed distances of :class:`~realvlg.dexvlg.objects.ObjectSDF`): the hand backs off
   along ``−p`` and upwards (a 2 mm × 3 mm grid, nearest first) until every hand point is
   :data:`CLEARANCE` clear of the part and :data:`BLOCK_DIST` clear of the other parts and the
   table (z = 0); then the index and middle fingers close along the tripod posture path, each
   stopping where one of its points reaches :data:`TOUCH` of the part (interpolated) or one step
   before it would come within :data:`BLOCK_DIST` of another part or the table (a GraspIt-style
   auto-grasp; the thumb is the anvil). The closing is tried with the hand raised by each of
   :data:`LIFTS` and the lowest height at which the most of index and middle reach the part is
   kept; the hand then slides along ``p`` until the thumb pad touches the part (where it stays
   clear of everything else) and the fingers close once more.
3. **MuJoCo validation** (§4.4, :class:`GraspValidator`, unchanged from the paper's criteria),
   object free at the origin, hand fixed (mocap) with position-held fingers, in this order (the
   first failure is the rejection reason counted in meta.json):

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
4. **The arm** (:class:`ArmCheck`, ``arm`` setting; :class:`realvlg.sim.dex_arm_check.UR10eArmCheck`):
   the object stands on the table of a :class:`~realvlg.sim.ur10e_shadow_world.UR10eShadowWorld`
   at :data:`ARM_PLACEMENT`, turned to each of :data:`ARM_YAWS` yaws. The simulated executor
   (:func:`~realvlg.sim.ur10e_shadow_world.sim_executor`, its ``check``) must plan the grasp — IK of
   pre-grasp, approach and lift, no robot–table contact along the joint paths — at
   ``min_arm_yaws`` of them (``reach``, recorded as ``checks.arm_yaws``); it then executes it at
   one of those yaws (drawn) and records the object's height gain after ``lift_check`` (≥ 3 cm up,
   held 1 s, off the table) as ``checks.lift_mm``. ``arm: lift`` also rejects grasps that do not
   lift, ``arm: reach`` keeps them, ``arm: none`` skips the arm. The model is trained with random
   rotations about z, so its grasps come at any yaw relative to the robot.

Output: the dataset of :mod:`realvlg.dexvlg.dataset`; append-only grasps.jsonl and meta.json with
the counts (per check, per part, CPU seconds), rewritten after every (object, part, batch) unit — a
rerun with the same settings skips finished units (and drops lines of a unit that was cut off).
Everything is seeded per unit.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import pathlib
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from scipy.spatial import cKDTree
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
from realvlg.shadow_hand import FINGERS, JOINT_LOWER, JOINT_UPPER, MJCF_PREFIX, PADS, SHADOW_JOINTS

PENETRATION_TOL = 0.002
SELF_PENETRATION_TOL = 0.001
STABLE_DISPLACEMENT = 0.02
SQUEEZE_DISTANCE = 0.005
MIN_FINGERS = 2
HOLD_KP = 5.0  # finger position gain in validation [N·m/rad]; the MJCF's 1 cannot hold a 0.25 kg mug
CONTACT_DIST = 0.003  # a hand link this close to the object touches it [m]
PART_MARGIN = 0.008  # the drawn contact point's least distance from every other part [m]
NORMAL_Z = (-0.6, 0.15)  # range of the contact normal's z (thumb side): sides and undersides, not tops
MAX_WIDTH = 0.07  # widest chord a tripod spans [m]
ANTIPODAL_COS = math.cos(math.radians(35))  # the far side's normal is within 35° of the closing axis
OPEN_MARGIN = 0.02  # the tripod opens this much wider than the chord [m]
ROLL_JITTER = math.radians(60)  # about the closing axis, from the most palm-down rotation
CLEARANCE = 0.003  # the opened hand backs off until this far from object and table [m]
TOUCH = 0.0005  # a closing finger stops this close to the part [m]
BLOCK_DIST = 0.004  # ... and this far from other parts and the table (validation's contact distance + 1 mm) [m]
CLOSING_STEPS = 40
LIFTS = (0.0, 0.004, 0.008, 0.012, 0.016)  # heights [m] the closing is tried at above the backed-off hand
CHECKS = ("init", "penetration", "self_penetration", "table", "fingers", "part_alignment", "stability",
          "reach", "lift")
GRAVITY_DIRECTIONS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)
ARM_PLACEMENT = (0.86, 0.0)  # object position on the table for the arm check (the middle of dex_scene's region) [m]
ARM_YAWS = tuple(np.linspace(-math.pi, math.pi, 8, endpoint=False))
ARM_MODES = ("none", "reach", "lift")

# -- the tripod posture ---------------------------------------------------------------------------
TRIPOD_APERTURES = np.arange(10) * 0.01
"""Apertures [m] of :data:`TRIPOD_POSTURES`: the distance from the thumb pad to the midpoint of the
index and middle pads (:data:`~realvlg.shadow_hand.PADS`)."""
TRIPOD_POSTURES = {
    "FFJ2": (1.571, 1.571, 1.571, 1.482, 1.298, 1.087, 0.848, 0.571, 0.26, 0.0),
    "FFJ1": (0.064, 0.038, 0.015, 0.045, 0.121, 0.2, 0.281, 0.366, 0.452, 0.512),
    "MFJ2": (1.571, 1.571, 1.571, 1.494, 1.312, 1.102, 0.865, 0.593, 0.29, 0.0),
    "MFJ1": (0.064, 0.039, 0.016, 0.039, 0.115, 0.193, 0.273, 0.356, 0.438, 0.512),
    "THJ4": (0.589, 0.564, 0.536, 0.52, 0.533, 0.568, 0.623, 0.702, 0.802, 0.876),
    "THJ3": (1.222, 1.222, 1.222, 1.222, 1.222, 1.222, 1.222, 1.222, 1.206, 1.181),
}
"""The tripod's joints per aperture. Fitted once by least squares on the hand's forward kinematics
(Adam on the thumb, index and middle joints, from the closed posture outwards, each aperture
warm-started from the last): pad distance = aperture, index–middle pads 2.2 cm apart, the three
pads facing each other; then written down. The other joints are :data:`TRIPOD_FIXED`."""
TRIPOD_FIXED = {"FFJ3": -0.349, "MFJ3": -0.349, "RFJ3": -0.349, "LFJ3": -0.349, "RFJ2": 0.15, "RFJ1": 0.15,
                "LFJ2": 0.15, "LFJ1": 0.15, "THJ1": 0.524}
"""Ring and little fingers stretched (and turned with the others, clear of the middle finger), the
thumb's THJ2 and THJ0 at 0 (the executor squeezes joints away from 0: a bent thumb would slide
sideways)."""


def tripod_joints(aperture) -> np.ndarray:
    """(..., 22) tripod joints for apertures [m] (interpolated in :data:`TRIPOD_POSTURES`, clamped
    to its range), J0 coupled to J1."""
    a = np.asarray(aperture, dtype=float)
    out = np.zeros(a.shape + (len(SHADOW_JOINTS),))
    for name, value in TRIPOD_FIXED.items():
        out[..., SHADOW_JOINTS.index(name)] = value
    for name, values in TRIPOD_POSTURES.items():
        out[..., SHADOW_JOINTS.index(name)] = np.interp(a, TRIPOD_APERTURES, values)
    return couple_distal(out)


@dataclass(frozen=True)
class DexDatagenConfig:
    root: str = "data/dexvlg"
    seed: int = 0
    objects: tuple[str, ...] = tuple(OBJECTS)
    parts: tuple[str, ...] = ()  # "object/part" keys to restrict to; empty: every visible part
    batch_size: int = 32
    max_batches_per_part: int = 16
    target_per_part: int = 40  # a part's remaining batches are skipped once it has this many grasps
    cloud_points: int = 4096
    arm: str = "lift"  # ARM_MODES: what the UR10e must do with a grasp (module docstring, step 4)
    min_arm_yaws: int = 4  # of the 8 ARM_YAWS at which the executor must plan the grasp

    def settings(self) -> dict:
        """What a resumed run must share with the run that started the dataset."""
        d = dataclasses.asdict(self)
        d.pop("root")
        d["objects"] = list(self.objects)
        d["parts"] = list(self.parts)
        return d


# -- step 1: initialisation -------------------------------------------------------------------------
class _Pads:
    """Pad points (thumb; the index/middle midpoint) of the tripod in the palm frame, per aperture."""

    def __init__(self, hand: ShadowHand):
        names = [n.removeprefix(MJCF_PREFIX) for n in hand.body_names]
        joints = torch.as_tensor(tripod_joints(TRIPOD_APERTURES))
        links = hand.fk(torch.eye(4, dtype=torch.float64).expand(len(joints), 4, 4), joints).numpy()
        pad = {f: links[:, names.index(body), :3, :3] @ np.array(local) + links[:, names.index(body), :3, 3]
               for f, (body, local) in PADS.items()}
        self.thumb = pad["thumb"]  # (A, 3)
        self.fingers = (pad["index"] + pad["middle"]) / 2

    def at(self, aperture: float) -> tuple[np.ndarray, np.ndarray]:
        interp = lambda table: np.array([np.interp(aperture, TRIPOD_APERTURES, table[:, k]) for k in range(3)])  # noqa: E731
        return interp(self.thumb), interp(self.fingers)


def tripod_candidates(cloud: ObjectCloud, sdf: ObjectSDF, part: str, n: int, rng: np.random.Generator,
                      pads: _Pads) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``n`` initial tripods on ``part`` (module docstring, step 1): palm poses (k, 4, 4),
    opened joints (k, 22), closing axes (k, 3); k < n when the part offers too few chords (tried
    ``8 n`` surface points)."""
    k = cloud.part_names.index(part)
    mask = cloud.part_ids == k
    points, normals = cloud.points[mask].astype(float), cloud.normals[mask].astype(float)
    draw = rng.integers(len(points), size=8 * n)
    x, p = points[draw], -normals[draw]
    keep = (NORMAL_Z[0] <= -p[:, 2]) & (-p[:, 2] <= NORMAL_Z[1])
    if len(cloud.part_names) > 1:
        others = np.delete(sdf.part_distances(torch.as_tensor(x)).numpy(), k, axis=1)
        keep &= others.min(1) >= PART_MARGIN
    x, p = x[keep], p[keep]
    steps = np.arange(1, round(MAX_WIDTH / 0.001) + 2) * 0.001
    inside = sdf(torch.as_tensor(x[:, None] + steps[None, :, None] * p[:, None])).numpy() < 0  # (m, S)
    leaves = ~inside.all(1)
    width = steps[np.argmax(~inside, axis=1)]
    exit_point = x + width[:, None] * p
    exit_part = sdf.part_distances(torch.as_tensor(exit_point)).numpy().argmin(1)
    exit_normal = normals[cKDTree(points).query(exit_point)[1]]
    keep = leaves & (exit_part == k) & ((exit_normal * p).sum(1) >= ANTIPODAL_COS)
    x, p, width = x[keep][:n], p[keep][:n], width[keep][:n]
    poses, joints = np.empty((len(x), 4, 4)), np.empty((len(x), len(SHADOW_JOINTS)))
    down = np.array([0.0, 0.0, -1.0])
    for i in range(len(x)):
        aperture = min(width[i] + OPEN_MARGIN, TRIPOD_APERTURES[-1])
        thumb, fingers = pads.at(aperture)
        axis = (fingers - thumb) / np.linalg.norm(fingers - thumb)
        R0 = Rotation.align_vectors(p[i][None], axis[None])[0].as_matrix()
        normal = R0 @ np.array([0.0, -1.0, 0.0])  # the palm normal (palm −y)
        e1 = normal - (normal @ p[i]) * p[i]
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(p[i], e1)
        roll = math.atan2(e2 @ down, e1 @ down) + rng.uniform(-1, 1) * ROLL_JITTER
        R = Rotation.from_rotvec(p[i] * roll).as_matrix() @ R0
        poses[i] = np.eye(4)
        poses[i, :3, :3] = R
        poses[i, :3, 3] = x[i] - 0.001 * p[i] - R @ thumb
        joints[i] = tripod_joints(aperture)
    return poses, joints, p


# -- step 2: kinematic closing ----------------------------------------------------------------------
class TripodCloser:
    """Back-off, closing and thumb settling of opened tripods (module docstring, step 2), batched
    in torch."""

    def __init__(self, hand: ShadowHand):
        self.hand = hand
        self.point_finger = torch.tensor([-1 if f is None else FINGERS.index(f) for f in hand.point_finger])
        self.sparse = torch.arange(0, len(hand.point_finger), 3)  # enough for the back-off's 3 mm clearance
        shifts = [(a * 0.002, b * 0.003) for a in range(11) for b in range(11)]
        self.shifts = torch.tensor(sorted(shifts, key=sum), dtype=torch.float32)  # nearest first
        self.closed = torch.as_tensor(tripod_joints(0.0), dtype=torch.float32)

    def _distances(self, sdf: ObjectSDF, part: int, palms: torch.Tensor, joints: torch.Tensor, index=None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Signed distances (B, K) of hand points to the target part and to what the hand must
        not touch (the object's other parts, the table top at z = 0)."""
        points = self.hand.points_torch(self.hand.fk(palms, joints), index)
        d = sdf.part_distances(points)
        block = points[..., 2]
        if d.shape[-1] > 1:
            block = torch.minimum(block, torch.cat([d[..., :part], d[..., part + 1:]], -1).amin(-1))
        return d[..., part], block

    def _close_fingers(self, sdf: ObjectSDF, part: int, palm: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """Index and middle from ``start`` along the straight joint path to the closed tripod, each
        stopped where it reaches the part (interpolated to :data:`TOUCH`) or one step before it
        would come within :data:`BLOCK_DIST` of another part or the table."""
        B, S = len(palm), CLOSING_STEPS
        s = torch.linspace(0, 1, S)
        path = start[:, None] + s[None, :, None] * (self.closed - start)[:, None]  # (B, S, 22)
        target, block = self._distances(sdf, part, palm.repeat_interleave(S, 0), path.reshape(-1, 22))
        target, block = target.reshape(B, S, -1), block.reshape(B, S, -1)
        q = start.clone()
        rows = torch.arange(B)
        for f, prefix in (("index", "FF"), ("middle", "MF")):
            mine = self.point_finger == FINGERS.index(f)
            t, b = target[..., mine].amin(-1), block[..., mine].amin(-1)  # (B, S)
            touch = (t < TOUCH).float().argmax(1).where((t < TOUCH).any(1), torch.full((B,), S))
            blocked = (b < BLOCK_DIST).float().argmax(1).where((b < BLOCK_DIST).any(1), torch.full((B,), S))
            k = torch.minimum(touch, blocked).clamp(min=1)
            before = t[rows, (k - 1).clamp(max=S - 1)]
            after = t[rows, k.clamp(max=S - 1)]
            step = s[1] - s[0]
            frac = torch.where((touch <= blocked) & (touch < S),
                               s[k - 1] + step * ((before - TOUCH) / (before - after).clamp(min=1e-6)).clamp(0, 1),
                               s[(k - 1).clamp(max=S - 1)])
            idx = [SHADOW_JOINTS.index(f"{prefix}J{j}") for j in (2, 1, 0)]
            q[:, idx] = (start + frac[:, None] * (self.closed - start))[:, idx]
        return q

    def close(self, sdf: ObjectSDF, part: str, palms: np.ndarray, joints: np.ndarray, axes: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(palm poses (B, 4, 4), joints (B, 22), ok (B,)): ok is False where no back-off clears.
        Back off, close the index and middle fingers, move the hand along the closing axis until
        the thumb pad touches the part (unless the hand would touch something else), close again."""
        B, G = len(palms), len(self.shifts)
        if B == 0:
            return palms, joints, np.zeros(0, bool)
        k = sdf.part_names.index(part)
        palm = torch.as_tensor(palms, dtype=torch.float32)
        q = torch.as_tensor(joints, dtype=torch.float32)
        axis = torch.as_tensor(axes, dtype=torch.float32)
        moved = palm[:, None].repeat(1, G, 1, 1)
        moved[..., :3, 3] -= self.shifts[None, :, 0, None] * axis[:, None]
        moved[..., 2, 3] += self.shifts[None, :, 1]
        target, block = self._distances(sdf, k, moved.reshape(-1, 4, 4), q.repeat_interleave(G, 0), self.sparse)
        clear = (target.reshape(B, G, -1).amin(-1) > CLEARANCE) & (block.reshape(B, G, -1).amin(-1) > BLOCK_DIST)
        palm = moved[torch.arange(B), clear.float().argmax(1)]
        # close at each of LIFTS (the hand raised): the lowest one at which both fingers reach the part
        L = len(LIFTS)
        raised = palm[:, None].repeat(1, L, 1, 1)
        raised[..., 2, 3] += torch.tensor(LIFTS, dtype=torch.float32)
        raised = raised.reshape(-1, 4, 4)
        closed = self._close_fingers(sdf, k, raised, q.repeat_interleave(L, 0))
        target, _ = self._distances(sdf, k, raised, closed)
        touching = torch.stack([target[:, self.point_finger == FINGERS.index(f)].amin(-1) < 2 * TOUCH
                                for f in ("index", "middle")], -1).sum(-1).reshape(B, L)
        best = (touching * (L + 1) - torch.arange(L)).argmax(1)  # most fingers, then the lowest
        pick = torch.arange(B) * L + best
        palm, q = raised[pick], closed[pick]
        # thumb settling: slide along the closing axis by the thumb's gap, if the hand stays clear
        thumb = self.point_finger == FINGERS.index("thumb")
        target, _ = self._distances(sdf, k, palm, q)
        gap = (target[:, thumb].amin(-1) - TOUCH).clamp(min=0)
        slid = palm.clone()
        slid[:, :3, 3] += gap[:, None] * axis
        target, block = self._distances(sdf, k, slid, q)
        fine = (target.amin(-1) > 0) & (block.amin(-1) > BLOCK_DIST)
        palm = torch.where(fine[:, None, None], slid, palm)
        q = self._close_fingers(sdf, k, palm, q)
        return palm.double().numpy(), couple_distal(q.double().numpy()), clear.any(1).numpy()


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


# -- step 4: the arm --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArmResult:
    yaws: int  # of ARM_YAWS at which the executor plans the grasp
    lift_mm: float | None  # height gain of the executed grasp after the hold (None: not executed)
    lifted: bool


class ArmCheck(Protocol):
    """Module docstring, step 4, for one object (:class:`realvlg.sim.dex_arm_check.UR10eArmCheck`,
    which ``realvlg dex-datagen`` passes to :func:`generate`)."""

    def check(self, grasp: DexGrasp, min_yaws: int, rng: np.random.Generator) -> ArmResult:
        """Plan ``grasp`` (object frame) at every one of :data:`ARM_YAWS`; with at least
        ``min_yaws`` plannable yaws, execute it at one of them (drawn) and check the lift."""


# -- the generator ------------------------------------------------------------------------------
def _unit_seed(seed: int, unit: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(unit.encode())) % 2**32


def generate_unit(config: DexDatagenConfig, name: str, part: str, batch: int, cloud: ObjectCloud,
                  validator: GraspValidator, closer: TripodCloser, pads: _Pads,
                  arm: ArmCheck | None) -> tuple[list[dict], dict]:
    """One batch of candidates for one part: (records of the valid grasps, counts)."""
    unit = f"{name}/{part}/{batch}"
    rng = np.random.default_rng(_unit_seed(config.seed, unit))
    palms, joints, axes = tripod_candidates(cloud, validator.sdf, part, config.batch_size, rng, pads)
    palms, joints, cleared = closer.close(validator.sdf, part, palms, joints, axes)
    counts = {"attempted": config.batch_size, "valid": 0, "rejected": dict.fromkeys(CHECKS, 0)}
    counts["rejected"]["init"] = config.batch_size - int(cleared.sum())
    records = []
    for i in np.flatnonzero(cleared):
        grasp = DexGrasp(palms[i, :3, 3], Rotation.from_matrix(palms[i, :3, :3]), joints[i])
        result = validator.validate(grasp, part)
        if result.ok and arm is not None:
            reached = arm.check(grasp, config.min_arm_yaws, rng)
            result.checks.update(arm_yaws=reached.yaws, lift_mm=reached.lift_mm)
            if reached.yaws < config.min_arm_yaws:
                result = Validation(False, "reach", result.fingers, result.checks)
            elif config.arm == "lift" and not reached.lifted:
                result = Validation(False, "lift", result.fingers, result.checks)
        if not result.ok:
            counts["rejected"][result.reason] += 1
            continue
        counts["valid"] += 1
        records.append(grasp_record(f"{name}-{part}-s{config.seed}-{batch:04d}-{i:02d}", name, part, result.fingers,
                                    grasp, result.checks))
    return records, counts


def _parts(cloud: ObjectCloud, min_points: int = 16) -> list[str]:
    """Parts with a visible surface (the banana's stem lies inside its last segment, the
    stapler's hinge inside its base and top)."""
    return [p for p in cloud.part_names if cloud.part_mask(p).sum() >= min_points]


def generate(config: DexDatagenConfig, progress: bool = True,
             arm_check: Callable[[str], ArmCheck] | None = None) -> dict:
    """Write (or resume) the dataset at ``config.root``; returns meta. ``arm_check(object name)``
    builds the UR10e check of step 4 (needed unless ``config.arm`` is ``none``)."""
    from tqdm import tqdm

    unknown = set(config.objects) - set(OBJECTS)
    if unknown or not config.objects:
        raise InvalidInputError(f"unknown objects {sorted(unknown)}; objects: {sorted(OBJECTS)}")
    if config.batch_size < 1 or config.max_batches_per_part < 1 or config.target_per_part < 1:
        raise InvalidInputError("batch_size, max_batches_per_part and target_per_part must be ≥ 1")
    if config.arm not in ARM_MODES or not 0 <= config.min_arm_yaws <= len(ARM_YAWS):
        raise InvalidInputError(f"arm must be one of {ARM_MODES} and min_arm_yaws 0–{len(ARM_YAWS)}")
    if config.arm != "none" and arm_check is None:
        raise InvalidInputError(f"arm {config.arm!r} needs an arm check (realvlg.sim.dex_arm_check.UR10eArmCheck)")
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
                "counts": {"attempted": 0, "valid": 0, "cpu_s": 0.0, "rejected": dict.fromkeys(CHECKS, 0),
                           "per_part": {}},
                "done": []}
    clouds = {}
    for name in config.objects:
        clouds[name] = object_cloud(name, config.cloud_points, _unit_seed(config.seed, name))
        save_object_cloud(root / "objects" / f"{name}.npz", clouds[name])
    write_meta(root, meta)
    units = [(n, p, b) for n in config.objects for p in _parts(clouds[n]) for b in range(config.max_batches_per_part)
             if not config.parts or f"{n}/{p}" in config.parts]
    if not units:
        raise InvalidInputError(f"no part to generate grasps for: objects {list(config.objects)}, parts "
                                f"{list(config.parts)} (keys are object/part, e.g. bottle/body)")
    bar = tqdm(units, desc="dex-datagen", unit="batch", disable=not progress)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only contend (about 10x slower on 2 busy cores)
    try:
        _run_units(config, root, meta, bar, clouds, arm_check)
    finally:
        torch.set_num_threads(threads)
    return meta


def _run_units(config: DexDatagenConfig, root: pathlib.Path, meta: dict, bar, clouds: dict[str, ObjectCloud],
               arm_check: Callable[[str], ArmCheck] | None) -> None:
    """Generate the units of ``bar`` not yet in ``meta["done"]``, saving after each; a part that has
    ``target_per_part`` grasps marks its remaining units done without work."""
    hand = ShadowHand()
    closer, pads = TripodCloser(hand), _Pads(hand)
    done = set(meta["done"])
    validators: dict[str, GraspValidator] = {}
    arms: dict[str, ArmCheck] = {}
    total = meta["counts"]
    for name, part, batch in bar:
        key = f"{name}/{part}/{batch}"
        if key in done:
            continue
        per = total["per_part"].setdefault(f"{name}/{part}", {"attempted": 0, "valid": 0})
        if per["valid"] < config.target_per_part:
            if name not in validators:
                validators[name] = GraspValidator(name, hand)
                if config.arm != "none":
                    arms[name] = arm_check(name)
            started = time.process_time()
            records, counts = generate_unit(config, name, part, batch, clouds[name], validators[name], closer, pads,
                                            arms.get(name))
            append_records(root, records)
            total["cpu_s"] = round(total["cpu_s"] + time.process_time() - started, 2)
            total["attempted"] += counts["attempted"]
            total["valid"] += counts["valid"]
            for check, n in counts["rejected"].items():
                total["rejected"][check] += n
            per["attempted"] += counts["attempted"]
            per["valid"] += counts["valid"]
            total["acceptance"] = round(total["valid"] / max(total["attempted"], 1), 4)
        meta["done"].append(key)
        write_meta(root, meta)
        bar.set_postfix(valid=total["valid"], rate=f"{total.get('acceptance', 0):.2f}")


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
