"""The UR10e + Shadow Hand as a MuJoCo model: the arm built from its DH table, gymnasium-robotics'
Shadow Hand on the flange, the wrist camera — what the simulated world
(:mod:`realvlg.sim.ur10e_shadow_world`), the URDF (:mod:`.description`) and the executor's table
checks (:class:`TableCollision`) are built from, so all three share one geometry.

Frames (metres, radians, REP-103):

* **base** = the model's world = the UR10e's DH base (:data:`realvlg.frames.UR_BASE_FRAME`, z up).
* **arm**: bodies ``shoulder_link … wrist_3_link`` and ``tool0`` are placed from
  :data:`~realvlg.robots.ur10e_shadow.kinematics.UR10E_DH` (body *i* = DH frame *i−1* turned by
  ``q_i`` about its z; ``tool0`` = DH frame 6), so MuJoCo's ``tool0`` equals
  :func:`~realvlg.robots.ur10e_shadow.kinematics.forward_kinematics` exactly. Joints
  ``shoulder_pan_joint … wrist_3_joint`` (Universal Robots' names), link capsules/cylinders of the
  real arm's size, the data sheet's link masses, gravity compensated (as UR's controller does) and
  driven by position servos (``kp``/``kv`` per joint, torque limits 330/330/150/56/56/56 N·m).
* **hand**: the Shadow Hand of gymnasium-robotics (``robot0:`` names, its collision capsules,
  meshes, tendon couplings and 20 position actuators) without the forearm and with the two wrist
  joints locked at 0: ``robot0:wrist`` sits on a 3 cm adapter plate on the flange, so
  :data:`~realvlg.frames.TOOL0_T_PALM` (tool0←``robot0:palm``) is a pure translation of 0.064 m
  along the flange z. The fingers point along tool0 +z, the palm faces tool0 −y (the hand's
  *approach* direction) and the thumb sits on +x.
* **camera** = the optical frame of a D415-like wrist camera under the flange, on the palm side:
  optical centre at :data:`CAMERA_MOUNT` in tool0, looking along the approach (optical z = tool0
  −y), image up = the fingers' direction (optical y = tool0 −z), image right = tool0 −x
  (:data:`T_FLANGE_CAMERA`).

Collisions: arm, hand and camera geoms collide with the table and objects, not with each other
(the hand keeps its MJCF's finger–thumb pairs).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import mujoco
import numpy as np

from realvlg.robots.ur10e_shadow.kinematics import UR10E_DH, UR10E_Q_MAX, UR10E_Q_MIN
from realvlg.shadow_hand import MJCF_PREFIX, PADS, SHADOW_JOINTS, hand_mjcf

ARM_JOINTS = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
              "wrist_1_joint", "wrist_2_joint", "wrist_3_joint")
ARM_LINKS = ("shoulder_link", "upper_arm_link", "forearm_link", "wrist_1_link", "wrist_2_link", "wrist_3_link")
PALM_BODY = MJCF_PREFIX + "palm"
CAMERA_NAME = "wrist_camera"

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


def robot_mjcf(camera_fovy_deg: float, image_size: tuple[int, int] = (640, 480),
               timestep: float = 0.002) -> tuple[ET.Element, ET.Element]:
    """The UR10e + Shadow Hand + wrist camera MJCF (no table, no objects): ``(mujoco root,
    worldbody)``. ``camera_fovy_deg``: the wrist camera's vertical field of view; ``image_size``
    (width, height) sizes the offscreen buffer."""
    root = ET.Element("mujoco", model="ur10e_shadow")
    ET.SubElement(root, "compiler", angle="radian", autolimits="true")
    ET.SubElement(root, "option", timestep=f"{timestep}", integrator="implicitfast", cone="elliptic",
                  impratio="10")
    visual = ET.SubElement(root, "visual")
    ET.SubElement(visual, "global", offwidth=str(max(image_size[0], 640)), offheight=str(max(image_size[1], 480)))
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
                  fovy=f"{camera_fovy_deg:.6f}")
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


TABLE_GEOM = "table"


def add_table(worldbody: ET.Element, table_top: float, table_extent: tuple[float, float, float, float]) -> None:
    """The table top: a 4 cm box whose upper face is the plane z = ``table_top`` over
    ``table_extent`` (x_min, x_max, y_min, y_max) of the base frame."""
    x0, x1, y0, y1 = table_extent
    ET.SubElement(worldbody, "geom", name=TABLE_GEOM, type="box", pos=_fmt(((x0 + x1) / 2, (y0 + y1) / 2, table_top - 0.02)),
                  size=_fmt(((x1 - x0) / 2, (y1 - y0) / 2, 0.02)), rgba="0.72 0.58 0.42 1", friction="0.8 0.01 0.0001")


class RobotModel:
    """A compiled model with the robot's joint, body and geom indices (arm joints, the 22 finger
    joints, palm, tool0, wrist camera, table) — the index every user of the MJCF needs once."""

    def __init__(self, model: mujoco.MjModel):
        m = self.model = model
        ids = lambda kind, names: np.array([mujoco.mj_name2id(m, kind, n) for n in names])  # noqa: E731
        arm_joints = ids(mujoco.mjtObj.mjOBJ_JOINT, ARM_JOINTS)
        self.arm_qpos = m.jnt_qposadr[arm_joints]
        self.arm_dof = m.jnt_dofadr[arm_joints]
        hand_joints = ids(mujoco.mjtObj.mjOBJ_JOINT, [MJCF_PREFIX + j for j in SHADOW_JOINTS])
        self.hand_qpos = m.jnt_qposadr[hand_joints]
        self.hand_dof = m.jnt_dofadr[hand_joints]
        self.palm = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, PALM_BODY)
        self.tool0 = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "tool0")
        self.camera = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, CAMERA_NAME)
        self.table = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, TABLE_GEOM)
        robot_bodies = {mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in ("base_link", *ARM_LINKS, "tool0")}
        robot_bodies |= {i for i in range(m.nbody) if m.body(i).name.startswith(MJCF_PREFIX)}
        self.robot_geom = np.isin(m.geom_bodyid, sorted(robot_bodies))
        self.hand_geom = np.array([m.body(b).name.startswith(MJCF_PREFIX) for b in m.geom_bodyid])

    def robot_table_contact(self, data: mujoco.MjData, depth: float = 1e-3) -> bool:
        """Whether a robot geom (arm, hand, camera) penetrates the table by more than ``depth``."""
        c = data.contact[: data.ncon]
        robot_table = ((c.geom1 == self.table) & self.robot_geom[c.geom2]) | (
            (c.geom2 == self.table) & self.robot_geom[c.geom1])
        return bool(np.any(robot_table & (c.dist < -depth)))


class TableCollision(RobotModel):
    """Kinematic what-if checks of the robot against the table (no physics, nothing moves): the
    robot MJCF plus the table of :func:`add_table`. The simulated world is built from the same
    pieces, so a check here and a contact there agree. Also the hand's :meth:`thumb_aperture`."""

    def __init__(self, table_top: float = 0.0, table_extent: tuple[float, float, float, float] = (0.3, 1.3, -0.7, 0.7)):
        root, worldbody = robot_mjcf(60.0)
        add_table(worldbody, table_top, table_extent)
        super().__init__(mujoco.MjModel.from_xml_string(ET.tostring(root, encoding="unicode")))
        self.data = mujoco.MjData(self.model)
        body_id = lambda name: mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, MJCF_PREFIX + name)  # noqa: E731
        self._pads = {finger: (body_id(body), np.array(local)) for finger, (body, local) in PADS.items()}

    def thumb_aperture(self, hand_q) -> float:
        """Distance [m] from the thumb pad to the midpoint of the index and middle pads with the
        fingers at ``hand_q`` (22,) (:data:`~realvlg.shadow_hand.PADS`)."""
        self.data.qpos[self.hand_qpos] = hand_q
        mujoco.mj_kinematics(self.model, self.data)
        pad = {f: self.data.xmat[b].reshape(3, 3) @ local + self.data.xpos[b] for f, (b, local) in self._pads.items()}
        return float(np.linalg.norm(pad["thumb"] - (pad["index"] + pad["middle"]) / 2))

    def collides(self, arm_q, hand_q, depth: float = 1e-3) -> bool:
        """Whether the robot at ``arm_q`` (6,) with fingers ``hand_q`` (22,) penetrates the table."""
        self.data.qpos[self.arm_qpos] = arm_q
        self.data.qpos[self.hand_qpos] = hand_q
        mujoco.mj_fwdPosition(self.model, self.data)
        return self.robot_table_contact(self.data, depth)

    def path_collides(self, q0, q1, fingers0, fingers1, step: float) -> bool:
        """Whether the straight joint-space move q0 → q1 (fingers interpolated alongside) touches
        the table: checked every ``step`` rad of the largest joint change, end included."""
        q0, q1 = np.asarray(q0, dtype=float), np.asarray(q1, dtype=float)
        f0, f1 = np.asarray(fingers0, dtype=float), np.asarray(fingers1, dtype=float)
        n = max(1, int(np.ceil(np.abs(q1 - q0).max() / step)))
        return any(self.collides(q0 + s * (q1 - q0), f0 + s * (f1 - f0)) for s in np.linspace(0, 1, n + 1)[1:])
