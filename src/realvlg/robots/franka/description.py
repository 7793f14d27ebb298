"""The robot description (URDF) of the FR3 + Franka hand, for robot_state_publisher-style TF and RViz.

Built from the same public parameters as :mod:`realvlg.robots.franka.kinematics` (Franka's Craig DH
table :data:`~realvlg.robots.franka.kinematics.FR3_DH`, the flange and hand offsets of
:mod:`realvlg.frames`), with franka_description's names, so its frames are the ones a
franka_description-based stack publishes:

* links ``fr3_link0`` … ``fr3_link8``, ``fr3_hand``, ``fr3_hand_tcp``, ``fr3_leftfinger``,
  ``fr3_rightfinger``;
* revolute ``fr3_joint1`` … ``fr3_joint7`` (axis z; a Craig DH row (a, d, α) is the joint origin
  ``xyz = (a, −d·sin α, d·cos α)``, ``rpy = (α, 0, 0)``, since RotX(α)·TransX(a)·RotZ(q)·TransZ(d)
  = RotX(α)·TransX(a)·TransZ(d)·RotZ(q)), the FR3's limits;
* fixed ``fr3_joint8`` (flange, :data:`~realvlg.frames.FR3_LINK8_OFFSET` along z),
  ``fr3_hand_joint`` (turned :data:`~realvlg.frames.FR3_HAND_YAW` about z) and
  ``fr3_hand_tcp_joint`` (:data:`~realvlg.frames.FR3_HAND_TCP_OFFSET` along z);
* prismatic ``fr3_finger_joint1`` (left finger, +y of the hand, 0 – half the stroke) and
  ``fr3_finger_joint2`` (right finger, −y) mimicking it: each finger's position is half the gripper
  width (:func:`joint_state`);
* simple geometry: a cylinder around each joint axis, boxes for the hand and fingers (no meshes, so the
  description needs no package paths).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.frames import (
    FR3_ARM_JOINTS,
    FR3_BASE_FRAME,
    FR3_FINGER_JOINTS,
    FR3_FLANGE_FRAME,
    FR3_HAND_FRAME,
    FR3_HAND_TCP_OFFSET,
    FR3_HAND_YAW,
    FR3_LINK8_OFFSET,
    FR3_TCP_FRAME,
    FRANKA_HAND_STROKE,
)
from realvlg.robots.franka.kinematics import FR3_DH, FR3_Q_MAX, FR3_Q_MIN

JOINT_NAMES = (*FR3_ARM_JOINTS, *FR3_FINGER_JOINTS)
"""The joints of ``/joint_states``: the seven arm joints, then both fingers."""
FINGER_ORIGIN_Z = 0.0584      # fr3_hand → finger joints along the hand z (franka_description)
FR3_VELOCITY = (2.62, 2.62, 2.62, 2.62, 5.26, 4.18, 5.26)   # rad/s, the FR3's joint speed limits
FR3_EFFORT = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)     # N·m
FINGER_VELOCITY, FINGER_EFFORT = 0.2, 100.0                # m/s, N
LINK_RADIUS, JOINT_HOUSING = 0.06, 0.12   # m: each arm link drawn as a cylinder around its joint axis


def _fmt(values) -> str:
    return " ".join(repr(float(v)) for v in values)


def _joint(robot: ET.Element, name: str, kind: str, parent: str, child: str, xyz=(0, 0, 0), rpy=(0, 0, 0),
           axis=None, limit: dict | None = None, mimic: str | None = None) -> None:
    joint = ET.SubElement(robot, "joint", name=name, type=kind)
    ET.SubElement(joint, "parent", link=parent)
    ET.SubElement(joint, "child", link=child)
    ET.SubElement(joint, "origin", xyz=_fmt(xyz), rpy=_fmt(rpy))
    if axis is not None:
        ET.SubElement(joint, "axis", xyz=_fmt(axis))
    if limit is not None:
        ET.SubElement(joint, "limit", **{k: f"{v:.9g}" for k, v in limit.items()})
    if mimic is not None:
        ET.SubElement(joint, "mimic", joint=mimic, multiplier="1", offset="0")


def _link(robot: ET.Element, name: str, shape: str = "", xyz=(0, 0, 0), rpy=(0, 0, 0), **attrs) -> None:
    link = ET.SubElement(robot, "link", name=name)
    if shape:
        visual = ET.SubElement(link, "visual")
        ET.SubElement(visual, "origin", xyz=_fmt(xyz), rpy=_fmt(rpy))
        ET.SubElement(ET.SubElement(visual, "geometry"), shape, **attrs)
        ET.SubElement(visual, "material", name="fr3_white")


def robot_description() -> str:
    """The URDF of the FR3 + Franka hand (module docstring)."""
    robot = ET.Element("robot", name="fr3")
    material = ET.SubElement(robot, "material", name="fr3_white")
    ET.SubElement(material, "color", rgba="0.9 0.9 0.9 1")
    links = [FR3_BASE_FRAME, *(f"fr3_link{i}" for i in range(1, 8)), FR3_FLANGE_FRAME]
    for i, (a, d, alpha) in enumerate(FR3_DH):
        xyz = (a, -d * math.sin(alpha), d * math.cos(alpha))
        _link(robot, links[i], "cylinder", radius=f"{LINK_RADIUS:g}", length=f"{JOINT_HOUSING:g}")
        _joint(robot, FR3_ARM_JOINTS[i], "revolute", links[i], links[i + 1], xyz, (alpha, 0.0, 0.0), (0, 0, 1),
               {"lower": FR3_Q_MIN[i], "upper": FR3_Q_MAX[i], "velocity": FR3_VELOCITY[i], "effort": FR3_EFFORT[i]})
    _link(robot, links[7], "cylinder", radius=f"{LINK_RADIUS:g}", length=f"{JOINT_HOUSING:g}")
    _joint(robot, "fr3_joint8", "fixed", links[7], links[8], (0, 0, FR3_LINK8_OFFSET))
    _link(robot, links[8])
    _joint(robot, "fr3_hand_joint", "fixed", links[8], FR3_HAND_FRAME, rpy=(0, 0, FR3_HAND_YAW))
    _link(robot, FR3_HAND_FRAME, "box", xyz=(0, 0, 0.03), size="0.05 0.2 0.06")
    _joint(robot, "fr3_hand_tcp_joint", "fixed", FR3_HAND_FRAME, FR3_TCP_FRAME, (0, 0, FR3_HAND_TCP_OFFSET))
    _link(robot, FR3_TCP_FRAME)
    finger_limit = {"lower": 0.0, "upper": FRANKA_HAND_STROKE / 2, "velocity": FINGER_VELOCITY, "effort": FINGER_EFFORT}
    for joint, side, sign in ((FR3_FINGER_JOINTS[0], "left", 1.0), (FR3_FINGER_JOINTS[1], "right", -1.0)):
        finger = f"fr3_{side}finger"
        _joint(robot, joint, "prismatic", FR3_HAND_FRAME, finger, (0, 0, FINGER_ORIGIN_Z), axis=(0, sign, 0),
               limit=finger_limit, mimic=None if joint == FR3_FINGER_JOINTS[0] else FR3_FINGER_JOINTS[0])
        _link(robot, finger, "box", xyz=(0, sign * 0.01, 0.027), size="0.02 0.02 0.054")
    return ET.tostring(robot, encoding="unicode")


def joint_state(arm_q, gripper_width: float) -> dict[str, float]:
    """``/joint_states`` positions: the arm's seven angles [rad] and each finger at half the gripper
    width [m]."""
    arm_q = np.asarray(arm_q, dtype=float)
    if arm_q.shape != (7,):
        raise InvalidInputError(f"the FR3 has 7 joints, got {arm_q.shape}")
    half = float(gripper_width) / 2
    return {**dict(zip(FR3_ARM_JOINTS, arm_q.tolist())), FR3_FINGER_JOINTS[0]: half, FR3_FINGER_JOINTS[1]: half}
