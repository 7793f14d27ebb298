"""The robot description (URDF) of the UR10e + Shadow Hand, for RViz and robot_state_publisher.

Generated from the robot's MJCF (:func:`realvlg.robots.ur10e_shadow.model.robot_mjcf`, which the
simulation is built from too: the arm from
:data:`~realvlg.robots.ur10e_shadow.kinematics.UR10E_DH`, the hand from gymnasium-robotics' MJCF, the flange→palm
adapter and the wrist camera mount), compiled by MuJoCo, so the URDF's kinematics are MuJoCo's:

* one link per MuJoCo body, same names (``base_link``, ``shoulder_link`` … ``tool0``,
  ``robot0:wrist``, ``robot0:palm``, ``robot0:ffknuckle`` …), plus ``wrist_camera_optical_frame``
  (REP-103 optical frame of the wrist camera) fixed to ``tool0``;
* a revolute joint per MuJoCo hinge with the same name (``shoulder_pan_joint`` … ``wrist_3_joint``,
  ``robot0:FFJ3`` … ``robot0:THJ0``: publish ``sensor_msgs/JointState`` with these names, see
  :data:`JOINT_NAMES`), its axis and limits; fixed joints where a body has no joint (the wrist
  joints of the hand are locked in the simulation);
* simple visuals: the MJCF's primitive geoms (capsules as a cylinder and two spheres), no meshes, so
  the description needs no package paths.

``robot_description()`` returns the XML string (the ``robot_description`` parameter);
``write_robot_description(path)`` writes it to a file.
"""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.robots.ur10e_shadow.model import ARM_JOINTS, ARM_TORQUE, T_FLANGE_CAMERA, robot_mjcf
from realvlg.shadow_hand import MJCF_PREFIX, SHADOW_JOINTS

JOINT_NAMES = (*ARM_JOINTS, *(MJCF_PREFIX + j for j in SHADOW_JOINTS))
"""The 28 movable joints of the description (arm, then the hand in SHADOW_JOINTS order)."""
CAMERA_FRAME = "wrist_camera_optical_frame"
ARM_VELOCITY = (2.094, 2.094, 3.142, 3.142, 3.142, 3.142)  # UR10e joint speed limits [rad/s]
HAND_VELOCITY = 2.0  # rad/s
HAND_EFFORT = 1.0  # N·m


def _origin(parent: ET.Element, pos, rotation: Rotation) -> None:
    ET.SubElement(parent, "origin", xyz=" ".join(f"{v:.9g}" for v in pos),
                  rpy=" ".join(f"{v:.9g}" for v in rotation.as_euler("xyz")))


def _wxyz(q) -> Rotation:
    return Rotation.from_quat([q[1], q[2], q[3], q[0]])


def _add_visuals(link: ET.Element, model: mujoco.MjModel, body: int) -> None:
    for g in np.flatnonzero(model.geom_bodyid == body):
        kind, size = model.geom_type[g], model.geom_size[g]
        pos, rot = model.geom_pos[g], _wxyz(model.geom_quat[g])
        shapes = []
        if kind == mujoco.mjtGeom.mjGEOM_BOX:
            shapes.append((pos, ("box", {"size": " ".join(f"{2 * s:.6g}" for s in size)})))
        elif kind == mujoco.mjtGeom.mjGEOM_SPHERE:
            shapes.append((pos, ("sphere", {"radius": f"{size[0]:.6g}"})))
        elif kind in (mujoco.mjtGeom.mjGEOM_CYLINDER, mujoco.mjtGeom.mjGEOM_CAPSULE):
            shapes.append((pos, ("cylinder", {"radius": f"{size[0]:.6g}", "length": f"{2 * size[1]:.6g}"})))
            if kind == mujoco.mjtGeom.mjGEOM_CAPSULE:
                axis = rot.apply([0.0, 0.0, size[1]])
                shapes += [(pos + s * axis, ("sphere", {"radius": f"{size[0]:.6g}"})) for s in (-1, 1)]
        for p, (shape, attrs) in shapes:
            visual = ET.SubElement(link, "visual")
            _origin(visual, p, rot)
            ET.SubElement(ET.SubElement(visual, "geometry"), shape, **attrs)
            ET.SubElement(visual, "material", name=f"rgba_{'_'.join(f'{c:.2f}' for c in model.geom_rgba[g])}")


def robot_description() -> str:
    """The URDF of the UR10e + Shadow Hand (module docstring)."""
    root_xml, _ = robot_mjcf(camera_fovy_deg=60.0)  # the camera's field of view is no URDF matter
    model = mujoco.MjModel.from_xml_string(ET.tostring(root_xml, encoding="unicode"))
    robot = ET.Element("robot", name="ur10e_shadow")
    materials = set()
    for g in range(model.ngeom):
        materials.add(tuple(np.round(model.geom_rgba[g], 2)))
    for rgba in sorted(materials):
        m = ET.SubElement(robot, "material", name=f"rgba_{'_'.join(f'{c:.2f}' for c in rgba)}")
        ET.SubElement(m, "color", rgba=" ".join(f"{c:.2f}" for c in rgba))
    for b in range(1, model.nbody):
        name = model.body(b).name
        link = ET.SubElement(robot, "link", name=name)
        _add_visuals(link, model, b)
        parent = model.body_parentid[b]
        if parent == 0:
            continue  # base_link: the root
        joints = [j for j in range(model.njnt) if model.jnt_bodyid[j] == b]
        if len(joints) > 1 or (joints and np.any(model.jnt_pos[joints[0]] != 0)):
            raise ValueError(f"body {name}: a URDF joint needs one hinge at the body origin")
        if joints:
            j = joints[0]
            joint = ET.SubElement(robot, "joint", name=model.joint(j).name, type="revolute")
        else:
            joint = ET.SubElement(robot, "joint", name=f"{model.body(parent).name}-{name}", type="fixed")
        ET.SubElement(joint, "parent", link=model.body(parent).name)
        ET.SubElement(joint, "child", link=name)
        _origin(joint, model.body_pos[b], _wxyz(model.body_quat[b]))
        if joints:
            ET.SubElement(joint, "axis", xyz=" ".join(f"{v:.9g}" for v in model.jnt_axis[j]))
            lo, hi = model.jnt_range[j]
            jname = model.joint(j).name
            if jname in ARM_JOINTS:
                k = ARM_JOINTS.index(jname)
                effort, velocity = ARM_TORQUE[k], ARM_VELOCITY[k]
            else:
                effort, velocity = HAND_EFFORT, HAND_VELOCITY
            ET.SubElement(joint, "limit", lower=f"{lo:.9g}", upper=f"{hi:.9g}", effort=f"{effort:g}",
                          velocity=f"{velocity:g}")
    ET.SubElement(robot, "link", name=CAMERA_FRAME)
    joint = ET.SubElement(robot, "joint", name=f"tool0-{CAMERA_FRAME}", type="fixed")
    ET.SubElement(joint, "parent", link="tool0")
    ET.SubElement(joint, "child", link=CAMERA_FRAME)
    _origin(joint, T_FLANGE_CAMERA[:3, 3], Rotation.from_matrix(T_FLANGE_CAMERA[:3, :3]))
    ET.indent(robot)
    return '<?xml version="1.0"?>\n' + ET.tostring(robot, encoding="unicode") + "\n"


def write_robot_description(path: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.write_text(robot_description())
    return path
