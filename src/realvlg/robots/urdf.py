"""Forward kinematics straight from a URDF string, ROS-free: what robot_state_publisher computes.

:class:`UrdfKinematics` parses a URDF's joints (``revolute``, ``continuous``, ``prismatic``,
``fixed``; ``mimic``: position = multiplier · leader + offset) and gives, for named joint
positions [rad, m], every joint's parent_link←child_link transform — the edges robot_state_publisher
puts on ``/tf`` (moving joints) and ``/tf_static`` (fixed joints) — and any link's pose in the root
link. A joint's transform is ``origin · motion(q)``: the origin's ``xyz`` then fixed-axis ``rpy``
(URDF: roll about x, pitch about y, yaw about z, scipy ``"xyz"``), then a turn by q about, or a
shift by q along, the unit ``axis`` (default x, as the URDF spec says).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.geometry.transforms import Transform

MOVING = ("revolute", "continuous", "prismatic")


@dataclass(frozen=True)
class UrdfJoint:
    name: str
    type: str
    parent: str
    child: str
    origin: np.ndarray              # 4x4 parent_link←joint frame at q = 0
    axis: np.ndarray                # unit axis in the joint frame
    mimic: tuple[str, float, float] | None = None   # (leader, multiplier, offset)

    def transform(self, q: float = 0.0) -> Transform:
        """parent_link←child_link at joint position ``q`` (ignored for a fixed joint)."""
        motion = np.eye(4)
        if self.type in ("revolute", "continuous"):
            motion[:3, :3] = Rotation.from_rotvec(self.axis * q).as_matrix()
        elif self.type == "prismatic":
            motion[:3, 3] = self.axis * q
        return Transform(self.parent, self.child, self.origin @ motion)


def _numbers(text: str | None, default: tuple[float, ...], what: str) -> np.ndarray:
    if text is None:
        return np.array(default, dtype=float)
    try:
        values = np.array([float(v) for v in text.split()])
    except ValueError:
        raise InvalidInputError(f"URDF {what} {text!r} is not numbers") from None
    if values.shape != (len(default),):
        raise InvalidInputError(f"URDF {what} {text!r} needs {len(default)} numbers")
    return values


def _joint(element: ET.Element) -> UrdfJoint:
    name, kind = element.get("name"), element.get("type")
    if kind not in (*MOVING, "fixed"):
        raise InvalidInputError(f"URDF joint {name!r}: type {kind!r} is not supported")
    parent, child = element.find("parent"), element.find("child")
    if parent is None or child is None:
        raise InvalidInputError(f"URDF joint {name!r} needs <parent link> and <child link>")
    origin = element.find("origin")
    matrix = np.eye(4)
    matrix[:3, 3] = _numbers(origin.get("xyz") if origin is not None else None, (0.0, 0.0, 0.0), f"{name} origin xyz")
    rpy = _numbers(origin.get("rpy") if origin is not None else None, (0.0, 0.0, 0.0), f"{name} origin rpy")
    matrix[:3, :3] = Rotation.from_euler("xyz", rpy).as_matrix()
    axis_el = element.find("axis")
    axis = _numbers(axis_el.get("xyz") if axis_el is not None else None, (1.0, 0.0, 0.0), f"{name} axis")
    if kind in MOVING:
        norm = np.linalg.norm(axis)
        if norm < 1e-9:
            raise InvalidInputError(f"URDF joint {name!r} has a zero axis")
        axis = axis / norm
    mimic_el = element.find("mimic")
    mimic = None
    if mimic_el is not None:
        mimic = (mimic_el.get("joint"), float(mimic_el.get("multiplier", 1.0)), float(mimic_el.get("offset", 0.0)))
    return UrdfJoint(name, kind, parent.get("link"), child.get("link"), matrix, axis, mimic)


class UrdfKinematics:
    """The joints of one URDF (module docstring)."""

    def __init__(self, urdf: str):
        try:
            robot = ET.fromstring(urdf)
        except ET.ParseError as exc:
            raise InvalidInputError(f"not a URDF: {exc}") from None
        self.name = robot.get("name", "")
        self.joints = [_joint(j) for j in robot.findall("joint")]
        children = [j.child for j in self.joints]
        if len(set(children)) != len(children):
            raise InvalidInputError("URDF: a link is the child of two joints")
        roots = {j.parent for j in self.joints} - set(children)
        if len(roots) != 1:
            raise InvalidInputError(f"URDF: expected one root link, found {sorted(roots)}")
        self.root = roots.pop()
        self._by_child = {j.child: j for j in self.joints}

    @property
    def moving_joints(self) -> list[str]:
        """Joints a ``JointState`` sets (mimic joints follow their leader)."""
        return [j.name for j in self.joints if j.type in MOVING and j.mimic is None]

    def _position(self, joint: UrdfJoint, positions: Mapping[str, float]) -> float | None:
        """The joint's position from ``positions`` (a mimic joint's from its leader); None if absent."""
        if joint.mimic is not None:
            leader, multiplier, offset = joint.mimic
            if leader not in positions:
                return None
            return multiplier * float(positions[leader]) + offset
        return float(positions[joint.name]) if joint.name in positions else None

    def fixed_transforms(self) -> list[Transform]:
        """The fixed joints' transforms (``/tf_static``)."""
        return [j.transform() for j in self.joints if j.type == "fixed"]

    def moving_transforms(self, positions: Mapping[str, float]) -> list[Transform]:
        """The moving joints' transforms at ``positions`` (``/tf``), mimic joints included; as
        robot_state_publisher does, a joint without a position is left out (another driver may
        publish it, e.g. a hand's own)."""
        moving = [(j, self._position(j, positions)) for j in self.joints if j.type in MOVING]
        return [j.transform(q) for j, q in moving if q is not None]

    def link_pose(self, link: str, positions: Mapping[str, float]) -> Transform:
        """root←link at ``positions``."""
        if link != self.root and link not in self._by_child:
            raise InvalidInputError(f"URDF has no link {link!r}")
        pose = Transform.identity(link, link)
        while pose.parent != self.root:
            joint = self._by_child[pose.parent]
            q = self._position(joint, positions) if joint.type in MOVING else 0.0
            if q is None:
                raise InvalidInputError(f"no position for joint {joint.name!r}")
            pose = joint.transform(q) @ pose
        return pose
