"""grasp_node: the ``/grasp`` service and action — a ROS adapter over
:class:`realvlg.grasping.attempt.GraspAttempt` for the parallel gripper (planner
:class:`~realvlg.grasping.planner.LiftPlanner`; executor: the executor node's ``ExecuteGrasp``).

Frames come from the camera topics (realsense-ros names and encodings, under ``camera.namespace``:
realvlg's camera nodes or a running realsense2_camera; :mod:`realvlg.ros.camera_input`) with the
robot pose at their timestamp (``/realvlg/ee_pose``); the camera pose is base←tcp(t) · the hand-eye mount
(``calibration``: tcp←``camera_link``, :mod:`realvlg.geometry.camera_mount`; older files to the
optical frame are converted on load) · ``camera_link``←image frame, read from the camera driver's
``/tf_static``. The answer from a ``Ground`` service (the grounding node
or the simulation oracle). Results carry a ``code`` (:class:`~realvlg.grasping.attempt.ResultCode`);
a request arriving while one runs is answered at once with ``busy``.

Parameters (``config/grasp_node.yaml``; ``config/camera_external.yaml`` for ``camera:=external``):
``camera.namespace``, ``base_frame``, ``tcp_frame``, ``calibration``,
``limits`` (the file the executor reads too), ``execute_timeout``, ``grounding.service`` /
``timeout`` / ``tasks``; :class:`~realvlg.grasping.capture.CaptureConfig`,
:class:`~realvlg.grasping.attempt.AttemptConfig`, ``lift.*`` (:class:`~realvlg.geometry.lift.LiftConfig`),
``samples``, ``min_agreement``, ``record.context_window`` (s of ``/tf``, ``/joint_states`` before a
capture that go into its bag, with all of ``/tf_static``). Publishes for RViz: the grasp pose,
gripper markers, the detection overlay, the object cloud and ``/tf_static`` for the camera mount
(tcp → ``camera_link`` only: the camera's own frames are its driver's).
"""

from __future__ import annotations

import dataclasses

from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from realvlg.cameras.topics import CAMERA_NAMESPACE, camera_topics
from realvlg.geometry.camera_mount import load_camera_mount
from realvlg.graph import repo_path, run_path
from realvlg.grasping.attempt import AttemptConfig, GraspAttempt
from realvlg.grasping.capture import CaptureConfig, FrameCapture
from realvlg.grasping.planner import LiftPlanner, LiftPlannerConfig
from realvlg.grounding.backend import TASKS
from realvlg.robots.limits import load_limits
from realvlg.ros import names
from realvlg.ros.attempt_io import REQUEST_QOS, AttemptPublisher, buffer_context, fill_result, run_goal, run_request
from realvlg.ros.camera_input import CameraInput
from realvlg.ros.conversions import grasp_from_pose_stamped, stamp_from_msg
from realvlg.ros.executor_client import ExecutorClient
from realvlg.ros.ground_client import ServiceGroundingBackend
from realvlg.ros.params import declare_config
from realvlg.ros.spin import answer_always, run_node
from realvlg.ros.tf import StaticTransformListener, publish_static
from realvlg_interfaces.action import Grasp as GraspAction
from realvlg_interfaces.srv import Grasp as GraspSrv


class GraspNode(Node):
    def __init__(self) -> None:
        super().__init__("grasp_node")
        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        base_frame, tcp_frame = p("base_frame", names.FR3_BASE_FRAME), p("tcp_frame", names.FR3_TCP_FRAME)
        calibration = load_camera_mount(repo_path(p("calibration", "calibration/fr3_d435i_eye_in_hand.yaml")))
        limits = load_limits(repo_path(p("limits", "config/limits_fr3.yaml")))
        defaults = LiftPlannerConfig()
        lift = declare_config(self, dataclasses.replace(defaults.lift, max_width=limits.max_width), "lift.",
                              skip=("frame",))
        planner_config = dataclasses.replace(
            declare_config(self, defaults, skip=("lift", "coarse", "auto_order")), lift=lift,
            coarse=dataclasses.replace(defaults.coarse, limits=limits))
        attempt_config = declare_config(self, AttemptConfig())
        attempt_config = dataclasses.replace(attempt_config, run_root=str(run_path(attempt_config.run_root)))

        self._sensors, self._requests, self._calls = (ReentrantCallbackGroup() for _ in range(3))
        self._mount = publish_static(self, [calibration])
        camera_frames = StaticTransformListener(self, callback_group=self._sensors).tree
        camera_namespace = p("camera.namespace", CAMERA_NAMESPACE)
        self.frames = FrameCapture(calibration, base_frame, tcp_frame, declare_config(self, CaptureConfig()),
                                   camera_frames, topics=camera_topics(camera_namespace))
        self.camera = CameraInput(self, self.frames, camera_namespace, self._sensors)
        self.create_subscription(PoseStamped, names.EE_POSE_TOPIC, self._on_pose, 50, callback_group=self._sensors)

        backend = ServiceGroundingBackend(self, p("grounding.service", names.SIM_GROUND_SERVICE),
                                          timeout=p("grounding.timeout", 60.0),
                                          tasks=tuple(p("grounding.tasks", list(TASKS))), callback_group=self._calls)
        executor = ExecutorClient(self, names.EXECUTE_GRASP_SERVICE, p("execute_timeout", 120.0), self._calls)
        self.io = AttemptPublisher(self, buffer_context(self, self._sensors), p("record.context_window", 1.0))
        self.attempt = GraspAttempt(lambda: self.camera.capture(self.get_clock().now().nanoseconds * 1e-9),
                                    LiftPlanner(backend, planner_config), executor, attempt_config,
                                    on_plan=self.io.publish_plan, recorders=[self.io.record])

        self.create_service(GraspSrv, names.GRASP_SERVICE, answer_always(self, self._on_service),
                            qos_profile=REQUEST_QOS, callback_group=self._requests)
        self._action = run_goal(self, GraspAction, names.GRASP_ACTION, self.attempt, self._requests)
        self.get_logger().info(f"ready: {names.GRASP_SERVICE} (grounding via {backend.service_name})")

    def _on_pose(self, msg: PoseStamped) -> None:
        self.frames.poses.add(stamp_from_msg(msg.header.stamp), grasp_from_pose_stamped(msg, 0.0).homogeneous())

    def _on_service(self, request, response):
        out = run_request(self.attempt, request)
        self.get_logger().info(f"/grasp {request.instruction!r}: {out.code.name} — {out.message}")
        return fill_result(response, out, self.get_clock().now().to_msg())


def main(args=None) -> None:
    run_node(GraspNode, "grasp_node", threads=4, args=args)


if __name__ == "__main__":
    main()
