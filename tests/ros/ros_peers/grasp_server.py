"""Peer: a ``realvlg_interfaces/srv/Grasp`` server that computes its answer with realvlg's geometry.

Usage: grasp_server.py CALIBRATION.yaml ROBOT_POSE MAX_WIDTH [--ros-args ...], ROBOT_POSE = "x,y,z,qx,qy,qz,qw" of
fr3_link0←fr3_hand_tcp at capture time. A request's instruction reads
``contact X1,Y1,X2,Y2 at DEPTH`` (pixels on the D435i image, depth in metres): the server
back-projects both contacts, builds the Grasp6D (approach = viewing axis, closing = contact to
contact, width = their distance) in the camera optical frame, moves it to the base frame through
the eye-in-hand calibration and answers with the PoseStamped, the width, the 2D prediction as a
Grounding and stage timings. Any realvlg error becomes success=false with its message.
"""

import re
import sys
import time

import numpy as np
import rclpy
from common import CAMERA_FRAME, D435I, spin_until_shutdown
from rclpy.utilities import remove_ros_args

from realvlg.errors import GraspRefusedError, InvalidInputError, RealVLGError
from realvlg.geometry.camera_mount import to_optical
from realvlg.geometry.grasps import ContactPair, Grasp6D
from realvlg.geometry.transforms import Transform, base_from_camera, load_transform
from realvlg.grounding.backend import Grounding
from realvlg.ros.conversions import grasp_to_pose_stamped, grounding_to_msg
from realvlg_interfaces.msg import StageTiming
from realvlg_interfaces.srv import Grasp

INSTRUCTION = re.compile(r"contact\s+([-\d.e]+),([-\d.e]+),([-\d.e]+),([-\d.e]+)\s+at\s+([-\d.e]+)$")


def main() -> None:
    argv = remove_ros_args(sys.argv)
    calibration = to_optical(load_transform(argv[1]))   # tcp←camera_link · the nominal camera chain
    pose = [float(v) for v in argv[2].split(",")]
    base_from_tcp = Transform.from_translation_quaternion(pose[:3], pose[3:], "fr3_link0", calibration.parent)
    max_width = float(argv[3])

    def plan(request: Grasp.Request, response: Grasp.Response) -> None:
        t0 = time.perf_counter()
        if request.strategy not in ("", "auto", "contact"):
            raise InvalidInputError(f"strategy {request.strategy!r} is not served here (only contact)")
        match = INSTRUCTION.match(request.instruction.strip())
        if match is None:
            raise InvalidInputError(f"cannot read instruction {request.instruction!r}: "
                                    "expected 'contact X1,Y1,X2,Y2 at DEPTH'")
        *xy, depth = (float(v) for v in match.groups())
        pair = ContactPair(*xy)
        if not D435I.contains(pair.points[:, 0], pair.points[:, 1]).all():
            raise InvalidInputError(f"contacts {pair.points.tolist()} lie outside the "
                                    f"{D435I.width}x{D435I.height} image")
        if not depth > 0:
            raise InvalidInputError(f"depth must be positive, got {depth}")
        uv = pair.points
        points = np.column_stack([(uv[:, 0] - D435I.cx) / D435I.fx, (uv[:, 1] - D435I.cy) / D435I.fy,
                                  np.ones(2)]) * depth
        grasp = Grasp6D.from_axes(points.mean(axis=0), [0.0, 0.0, 1.0], points[1] - points[0],
                                  float(np.linalg.norm(points[1] - points[0])), frame=CAMERA_FRAME)
        if grasp.width > max_width:
            raise GraspRefusedError(f"grasp width {grasp.width:.3f} m exceeds the gripper's {max_width:.3f} m")
        t1 = time.perf_counter()
        in_base = base_from_camera(calibration, "fr3_link0", base_from_tcp).apply_to_grasp(grasp)
        t2 = time.perf_counter()
        response.pose = grasp_to_pose_stamped(in_base, stamp=time.time())
        response.width = in_base.width
        response.grounding = grounding_to_msg(Grounding(task="contact", contact=pair, backend="test_peer"),
                                              CAMERA_FRAME)
        response.strategy_used = "contact"
        response.timings = [StageTiming(stage="lift", seconds=t1 - t0), StageTiming(stage="transform", seconds=t2 - t1)]
        response.success = True

    def serve(request: Grasp.Request, response: Grasp.Response) -> Grasp.Response:
        try:
            plan(request, response)
        except RealVLGError as exc:
            response.success, response.message = False, str(exc)
        return response

    rclpy.init(args=sys.argv)
    node = rclpy.create_node("test_grasp_server")
    node.create_service(Grasp, "grasp", serve)
    print("READY", flush=True)
    spin_until_shutdown(node)


if __name__ == "__main__":
    main()
