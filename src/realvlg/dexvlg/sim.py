"""DexVLG's simulated robot: a UR10e built from its DH table with gymnasium-robotics' Shadow Hand on
its flange, a wrist RGB-D camera, a table and realvlg's simulated objects, all in MuJoCo.

Frames (metres, radians, REP-103):

* **base** = MuJoCo world = the UR10e's ``base_link`` (z up, x towards the table). The table top is
  the plane z = ``DexSimConfig.table_top`` (0: the robot is mounted at table height) and spans
  ``table_extent``; the floor is 0.75 m below it.
* **arm**: bodies ``shoulder_link … wrist_3_link`` and ``tool0`` are placed from
  :data:`~realvlg.dexvlg.ur10e.UR10E_DH` (body *i* = DH frame *i−1* turned by ``q_i`` about its z;
  ``tool0`` = DH frame 6), so MuJoCo's ``tool0`` equals
  :func:`~realvlg.dexvlg.ur10e.forward_kinematics` exactly. Joints ``shoulder_pan_joint …
  wrist_3_joint`` (Universal Robots' names), link capsules/cylinders of the real arm's size, the
  data sheet's link masses, gravity compensated (as UR's controller does) and driven by position
  servos (``kp``/``kv`` per joint, torque limits 330/330/150/56/56/56 N·m).
* **hand**: the Shadow Hand of gymnasium-robotics (``robot0:`` names, its collision capsules,
  meshes, tendon couplings and 20 position actuators) without the forearm and with the two wrist
  joints locked at 0: ``robot0:wrist`` sits on a 3 cm adapter plate on the flange, so
  :data:`~realvlg.dexvlg.ur10e.TOOL0_T_PALM` (tool0←``robot0:palm``, the one mount constant that
  ranking and both executors use; the tests check MuJoCo against it) is a pure translation of 0.064 m along the flange
  z. The fingers point along tool0 +z, the palm faces tool0 −y (= the hand's *approach*
  direction, palm −y) and the thumb sits on +x.
* **camera** = the optical frame of a D415-like wrist camera under the flange, on the palm side:
  optical centre at (0, −0.056, 0.015) in tool0, looking along the approach (optical z = tool0 −y),
  image up = the fingers' direction (optical y = tool0 −z), image right = tool0 −x. Intrinsics:
  1280×720 with fx = fy = 1005 px (65° × 39.4° field of view, the D415 data sheet's depth FOV),
  principal point at the centre, scaled with the resolution. The hand stays behind the image plane.

Observation pose: :meth:`DexSimWorld.observation_q` points the camera at ``view_target`` from
``view_distance`` at a 45° look-down (the paper's real setup), solved by IK at start-up.

Objects: :data:`~realvlg.objects.OBJECTS`' MJCF bodies (``obj/<name>``, geoms
``obj/<name>/<i>`` with parts from ``ObjectSpec.parts``); scenes come from
:func:`~realvlg.sim.scenes.generate_scene` moved by ``scene_offset`` in front of the UR10e
(:func:`dex_scene`). Objects of the world that a :meth:`~DexSimWorld.reset` leaves out wait on the
floor beside the table, out of view.

Physics: stepped in-process (``mj_step``, 2 ms, implicit-fast integrator, elliptic friction cones);
no real-time thread. Not thread-safe: one caller at a time.

Collisions: arm, hand and camera geoms collide with the table and objects, not with each other
(the hand keeps its MJCF's finger–thumb pairs).
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

import mujoco
import numpy as np

from realvlg.dexvlg.ur10e import (
    UR10E_DH,
    UR10E_Q_MAX,
    UR10E_Q_MIN,
    solve_ik,
)
from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.projection import PointCloud, backproject_cloud
from realvlg.objects import OBJECTS, TABLE_CLEARANCE
from realvlg.shadow_hand import SHADOW_JOINTS, hand_mjcf
from realvlg.sim.world import CameraConfig, Placement

ARM_JOINTS = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
              "wrist_1_joint", "wrist_2_joint", "wrist_3_joint")
ARM_LINKS = ("shoulder_link", "upper_arm_link", "forearm_link", "wrist_1_link", "wrist_2_link", "wrist_3_link")
HAND_PREFIX = "robot0:"
PALM_BODY = HAND_PREFIX + "palm"
CAMERA_NAME = "wrist_camera"
OBJECT_PREFIX = "obj/"
TABLE_GEOM = "table"

# UR10e data sheet / UR's dynamics parameters: link masses [kg], joint torque limits [N·m]
ARM_MASSES = (7.369, 13.051, 3.989, 2.1, 1.98, 0.615)
ARM_TORQUE = (330.0, 330.0, 150.0, 56.0, 56.0, 56.0)
ARM_KP = (6000.0, 6000.0, 4000.0, 800.0, 800.0, 500.0)  # position servo [N·m/rad]
ARM_KV = (400.0, 400.0, 200.0, 30.0, 30.0, 15.0)  # velocity feedback [N·m·s/rad]

ADAPTER_LENGTH = 0.03  # flange → robot0:wrist [m]

CAMERA_MOUNT = (0.0, -0.056, 0.015)  # optical centre in tool0 [m]
T_FLANGE_CAMERA = np.eye(4)
T_FLANGE_CAMERA[:3, :3] = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, -1.0, 0.0]])
T_FLANGE_CAMERA[:3, 3] = CAMERA_MOUNT
"""tool0←camera optical frame (module docstring)."""
D415_FX_1280 = 1005.0  # px at 1280×720: 65° horizontal field of view
# MuJoCo cameras look along −z with y up; the optical frame looks along +z with y down.
_MJ_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])


class DexSimError(RealVLGError):
    """The simulation cannot do what was asked (unknown object, bad joint vector)."""


# -- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class DexCameraConfig(CameraConfig):
    """The D415-like wrist camera: the FR3 simulation's camera type with a D415's focal length and
    near clip (its ``mount_position`` is unused here: the mount is :data:`T_FLANGE_CAMERA`)."""

    near: float = 0.05
    fx_1280: float = D415_FX_1280


@dataclass(frozen=True)
class DexSimConfig:
    camera: DexCameraConfig = DexCameraConfig()
    table_top: float = 0.0
    table_extent: tuple[float, float, float, float] = (0.3, 1.3, -0.7, 0.7)  # x_min, x_max, y_min, y_max
    scene_offset: tuple[float, float] = (0.4, 0.0)  # added to generate_scene's placements (FR3 region)
    view_target: tuple[float, float] = (0.86, 0.0)  # where the observation pose looks (table point)
    view_distance: float = 0.6  # camera → view_target [m]
    # The observation pose is the IK solution nearest to this (elbow up, wrist over the table).
    home_q: tuple[float, ...] = (0.6, -0.8, -2.5, -1.9, -1.1, -0.6)
    timestep: float = 0.002


@dataclass(frozen=True)
class MoveResult:
    """Outcome of a joint move: ``reached`` the target within ``tolerance`` or why not."""

    reached: bool
    reason: str = ""
    error: float = 0.0  # max |q − target| at the end [rad]


@dataclass(frozen=True)
class LiftCheck:
    """The paper's Suc for one object: ``height_gain`` [m] over its resting height after the
    hold; ``lifted`` (gain ≥ lift at the start and the end of the hold) and ``held`` (touching the
    hand, not the table, at the end)."""

    lifted: bool
    held: bool
    height_gain: float

    @property
    def success(self) -> bool:
        return self.lifted and self.held


@dataclass
class DexObservation:
    """One wrist-camera frame. ``rgb`` uint8 (H, W, 3); ``depth`` float32 (H, W) metric z-depth
    [m] (0 = no return); ``segmentation`` int16 (H, W): index into ``object_names`` (−1 robot,
    table, floor); ``part_segmentation`` int16 (H, W): index into ``part_labels`` ((object, part)
    pairs, −1 elsewhere); ``T_base_camera`` base←optical frame; ``object_poses`` base←object."""

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray
    part_segmentation: np.ndarray
    intrinsics: CameraIntrinsics
    T_base_camera: np.ndarray
    object_names: tuple[str, ...]
    part_labels: tuple[tuple[str, str], ...]
    object_poses: dict[str, np.ndarray] = field(repr=False)
    sim_time: float = 0.0

    def object_mask(self, name: str) -> np.ndarray:
        if name not in self.object_names:
            raise InvalidInputError(f"no object {name!r} in this scene ({', '.join(self.object_names)})")
        return self.segmentation == self.object_names.index(name)

    def part_mask(self, name: str, part: str) -> np.ndarray:
        if (name, part) not in self.part_labels:
            raise InvalidInputError(f"{name!r} in this scene has no part {part!r}")
        return self.part_segmentation == self.part_labels.index((name, part))


def dex_scene(setting: str, seed: int, objects=None, config: DexSimConfig = DexSimConfig()) -> tuple[Placement, ...]:
    """:func:`~realvlg.sim.scenes.generate_scene`'s placements moved by ``config.scene_offset``
    in front of the UR10e (same seeds, same layouts)."""
    from realvlg.sim.scenes import generate_scene

    dx, dy = config.scene_offset
    return tuple(Placement(p.name, p.x + dx, p.y + dy, p.yaw) for p in generate_scene(setting, seed, objects).placements)


# -- MJCF ----------------------------------------------------------------------------------------
def _fmt(values) -> str:
    return " ".join(f"{float(v):.9g}" for v in values)


def _dh_offset(i: int) -> dict:
    """pos/quat of DH link i's constant part TransZ(d)·TransX(a)·RotX(alpha) (0-based i)."""
    d, a, alpha = UR10E_DH[i]
    return dict(pos=_fmt((a, 0.0, d)), quat=_fmt((math.cos(alpha / 2), math.sin(alpha / 2), 0.0, 0.0)))


# Link shapes in each body's frame (z = that body's joint axis): (type, radius, from, to, carries mass)
_ARM_SHAPES = (
    (("cylinder", 0.075, (0, 0, 0.0), (0, 0, 0.2), True),),  # shoulder: J1 housing
    (("cylinder", 0.075, (0, 0, -0.01), (0, 0, 0.23), False),  # J2 housing
     ("capsule", 0.06, (0, 0, 0.176), (-0.6127, 0, 0.176), True)),  # upper arm
    (("cylinder", 0.065, (0, 0, 0.03), (0, 0, 0.2), False),  # elbow housing
     ("capsule", 0.046, (0, 0, 0.04), (-0.57155, 0, 0.04), True)),  # forearm
    (("cylinder", 0.047, (0, 0, 0.04), (0, 0, 0.21), True),),  # wrist 1
    (("cylinder", 0.047, (0, 0, 0.03), (0, 0, 0.16), True),),  # wrist 2
    (("cylinder", 0.045, (0, 0, 0.02), (0, 0, 0.1165), True),),  # wrist 3 up to the flange
)
_ARM_RGBA = ("0.6 0.75 0.85 1", "0.2 0.22 0.25 1")  # UR blue-grey links, dark joint caps


def _add_arm(worldbody: ET.Element) -> ET.Element:
    """The UR10e chain from UR10E_DH; returns the tool0 body."""
    base = ET.SubElement(worldbody, "body", name="base_link")
    ET.SubElement(base, "geom", name="base_link/0", type="cylinder", fromto="0 0 0 0 0 0.1", size="0.095",
                  rgba=_ARM_RGBA[1], mass="4", contype="1", conaffinity="0")
    parent = base
    for i, (joint, link) in enumerate(zip(ARM_JOINTS, ARM_LINKS)):
        attrs = dict(name=link, gravcomp="1")
        if i > 0:
            attrs.update(_dh_offset(i - 1))
        body = ET.SubElement(parent, "body", **attrs)
        ET.SubElement(body, "joint", name=joint, type="hinge", axis="0 0 1", range=_fmt((UR10E_Q_MIN[i], UR10E_Q_MAX[i])),
                      damping="2", armature=str([1.0, 1.0, 0.5, 0.1, 0.1, 0.1][i]))
        for k, (kind, r, p0, p1, heavy) in enumerate(_ARM_SHAPES[i]):
            ET.SubElement(body, "geom", name=f"{link}/{k}", type=kind, fromto=_fmt((*p0, *p1)), size=f"{r}",
                          mass=f"{ARM_MASSES[i] if heavy else 0.3 * ARM_MASSES[i]:.4g}",
                          rgba=_ARM_RGBA[0] if kind == "capsule" else _ARM_RGBA[1], contype="1", conaffinity="0")
        parent = body
    tool0 = ET.SubElement(parent, "body", name="tool0", **_dh_offset(5))
    return tool0


def _mountable_hand() -> dict[str, list[ET.Element]]:
    """The Shadow Hand from ``robot0:wrist`` down (:func:`~realvlg.shadow_hand.hand_mjcf`), gravity
    compensated like the arm, without the ``user`` attributes this model has no room for."""
    hand = hand_mjcf("wrist")
    for element in (e for group in hand.values() for e in group):
        for e in element.iter():
            e.attrib.pop("user", None)
    for body in hand["body"][0].iter("body"):
        body.set("gravcomp", "1")
    return hand


def robot_mjcf(config: DexSimConfig = DexSimConfig()) -> tuple[ET.Element, ET.Element]:
    """The UR10e + Shadow Hand + wrist camera MJCF (no table, no objects): ``(mujoco root,
    worldbody)``."""
    cam = config.camera
    root = ET.Element("mujoco", model="ur10e_shadow")
    ET.SubElement(root, "compiler", angle="radian", autolimits="true")
    ET.SubElement(root, "option", timestep=f"{config.timestep}", integrator="implicitfast", cone="elliptic",
                  impratio="10")
    visual = ET.SubElement(root, "visual")
    ET.SubElement(visual, "global", offwidth=str(max(cam.width, 640)), offheight=str(max(cam.height, 480)))
    ET.SubElement(visual, "quality", shadowsize="2048", offsamples="2")
    ET.SubElement(visual, "map", znear="0.005", zfar="5")
    hand = _mountable_hand()
    ET.SubElement(root, "default").extend(hand["default"])
    ET.SubElement(root, "asset").extend(hand["asset"])
    worldbody = ET.SubElement(root, "worldbody")
    tool0 = _add_arm(worldbody)
    ET.SubElement(tool0, "geom", name="tool0/adapter", type="cylinder", fromto=_fmt((0, 0, 0, 0, 0, ADAPTER_LENGTH)),
                  size="0.04", rgba=_ARM_RGBA[1], mass="0.2", contype="1", conaffinity="0")
    # D415 housing (99 × 20 × 23 mm) behind the optical centre.
    x, y, z = CAMERA_MOUNT
    ET.SubElement(tool0, "geom", name="tool0/camera", type="box", pos=_fmt((x, y + 0.0115, z)),
                  size="0.0495 0.0115 0.01", rgba="0.15 0.15 0.17 1", mass="0.072", contype="1", conaffinity="0")
    ET.SubElement(tool0, "camera", name=CAMERA_NAME, pos=_fmt(CAMERA_MOUNT), xyaxes="-1 0 0 0 0 1",
                  fovy=f"{cam.fovy_deg:.6f}")
    wrist = hand["body"][0]
    wrist.set("pos", _fmt((0, 0, ADAPTER_LENGTH)))
    tool0.append(wrist)
    for key in ("contact", "tendon"):
        ET.SubElement(root, key).extend(hand[key])
    actuator = ET.SubElement(root, "actuator")
    actuator.extend(hand["actuator"])
    for i, joint in enumerate(ARM_JOINTS):
        ET.SubElement(actuator, "position", name=f"A_{joint}", joint=joint, kp=f"{ARM_KP[i]}", kv=f"{ARM_KV[i]}",
                      ctrlrange=_fmt((UR10E_Q_MIN[i], UR10E_Q_MAX[i])), forcerange=_fmt((-ARM_TORQUE[i], ARM_TORQUE[i])))
    return root, worldbody


def _scene_mjcf(config: DexSimConfig, object_names: Sequence[str]) -> str:
    root, worldbody = robot_mjcf(config)
    t = config.table_top
    ET.SubElement(worldbody, "light", name="sun", directional="true", pos="0.5 0 3", dir="0 0.3 -1",
                  diffuse="0.8 0.8 0.8", ambient="0.3 0.3 0.3", castshadow="true")
    ET.SubElement(worldbody, "geom", name="floor", type="plane", pos=f"0 0 {t - 0.75}", size="4 4 0.1",
                  rgba="0.55 0.55 0.55 1")
    x0, x1, y0, y1 = config.table_extent
    ET.SubElement(worldbody, "geom", name=TABLE_GEOM, type="box", pos=_fmt(((x0 + x1) / 2, (y0 + y1) / 2, t - 0.02)),
                  size=_fmt(((x1 - x0) / 2, (y1 - y0) / 2, 0.02)), rgba="0.72 0.58 0.42 1", friction="0.8 0.01 0.0001")
    for sx, sy in ((x0 + 0.05, y0 + 0.05), (x0 + 0.05, y1 - 0.05), (x1 - 0.05, y0 + 0.05), (x1 - 0.05, y1 - 0.05)):
        ET.SubElement(worldbody, "geom", type="box", pos=_fmt((sx, sy, t - 0.4)), size="0.03 0.03 0.36",
                      rgba="0.5 0.4 0.3 1", contype="0", conaffinity="0")
    ET.SubElement(worldbody, "geom", name="pedestal", type="cylinder", fromto=_fmt((0, 0, t - 0.75, 0, 0, -0.001)),
                  size="0.1", rgba="0.3 0.3 0.32 1", contype="0", conaffinity="0")
    asset = root.find("asset")
    for i, name in enumerate(object_names):
        spec = OBJECTS[name]
        asset.extend(spec.mjcf_assets())
        worldbody.append(spec.mjcf_body(OBJECT_PREFIX + name, _park_position(i, config), 0.0))
    return ET.tostring(root, encoding="unicode")


def _park_position(slot: int, config: DexSimConfig) -> tuple[float, float, float]:
    """Where an object not in the current scene waits: on the floor beside the table."""
    return (0.3 + 0.15 * slot, config.table_extent[2] - 0.4, config.table_top - 0.75 + TABLE_CLEARANCE)


def _pose(pos, mat) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.asarray(mat).reshape(3, 3)
    T[:3, 3] = pos
    return T


# -- the world -----------------------------------------------------------------------------------
class DexSimWorld:
    """UR10e + Shadow Hand in a table-top scene (module docstring). ``objects``: every object a
    later :meth:`reset` may place (default: those of ``placements``)."""

    def __init__(self, placements: Sequence[Placement] = (), config: DexSimConfig = DexSimConfig(),
                 objects: Sequence[str] | None = None):
        names = list(objects) if objects is not None else [p.name for p in placements]
        unknown = [n for n in names if n not in OBJECTS]
        if unknown:
            raise InvalidInputError(f"unknown objects {unknown}; known: {', '.join(OBJECTS)}")
        if len(set(names)) != len(names):
            raise InvalidInputError(f"each object may appear once in a scene, got {names}")
        self.config = config
        self.object_names = tuple(names)
        self.model = mujoco.MjModel.from_xml_string(_scene_mjcf(config, names))
        self.data = mujoco.MjData(self.model)
        self._index()
        self._renderer: mujoco.Renderer | None = None
        self._scratch: mujoco.MjData | None = None  # what-if checks (collides_with_table)
        self._observation_q: np.ndarray | None = None
        self._rest_z: dict[str, float] = {}
        self.active: tuple[str, ...] = ()
        self.reset(placements)

    # -- indices --------------------------------------------------------------------------------
    def _index(self) -> None:
        m = self.model
        ids = lambda kind, names: np.array([mujoco.mj_name2id(m, kind, n) for n in names])
        self._arm_joints = ids(mujoco.mjtObj.mjOBJ_JOINT, ARM_JOINTS)
        self._arm_qpos = m.jnt_qposadr[self._arm_joints]
        self._arm_dof = m.jnt_dofadr[self._arm_joints]
        self._arm_act = ids(mujoco.mjtObj.mjOBJ_ACTUATOR, [f"A_{j}" for j in ARM_JOINTS])
        hand_joints = ids(mujoco.mjtObj.mjOBJ_JOINT, [HAND_PREFIX + j for j in SHADOW_JOINTS])
        self._hand_qpos = m.jnt_qposadr[hand_joints]
        self._hand_dof = m.jnt_dofadr[hand_joints]
        self._hand_act = np.array([i for i in range(m.nu) if m.actuator(i).name.startswith(HAND_PREFIX)])
        act_joint = [m.joint(m.actuator_trnid[i, 0]).name[len(HAND_PREFIX):] for i in self._hand_act]
        self._hand_act_joint = np.array([SHADOW_JOINTS.index(j) for j in act_joint])
        # J1 actuators also set the coupled J0 (tendon: 0.00705·J0 ≈ 0.00805·J1).
        self._hand_act_coupled = np.array([SHADOW_JOINTS.index(j[:-1] + "0") if j.endswith("J1") and j[:2] != "TH"
                                           else -1 for j in act_joint])
        self._palm = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, PALM_BODY)
        self._tool0 = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "tool0")
        self._cam = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, CAMERA_NAME)
        self._table = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, TABLE_GEOM)
        robot_bodies = {mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in ("base_link", *ARM_LINKS, "tool0")}
        robot_bodies |= {i for i in range(m.nbody) if m.body(i).name.startswith(HAND_PREFIX)}
        self._robot_geom = np.isin(m.geom_bodyid, sorted(robot_bodies))
        self._hand_geom = np.array([m.body(b).name.startswith(HAND_PREFIX) for b in m.geom_bodyid])
        self._bodies = {n: mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, OBJECT_PREFIX + n) for n in self.object_names}
        self._geom_object = np.full(m.ngeom, -1, dtype=np.int16)
        self._geom_part = np.full(m.ngeom, -1, dtype=np.int16)
        labels = []
        for i, n in enumerate(self.object_names):
            self._geom_object[m.geom_bodyid == self._bodies[n]] = i
            for part, idx in OBJECTS[n].parts.items():
                for k in idx:
                    self._geom_part[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, f"{OBJECT_PREFIX}{n}/{k}")] = len(labels)
                labels.append((n, part))
        self.part_labels = tuple(labels)
        self.hand_ctrl_range = m.actuator_ctrlrange[self._hand_act]

    # -- state ----------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return float(self.data.time)

    def arm_q(self) -> np.ndarray:
        return self.data.qpos[self._arm_qpos].copy()

    def hand_q(self) -> np.ndarray:
        """The 22 finger joints (:data:`SHADOW_JOINTS` order)."""
        return self.data.qpos[self._hand_qpos].copy()

    def palm_pose(self) -> np.ndarray:
        """base←robot0:palm (the :class:`DexGrasp` frame)."""
        return _pose(self.data.xpos[self._palm], self.data.xmat[self._palm])

    def flange_pose(self) -> np.ndarray:
        """base←tool0."""
        return _pose(self.data.xpos[self._tool0], self.data.xmat[self._tool0])

    def camera_pose(self) -> np.ndarray:
        """base←camera optical frame."""
        d = self.data
        return _pose(d.cam_xpos[self._cam], d.cam_xmat[self._cam].reshape(3, 3) @ _MJ_TO_OPTICAL)

    def object_pose(self, name: str) -> np.ndarray:
        """base←object (footprint centre, z up)."""
        if name not in self._bodies:
            raise InvalidInputError(f"no object {name!r} in this world ({', '.join(self.object_names)})")
        b = self._bodies[name]
        return _pose(self.data.xpos[b], self.data.xmat[b])

    def object_height(self, name: str) -> float:
        """Height of the object's centre of mass [m] (what :meth:`lift_check` measures: unlike
        the footprint origin it does not change when a round object rolls)."""
        self.object_pose(name)
        return float(self.data.xipos[self._bodies[name], 2])

    def object_poses(self) -> dict[str, np.ndarray]:
        return {n: self.object_pose(n) for n in self.active}

    def contacts(self, name: str) -> tuple[bool, bool]:
        """Whether object ``name`` touches the hand, the table."""
        m, d = self.model, self.data
        c = d.contact[: d.ncon]
        b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
        mine = (b1 == self._bodies[name]) | (b2 == self._bodies[name])
        other = np.where(b1 == self._bodies[name], c.geom2, c.geom1)[mine]
        return bool(self._hand_geom[other].any()), bool(np.any(other == self._table))

    def robot_table_contact(self, data: mujoco.MjData | None = None, depth: float = 1e-3) -> bool:
        """Whether a robot geom (arm, hand, camera) penetrates the table by more than ``depth``."""
        d = data if data is not None else self.data
        c = d.contact[: d.ncon]
        robot_table = ((c.geom1 == self._table) & self._robot_geom[c.geom2]) | (
            (c.geom2 == self._table) & self._robot_geom[c.geom1])
        return bool(np.any(robot_table & (c.dist < -depth)))

    # -- scenes ---------------------------------------------------------------------------------
    def reset(self, placements: Sequence[Placement] = (), settle: float = 0.3) -> None:
        """A new scene: arm at the observation pose, hand open, the objects of ``placements`` on the
        table at rest, every other object of the world parked on the floor; ``settle`` seconds of
        physics, then the objects' resting heights are recorded for :meth:`lift_check`."""
        wanted = {p.name: p for p in placements}
        unknown = set(wanted) - set(self.object_names)
        if unknown:
            raise InvalidInputError(f"this world has no {', '.join(sorted(unknown))}; build it with every object "
                                    f"a reset may use ({', '.join(self.object_names)})")
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        q = self.observation_q()
        d.qpos[self._arm_qpos] = q
        d.ctrl[self._arm_act] = q
        d.ctrl[self._hand_act] = np.clip(0.0, *self.hand_ctrl_range.T)
        for i, name in enumerate(self.object_names):
            joint = m.body_jntadr[self._bodies[name]]
            a = m.jnt_qposadr[joint]
            if name in wanted:
                p = wanted[name]
                d.qpos[a:a + 3] = (p.x, p.y, self.config.table_top + TABLE_CLEARANCE)
                d.qpos[a + 3:a + 7] = (math.cos(p.yaw / 2), 0.0, 0.0, math.sin(p.yaw / 2))
            else:
                d.qpos[a:a + 3] = _park_position(i, self.config)
                d.qpos[a + 3:a + 7] = (1.0, 0.0, 0.0, 0.0)
        self.active = tuple(wanted)
        mujoco.mj_forward(m, d)
        self.step(settle)
        self._rest_z = {n: self.object_height(n) for n in self.active}

    def observation_q(self) -> np.ndarray:
        """Arm joints that show the table (module docstring); solved once by IK."""
        if self._observation_q is None:
            cfg = self.config
            target = np.array([*cfg.view_target, cfg.table_top])
            forward = np.array([math.cos(math.pi / 4), 0.0, -math.sin(math.pi / 4)])
            T_cam = np.eye(4)
            x = np.array([0.0, -1.0, 0.0])  # image right = base −y
            T_cam[:3, :3] = np.column_stack([x, np.cross(forward, x), forward])
            T_cam[:3, 3] = target - cfg.view_distance * forward
            ik = solve_ik(T_cam @ np.linalg.inv(T_FLANGE_CAMERA), np.asarray(cfg.home_q))
            if not ik.reachable:
                raise DexSimError(f"no observation pose reaches view_target {cfg.view_target} from "
                                  f"{cfg.view_distance} m")
            self._observation_q = ik.q
        return self._observation_q.copy()

    # -- physics --------------------------------------------------------------------------------
    def step(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds / self.model.opt.timestep))):
            mujoco.mj_step(self.model, self.data)

    def move_arm(self, q_target: Sequence[float], duration: float = 2.0, tolerance: float = 0.01,
                 settle: float = 0.5, stop_on_table_contact: bool = True) -> MoveResult:
        """Move the arm to ``q_target`` [rad] along a minimum-jerk joint path over ``duration``
        seconds (position targets every physics step), then allow up to ``settle`` seconds to
        come within ``tolerance``. Stops and holds where it is if the robot hits the table."""
        q1 = np.asarray(q_target, dtype=float).reshape(-1)
        if q1.shape != (6,) or not np.isfinite(q1).all():
            raise InvalidInputError(f"the UR10e takes 6 finite joint angles, got {q_target!r}")
        if np.any(q1 < UR10E_Q_MIN) or np.any(q1 > UR10E_Q_MAX):
            raise InvalidInputError(f"joint target {q1.round(3).tolist()} outside the UR10e's ±2π range")
        d, dt = self.data, self.model.opt.timestep
        q0 = d.ctrl[self._arm_act].copy()
        n = max(1, round(duration / dt))
        for k in range(1, n + round(settle / dt) + 1):
            s = min(k / n, 1.0)
            d.ctrl[self._arm_act] = q0 + (10 * s**3 - 15 * s**4 + 6 * s**5) * (q1 - q0)
            mujoco.mj_step(self.model, d)
            if stop_on_table_contact and self.robot_table_contact():
                d.ctrl[self._arm_act] = d.qpos[self._arm_qpos]
                return MoveResult(False, "the robot hit the table", float(np.abs(self.arm_q() - q1).max()))
            if k >= n and np.abs(self.arm_q() - q1).max() < tolerance:
                return MoveResult(True, "", float(np.abs(self.arm_q() - q1).max()))
        error = float(np.abs(self.arm_q() - q1).max())
        return MoveResult(False, f"did not reach the target within {settle} s (error {error:.3f} rad)", error)

    def hand_ctrl(self, joints22: Sequence[float]) -> np.ndarray:
        """22 finger joint angles → the 20 actuator targets (a coupled J1 actuator gets the J1
        angle most consistent with both J1 and J0), clipped to the actuators' ranges."""
        j = np.asarray(joints22, dtype=float).reshape(-1)
        if j.shape != (len(SHADOW_JOINTS),) or not np.isfinite(j).all():
            raise InvalidInputError(f"the Shadow Hand takes {len(SHADOW_JOINTS)} finite joint angles, got shape {j.shape}")
        ratio = 0.00805 / 0.00705
        target = j[self._hand_act_joint]
        coupled = self._hand_act_coupled >= 0
        target[coupled] = (target[coupled] + ratio * j[self._hand_act_coupled[coupled]]) / (1 + ratio**2)
        return np.clip(target, *self.hand_ctrl_range.T)

    def set_hand(self, joints22: Sequence[float], duration: float = 1.0) -> np.ndarray:
        """Drive the fingers to ``joints22`` (:data:`SHADOW_JOINTS` order) linearly over
        ``duration`` seconds while the arm holds; returns the finger joints reached."""
        target = self.hand_ctrl(joints22)
        d = self.data
        start = d.ctrl[self._hand_act].copy()
        n = max(1, round(duration / self.model.opt.timestep))
        for k in range(1, n + 1):
            d.ctrl[self._hand_act] = start + k / n * (target - start)
            mujoco.mj_step(self.model, d)
        return self.hand_q()

    def lift_check(self, name: str, lift: float = 0.03, hold: float = 1.0) -> LiftCheck:
        """The paper's Suc for object ``name`` (call it after lifting): the object's centre of mass
        must be at least ``lift`` above its resting height now and after ``hold`` seconds with the robot still,
        touching the hand and not the table at the end."""
        if name not in self.active:
            raise InvalidInputError(f"no object {name!r} in this scene ({', '.join(self.active)})")
        gain0 = self.object_height(name) - self._rest_z[name]
        self.step(hold)
        gain = self.object_height(name) - self._rest_z[name]
        hand, table = self.contacts(name)
        return LiftCheck(lifted=min(gain0, gain) >= lift, held=hand and not table, height_gain=gain)

    # -- what-if checks (no motion) ------------------------------------------------------------
    def collides_with_table(self, arm_q: np.ndarray, hand_q: np.ndarray, depth: float = 1e-3) -> bool:
        """Whether the robot at ``arm_q`` with fingers ``hand_q`` would penetrate the table
        (kinematics and collision detection on a scratch copy of the state)."""
        if self._scratch is None:
            self._scratch = mujoco.MjData(self.model)
        scratch = self._scratch
        scratch.qpos[:] = self.data.qpos
        scratch.qpos[self._arm_qpos] = arm_q
        scratch.qpos[self._hand_qpos] = hand_q
        mujoco.mj_fwdPosition(self.model, scratch)
        return self.robot_table_contact(scratch, depth)

    # -- camera ---------------------------------------------------------------------------------
    def render(self) -> DexObservation:
        """RGB, metric depth, object and part segmentation from the wrist camera."""
        cam = self.config.camera
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, cam.height, cam.width)
        r, d = self._renderer, self.data
        shadow = mujoco.mjtRndFlag.mjRND_SHADOW
        r.scene.flags[shadow] = True
        r.update_scene(d, camera=self._cam)
        rgb = r.render().copy()
        r.scene.flags[shadow] = False  # depth and labels need no shadow map (most of the CPU render time)
        r.enable_depth_rendering()
        r.update_scene(d, camera=self._cam)
        depth = r.render().astype(np.float32)
        r.disable_depth_rendering()
        r.enable_segmentation_rendering()
        r.update_scene(d, camera=self._cam)
        seg = r.render()
        r.disable_segmentation_rendering()
        geom = np.where(seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), seg[..., 0], -1)
        valid = geom >= 0
        safe = np.maximum(geom, 0)
        depth[(depth < cam.near) | (depth > cam.far)] = 0.0
        return DexObservation(rgb, depth, np.where(valid, self._geom_object[safe], -1).astype(np.int16),
                              np.where(valid, self._geom_part[safe], -1).astype(np.int16), cam.intrinsics(),
                              self.camera_pose(), self.object_names, self.part_labels,
                              self.object_poses(), self.time)

    @staticmethod
    def scene_cloud(observation: DexObservation, mask: np.ndarray | None = None, frame: str = "base") -> PointCloud:
        """The observation's coloured point cloud (valid depth, optionally inside ``mask``), in the
        base frame (``frame="base"``) or the camera's optical frame (``frame="camera"``)."""
        cloud = backproject_cloud(observation.depth, observation.intrinsics, mask=mask, colors=observation.rgb)
        if frame == "camera":
            return cloud
        if frame != "base":
            raise InvalidInputError(f"frame is 'base' or 'camera', got {frame!r}")
        T = observation.T_base_camera
        points = (cloud.points @ T[:3, :3].T.astype(np.float32) + T[:3, 3].astype(np.float32))
        return PointCloud(points, cloud.pixel_mask, cloud.colors, "base")

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> DexSimWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
