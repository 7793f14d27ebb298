"""The Shadow Hand of gymnasium-robotics as a floating hand: MJCF, kinematics and surface points.

The hand is the ``robot0:palm`` subtree of the wheel's ``envs/assets/hand/robot.xml`` (with the
defaults, contact pairs, tendons and actuators of ``shared.xml``) cut off below the wrist: the
palm is the child of a **mocap body** ``hand_root`` at identity, so a
:class:`~realvlg.geometry.grasps.DexGrasp` sets the palm pose directly (``data.mocap_pos/quat``) and
the two wrist joints (WRJ1, WRJ0) are gone — held at 0 by construction. The model keeps the 22
finger joints in :data:`SHADOW_JOINTS` order (``qpos`` = the grasp's joints when nothing else is
in the model) and 18 of the 20 position actuators (the wrist's are dropped).

Conventions (metres, radians, palm frame = the ``robot0:palm`` body frame): fingers extend
along palm +z, the knuckles line up along palm x (index at +x, little at −x), the palmar side (the
side the fingers flex to) is palm −y, the thumb sits at +x/−y.

Coupling: each finger's distal joint J0 is tied to its middle joint J1 by a fixed tendon
(``T_FFJ1c``: ``|0.00705·J0 − 0.00805·J1| ≤ 0.001``), i.e. J0 ≈ :data:`J0_COUPLING`·J1 within
±0.14 rad; the generator keeps J0 = clip(J0_COUPLING·J1) (:func:`couple_distal`). The thumb's
THJ0 is independent.

Kinematics: :class:`ShadowHand` reads the compiled model's body offsets and hinge axes once and
evaluates forward kinematics in torch, batched and differentiable (:meth:`ShadowHand.fk`), which
the grasp generator uses for its energy; the numpy methods (``forward``, ``finger_points``,
``surface_points``) wrap it. Surface points are sampled once (seeded) on the hand's **collision**
geoms (the capsules and boxes MuJoCo collides with, not the visual meshes) and moved with their
links.
"""

from __future__ import annotations

import functools
import math
import xml.etree.ElementTree as ET

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import (
    FINGER_OF_JOINT,
    FINGERS,
    J0_COUPLING,
    JOINT_UPPER,
    MJCF_PREFIX,
    SHADOW_JOINTS,
    HandModelError,
    hand_mjcf,
)

ROOT_BODY = "hand_root"
PALM_BODY = MJCF_PREFIX + "palm"
FINGER_LINKS = {
    "thumb": ("thmiddle", "thdistal"), "index": ("ffmiddle", "ffdistal"), "middle": ("mfmiddle", "mfdistal"),
    "ring": ("rfmiddle", "rfdistal"), "little": ("lfmiddle", "lfdistal"),
}
"""The middle and distal links of each finger (body names without the ``robot0:`` prefix)."""
FINGERTIP_SITES = {"thumb": "thtip", "index": "fftip", "middle": "mftip", "ring": "rftip", "little": "lftip"}


def _link_finger(body: str) -> str | None:
    """The finger a hand body belongs to (``robot0:ffmiddle`` → ``index``), None for the palm."""
    short = body.removeprefix(MJCF_PREFIX)
    return FINGER_OF_JOINT.get(short[:2].upper())


def floating_hand_mjcf(world: list[ET.Element] = (), assets: list[ET.Element] = (), timestep: float = 0.002,
                       gravity: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> str:
    """MJCF of the floating hand (palm under the mocap body ``hand_root``) plus extra ``world``
    bodies/geoms and ``assets``. Gravity is off unless given (the generator turns it per test)."""
    parts = hand_mjcf("palm")
    palm = parts["body"][0]
    palm.set("childclass", "robot0:asset_class")
    palm.set("pos", "0 0 0")
    mj = ET.Element("mujoco", model="floating_shadow_hand")
    ET.SubElement(mj, "compiler", angle="radian", coordinate="local")
    option = ET.SubElement(mj, "option", timestep=f"{timestep:g}", gravity=" ".join(f"{g:g}" for g in gravity),
                           cone="elliptic", impratio="10")
    ET.SubElement(option, "flag", warmstart="enable")
    ET.SubElement(mj, "size", nuser_jnt="1", nuser_site="1", nuser_tendon="1", nuser_sensor="1", nuser_actuator="16")
    for tag in ("default", "asset", "contact", "tendon", "actuator"):
        ET.SubElement(mj, tag).extend(parts[tag] + (list(assets) if tag == "asset" else []))
    worldbody = ET.SubElement(mj, "worldbody")
    hand_root = ET.SubElement(worldbody, "body", name=ROOT_BODY, mocap="true")
    hand_root.extend(parts["body"])
    worldbody.extend(world)
    return ET.tostring(mj, encoding="unicode")


@functools.lru_cache(maxsize=1)
def _hand_model():
    import mujoco

    return mujoco.MjModel.from_xml_string(floating_hand_mjcf())


def _sample_geom_surface(gtype: int, size: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) points on a capsule or box surface in its geom frame (area-uniform)."""
    import mujoco

    if gtype == mujoco.mjtGeom.mjGEOM_CAPSULE:
        r, h = size[0], size[1]
        side, cap = 2 * math.pi * r * 2 * h, 4 * math.pi * r * r
        on_side = rng.random(n) < side / (side + cap)
        u = rng.normal(size=(n, 3))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        pts = r * u
        pts[:, 2] += np.sign(u[:, 2]) * h  # hemispheres
        a = rng.uniform(0, 2 * math.pi, n)
        ring = np.column_stack([r * np.cos(a), r * np.sin(a), rng.uniform(-h, h, n)])
        return np.where(on_side[:, None], ring, pts)
    if gtype == mujoco.mjtGeom.mjGEOM_BOX:
        return _box_surface(np.asarray(size[:3]), n, rng)[0]
    raise HandModelError(f"unexpected hand collision geom type {gtype}")


def _box_surface(half: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) area-uniform points on a box of half extents ``half`` and their outward normals."""
    areas = np.array([half[1] * half[2], half[0] * half[2], half[0] * half[1]]).repeat(2)
    face = rng.choice(6, size=n, p=areas / areas.sum())
    axis, sign = face // 2, np.where(face % 2 == 0, 1.0, -1.0)
    pts = rng.uniform(-1, 1, (n, 3)) * half
    pts[np.arange(n), axis] = sign * half[axis]
    normals = np.zeros((n, 3))
    normals[np.arange(n), axis] = sign
    return pts, normals


class ShadowHand:
    """The floating Shadow Hand: joint limits, torch/numpy forward kinematics, surface points.

    ``points_per_link`` surface points are sampled (seeded by ``seed``) on each collision geom of
    each body; :meth:`finger_points` returns those of each finger's middle and distal links.
    """

    def __init__(self, points_per_link: int = 64, seed: int = 0):
        import mujoco

        m = self.model = _hand_model()
        self.data = mujoco.MjData(m)
        names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, j).removeprefix(MJCF_PREFIX) for j in range(m.njnt)]
        if tuple(names) != SHADOW_JOINTS:
            raise HandModelError(f"the hand MJCF's joints are {names}, expected {SHADOW_JOINTS}")
        self.joint_lower = m.jnt_range[:, 0].copy()
        self.joint_upper = m.jnt_range[:, 1].copy()
        # Kinematic tree below hand_root (body ids are in tree order: a parent before its children).
        self.root_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, ROOT_BODY)
        self.palm_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, PALM_BODY)
        self.body_ids = list(range(self.palm_id, m.nbody))
        self.body_names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in self.body_ids]
        self._parent = [self.body_ids.index(m.body_parentid[b]) if b != self.palm_id else -1 for b in self.body_ids]
        self._joint = [int(m.body_jntadr[b]) if m.body_jntnum[b] else -1 for b in self.body_ids]
        self._offset = torch.as_tensor(np.stack([_pose_matrix(m.body_pos[b], m.body_quat[b]) for b in self.body_ids]))
        self._axis = torch.as_tensor(m.jnt_axis.copy())
        # Collision geoms (contype 1) per body and surface samples in body frames.
        rng = np.random.default_rng(seed)
        pts, owner, geoms = [], [], []
        for i, b in enumerate(self.body_ids):
            for g in range(m.body_geomadr[b], m.body_geomadr[b] + m.body_geomnum[b]):
                if m.geom_contype[g] == 0 or m.geom_size[g].max() < 0.002:
                    continue  # visual meshes and the 1 mm placeholder boxes of thbase/thhub
                local = _sample_geom_surface(m.geom_type[g], m.geom_size[g], points_per_link, rng)
                T = _pose_matrix(m.geom_pos[g], m.geom_quat[g])
                pts.append(local @ T[:3, :3].T + T[:3, 3])
                owner.append(np.full(points_per_link, i))
                geoms.append(g)
        self.collision_geoms = geoms
        self._points = torch.as_tensor(np.concatenate(pts))
        self._point_body = torch.as_tensor(np.concatenate(owner))
        names_short = [n.removeprefix(MJCF_PREFIX) for n in self.body_names]
        self.finger_point_index = {
            f: torch.nonzero(torch.isin(self._point_body, torch.tensor([names_short.index(k) for k in links]))).ravel()
            for f, links in FINGER_LINKS.items()}
        self.point_finger = [_link_finger(self.body_names[int(i)]) for i in self._point_body]
        # Fingertip sites (body index, local position): the generator's contact points.
        self.tip_body = torch.tensor([names_short.index(FINGER_LINKS[f][1]) for f in FINGERS])
        self.tip_local = torch.as_tensor(np.stack([
            m.site_pos[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, MJCF_PREFIX + "S_" + FINGERTIP_SITES[f])]
            for f in FINGERS]))

    # -- torch kinematics --------------------------------------------------------------------
    def fk(self, palm: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
        """Batched forward kinematics: ``palm`` (B, 4, 4) frame←palm, ``joints`` (B, 22) →
        (B, nbodies, 4, 4) frame←body for :attr:`body_names` (palm first). Differentiable."""
        dtype = palm.dtype
        offset = self._offset.to(dtype)
        out = [palm]
        for i in range(1, len(self.body_ids)):
            T = out[self._parent[i]] @ offset[i]
            j = self._joint[i]
            if j >= 0:
                T = T @ _axis_rotation(self._axis[j].to(dtype), joints[:, j])
            out.append(T)
        return torch.stack(out, dim=1)

    def points_torch(self, links: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """Surface points (B, K, 3) from the link poses of :meth:`fk` (all points, or ``index``)."""
        pts, body = (self._points, self._point_body) if index is None else (self._points[index], self._point_body[index])
        T = links[:, body]  # (B, K, 4, 4)
        return (T[..., :3, :3] @ pts.to(links.dtype)[None, :, :, None]).squeeze(-1) + T[..., :3, 3]

    def fingertips_torch(self, links: torch.Tensor) -> torch.Tensor:
        """(B, 5, 3) fingertip sites in :data:`FINGERS` order."""
        T = links[:, self.tip_body]
        return (T[..., :3, :3] @ self.tip_local.to(links.dtype)[None, :, :, None]).squeeze(-1) + T[..., :3, 3]

    # -- numpy interface ---------------------------------------------------------------------
    def _links(self, grasp: DexGrasp) -> torch.Tensor:
        joints = torch.as_tensor(grasp.joints, dtype=torch.float64)[None]
        with torch.no_grad():
            return self.fk(torch.as_tensor(grasp.homogeneous())[None], joints)

    def forward(self, grasp: DexGrasp) -> dict[str, np.ndarray]:
        """Body name (``robot0:…``) → 4x4 pose in ``grasp.frame``, palm and every finger link."""
        links = self._links(grasp)[0].numpy()
        return dict(zip(self.body_names, links))

    def finger_points(self, grasp: DexGrasp) -> dict[str, np.ndarray]:
        """Finger in :data:`FINGERS` → (K, 3) points on its middle and distal link surfaces, in
        ``grasp.frame`` (K = 2 × ``points_per_link``)."""
        links = self._links(grasp)
        with torch.no_grad():
            return {f: self.points_torch(links, idx)[0].numpy() for f, idx in self.finger_point_index.items()}

    def surface_points(self, grasp: DexGrasp, n: int | None = None, seed: int = 0) -> np.ndarray:
        """(n, 3) points on the whole hand's collision surface in ``grasp.frame`` (all of them
        when ``n`` is None; a seeded subset otherwise)."""
        with torch.no_grad():
            pts = self.points_torch(self._links(grasp))[0].numpy()
        if n is None:
            return pts
        if n <= 0:
            raise InvalidInputError(f"surface_points needs n > 0, got {n}")
        return pts[np.random.default_rng(seed).choice(len(pts), size=n, replace=n > len(pts))]

    def set_state(self, grasp: DexGrasp, data=None) -> None:
        """Put ``grasp`` into a MuJoCo ``data`` of a model built by :func:`floating_hand_mjcf`
        (default: this hand's own): mocap pose of the palm, the 22 finger joints first in qpos."""
        import mujoco

        d = self.data if data is None else data
        d.mocap_pos[0] = grasp.position
        d.mocap_quat[0] = np.roll(grasp.rotation.as_quat(), 1)  # MuJoCo is w, x, y, z
        d.qpos[: len(SHADOW_JOINTS)] = grasp.joints
        if data is None:
            mujoco.mj_kinematics(self.model, d)


def couple_distal(joints: np.ndarray | torch.Tensor):
    """Joints with each finger's J0 set from its J1 by the tendon coupling (the thumb untouched)."""
    idx_j1 = [SHADOW_JOINTS.index(f"{p}J1") for p in ("FF", "MF", "RF", "LF")]
    idx_j0 = [SHADOW_JOINTS.index(f"{p}J0") for p in ("FF", "MF", "RF", "LF")]
    if isinstance(joints, torch.Tensor):
        out = joints.clone()
        out[..., idx_j0] = torch.clamp(J0_COUPLING * joints[..., idx_j1], 0.0, float(JOINT_UPPER[idx_j0[0]]))
        return out
    out = np.array(joints, dtype=float, copy=True)
    out[..., idx_j0] = np.clip(J0_COUPLING * out[..., idx_j1], 0.0, JOINT_UPPER[idx_j0[0]])
    return out


def _pose_matrix(pos, quat_wxyz) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_quat(np.roll(np.asarray(quat_wxyz, dtype=float), -1)).as_matrix()
    T[:3, 3] = pos
    return T


def _axis_rotation(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """(B,) angles about a unit ``axis`` (3,) → (B, 4, 4) homogeneous rotations (Rodrigues)."""
    B = angle.shape[0]
    K = torch.zeros(3, 3, dtype=axis.dtype)
    K[0, 1], K[0, 2], K[1, 0], K[1, 2], K[2, 0], K[2, 1] = -axis[2], axis[1], axis[2], -axis[0], -axis[1], axis[0]
    s, c = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    R = torch.eye(3, dtype=axis.dtype) + s * K + (1 - c) * (K @ K)
    top = torch.cat([R, torch.zeros(B, 3, 1, dtype=axis.dtype)], dim=2)
    bottom = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=axis.dtype).expand(B, 1, 4)
    return torch.cat([top, bottom], dim=1)
