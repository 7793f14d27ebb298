"""RViz markers of a parallel-jaw grasp: two fingers, the palm and the approach stem as cubes in
the gripper frame (z = approach, y = closing), so RViz shows where the hand will be."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from realvlg.geometry.grasps import Grasp6D
from realvlg.ros.conversions import make_header

FINGER_LENGTH = 0.05  # m, Franka hand finger (along the approach)
FINGER_THICKNESS = 0.01
PALM_DEPTH = 0.02
STEM_LENGTH = 0.06


def _cube(marker_id: int, grasp: Grasp6D, centre_gripper: np.ndarray, size: tuple[float, float, float],
          colour: ColorRGBA, header, ns: str) -> Marker:
    centre = grasp.position + grasp.matrix @ centre_gripper
    q = grasp.quaternion_xyzw
    return Marker(header=header, ns=ns, id=marker_id, type=Marker.CUBE, action=Marker.ADD,
                  pose=Pose(position=Point(x=float(centre[0]), y=float(centre[1]), z=float(centre[2])),
                            orientation=Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3]))),
                  scale=Vector3(x=size[0], y=size[1], z=size[2]), color=colour)


def gripper_markers(grasp: Grasp6D, stamp=None, ns: str = "grasp", success: bool = True) -> MarkerArray:
    """Markers of ``grasp`` (in its own frame): green when it is to be executed, red when refused."""
    header = make_header(grasp.frame, stamp)
    colour = ColorRGBA(r=0.1, g=0.85, b=0.2, a=0.8) if success else ColorRGBA(r=0.9, g=0.1, b=0.1, a=0.8)
    half = grasp.width / 2 + FINGER_THICKNESS / 2
    finger = (FINGER_THICKNESS, FINGER_THICKNESS, FINGER_LENGTH)
    palm_z = -FINGER_LENGTH - PALM_DEPTH / 2
    parts = [
        ((0.0, -half, -FINGER_LENGTH / 2), finger),
        ((0.0, half, -FINGER_LENGTH / 2), finger),
        ((0.0, 0.0, palm_z), (FINGER_THICKNESS, 2 * half + FINGER_THICKNESS, PALM_DEPTH)),
        ((0.0, 0.0, palm_z - PALM_DEPTH / 2 - STEM_LENGTH / 2), (FINGER_THICKNESS, FINGER_THICKNESS, STEM_LENGTH)),
    ]
    return MarkerArray(markers=[Marker(header=header, ns=ns, action=Marker.DELETEALL)] + [
        _cube(i, grasp, np.array(c), s, colour, header, ns) for i, (c, s) in enumerate(parts)])
