"""grasp_node: the ``/grasp`` service and action — a thin ROS adapter over :mod:`realvlg.pipeline`.

One request runs: capture (the newest synchronised colour / aligned depth / camera_info set and
the robot pose at its timestamp) → ground (the configured backend) → lift → base frame → the
executor node's ``ExecuteGrasp`` (its checks refuse unsafe grasps before any motion) → record.
A request arriving while one runs is answered at once with "busy". ``dry_run`` plans, publishes
the visualisation and runs the executor's checks without moving.

Parameters (``config/grasp_node.yaml``): ``base_frame``, ``tcp_frame``, ``calibration`` (YAML of
``tcp←camera`` for ``camera_mount: eye_in_hand`` or ``base←camera`` for ``fixed``),
``grounding.backend`` (``service``: a ``Ground`` service such as the VLM server's or the simulation
oracle's), ``grounding.service``, ``grounding.timeout``, ``grounding.tasks``, ``samples``,
``min_agreement``, ``lift.max_width``, ``lift.approach``, ``capture_timeout``, ``max_frame_age``,
``pose_max_gap``, ``execute_timeout``, ``run_root``.

Publishes for RViz: the grasp pose, gripper markers, the detection overlay, the object cloud and
``/tf_static`` for the camera mount.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionServer, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from realvlg.capture import CaptureError, PoseHistory, StreamSynchronizer
from realvlg.errors import RealVLGError
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.lift import LiftConfig
from realvlg.geometry.projection import backproject_cloud
from realvlg.geometry.transforms import base_from_camera, load_transform
from realvlg.graph import repo_path
from realvlg.grounding.backend import TASKS, GroundingResult
from realvlg.overlay import draw_grasp, draw_grounding, save_image
from realvlg.pipeline import (
    STRATEGIES,
    Capture,
    GraspPlanner,
    PlannerConfig,
    PlanningError,
)
from realvlg.ros import names
from realvlg.ros.conversions import (
    camera_info_from_msg,
    grasp_from_pose_stamped,
    grasp_to_pose_stamped,
    grounding_to_msg,
    image_from_msg,
    image_to_msg,
    points_to_pointcloud2,
    stamp_from_msg,
    transform_to_msg,
)
from realvlg.ros.ground_client import ServiceGroundingBackend, call_with_timeout
from realvlg.ros.markers import gripper_markers
from realvlg.ros.spin import run_node
from realvlg.runs import RunFolder
from realvlg_interfaces.action import Grasp as GraspAction
from realvlg_interfaces.msg import StageTiming
from realvlg_interfaces.srv import ExecuteGrasp
from realvlg_interfaces.srv import Grasp as GraspSrv

STAGES = ("capture", "ground", "lift", "transform", "execute", "record")


@dataclass
class Outcome:
    """What one request produced; filled stage by stage."""

    success: bool = False
    message: str = ""
    strategy: str = ""
    grasp: Grasp6D | None = None
    grounding: GroundingResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    attempts: list[str] = field(default_factory=list)  # strategies tried before, with the reason each failed
    run_dir: str = ""


class GraspNode(Node):
    def __init__(self) -> None:
        super().__init__("grasp_node")
        declare = self.declare_parameter
        self.base_frame = declare("base_frame", names.FR3_BASE_FRAME).value
        self.tcp_frame = declare("tcp_frame", names.FR3_TCP_FRAME).value
        self.mount = declare("camera_mount", "eye_in_hand").value
        self.calibration = load_transform(repo_path(declare("calibration", "calibration/fr3_d435i_eye_in_hand.yaml").value))
        self.capture_timeout = declare("capture_timeout", 5.0).value
        self.max_frame_age = declare("max_frame_age", 0.0).value
        self.pose_max_gap = declare("pose_max_gap", 0.1).value
        self.execute_timeout = declare("execute_timeout", 120.0).value
        self.run_root = repo_path(declare("run_root", "runs").value)
        lift = LiftConfig(max_width=declare("lift.max_width", 0.08).value,
                          approach=declare("lift.approach", "ray").value,
                          insertion_depth=declare("lift.insertion_depth", 0.01).value,
                          insertion_ratio=declare("lift.insertion_ratio", 0.5).value,
                          frame=names.COLOR_OPTICAL_FRAME)
        planner_config = PlannerConfig(lift=lift, samples=declare("samples", 1).value,
                                       min_agreement=declare("min_agreement", 0.0).value)
        backend_kind = declare("grounding.backend", "service").value
        if backend_kind != "service":
            raise RealVLGError(f"grounding.backend {backend_kind!r}: grasp_node reaches models through a Ground "
                               f"service (the grounding node or the simulation oracle); set 'service'")

        self._sensors, self._requests, self._calls = (ReentrantCallbackGroup() for _ in range(3))
        self._busy = threading.Lock()
        self.sync = StreamSynchronizer(("color", "depth", "info"), tolerance=declare("sync_tolerance", 0.002).value)
        self.poses = PoseHistory(self.base_frame, self.tcp_frame)
        for topic, kind, msg_type in ((names.COLOR_IMAGE_TOPIC, "color", Image),
                                      (names.ALIGNED_DEPTH_IMAGE_TOPIC, "depth", Image),
                                      (names.COLOR_INFO_TOPIC, "info", CameraInfo)):
            self.create_subscription(msg_type, topic, lambda m, k=kind: self.sync.add(k, stamp_from_msg(m.header.stamp), m),
                                     qos_profile_sensor_data, callback_group=self._sensors)
        self.create_subscription(PoseStamped, names.EE_POSE_TOPIC, self._on_pose, 50, callback_group=self._sensors)

        backend = ServiceGroundingBackend(self, declare("grounding.service", names.SIM_GROUND_SERVICE).value,
                                          timeout=declare("grounding.timeout", 60.0).value,
                                          tasks=tuple(declare("grounding.tasks", list(TASKS)).value),
                                          callback_group=self._calls)
        self.planner = GraspPlanner(backend, planner_config)
        self.executor_client = self.create_client(ExecuteGrasp, names.EXECUTE_GRASP_SERVICE, callback_group=self._calls)

        self.pose_pub = self.create_publisher(PoseStamped, names.GRASP_POSE_TOPIC, 10)
        self.marker_pub = self.create_publisher(MarkerArray, names.GRASP_MARKERS_TOPIC, 10)
        self.overlay_pub = self.create_publisher(Image, names.OVERLAY_TOPIC, 2)
        self.cloud_pub = self.create_publisher(PointCloud2, names.OBJECT_CLOUD_TOPIC, 2)
        static_qos = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.create_publisher(TFMessage, names.TF_STATIC_TOPIC, static_qos).publish(
            TFMessage(transforms=[transform_to_msg(self.calibration, self.get_clock().now().to_msg())]))

        self.create_service(GraspSrv, names.GRASP_SERVICE, self._on_service, callback_group=self._requests)
        ActionServer(self, GraspAction, names.GRASP_ACTION, execute_callback=self._on_goal,
                     goal_callback=self._accept_goal, callback_group=self._requests)
        self.get_logger().info(f"ready: {names.GRASP_SERVICE} (grounding via {backend.service_name})")

    # -- inputs -----------------------------------------------------------------------------------
    def _on_pose(self, msg: PoseStamped) -> None:
        grasp = grasp_from_pose_stamped(msg, width=0.0)
        self.poses.add(stamp_from_msg(msg.header.stamp), grasp.homogeneous())

    def _capture(self) -> Capture:
        """The first synchronised frame taken after the request (``max_frame_age`` allows older) that
        the robot's pose history can place; the next frame is tried while the pose stream lags."""
        deadline = time.monotonic() + self.capture_timeout
        newer_than = self.get_clock().now().nanoseconds * 1e-9 - self.max_frame_age
        while True:
            if self.mount == "eye_in_hand" and self.poses.first_stamp is not None:
                newer_than = max(newer_than, self.poses.first_stamp)  # a frame the robot poses can place
            stamp, msgs = self.sync.wait(max(0.0, deadline - time.monotonic()), newer_than=newer_than)
            try:
                camera = self._camera_pose(stamp, deadline)
                break
            except CaptureError:
                if time.monotonic() >= deadline:
                    raise
                newer_than = stamp
        color = image_from_msg(msgs["color"], copy=True)
        if msgs["color"].encoding == "bgr8":
            color = color[..., ::-1].copy()
        depth_msg = msgs["depth"]
        depth = image_from_msg(depth_msg, copy=True)
        depth_scale = 0.001 if depth_msg.encoding == "16UC1" else 1.0
        frame = msgs["color"].header.frame_id or names.COLOR_OPTICAL_FRAME
        return Capture(color, depth, camera_info_from_msg(msgs["info"]), camera, depth_scale, stamp, frame)

    def _camera_pose(self, stamp: float, deadline: float):
        if self.mount != "eye_in_hand":
            return base_from_camera(self.calibration, self.base_frame)
        self.poses.wait_past(stamp, max(0.0, deadline - time.monotonic()))  # the pose stream may lag the camera
        return base_from_camera(self.calibration, self.base_frame, self.poses.at(stamp, self.pose_max_gap))

    # -- one request ------------------------------------------------------------------------------
    def run(self, instruction: str, strategy: str, dry_run: bool, feedback=lambda stage, progress: None) -> Outcome:
        out = Outcome()
        if not self._busy.acquire(blocking=False):
            out.message = "busy: another grasp request is running"
            return out
        run = None
        try:
            if strategy not in ("", *STRATEGIES):
                out.message = f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}"
                return out
            feedback("capture", 0.0)
            t0 = time.perf_counter()
            try:
                capture = self._capture()
            finally:
                out.timings["capture"] = time.perf_counter() - t0
            run = RunFolder(self.run_root, instruction or "empty")
            out.run_dir = str(run.path)
            feedback("ground", 0.15)
            try:
                plan = self.planner.plan(capture, instruction, strategy or "auto")
            except PlanningError as exc:
                out.timings.update(exc.timings)
                out.grounding, out.message = exc.grounding, str(exc)
                self._record(run, capture, out)
                return out
            out.timings.update(plan.timings)
            out.grounding, out.strategy, out.grasp = plan.grounding, plan.strategy, plan.grasp_base
            out.attempts = plan.attempts
            for attempt in plan.attempts:
                self.get_logger().info(f"fell back: {attempt}")
            self._publish(capture, plan)
            feedback("execute", 0.6)
            t0 = time.perf_counter()
            out.success, out.message = self._execute(plan.grasp_base, dry_run)
            out.timings["execute"] = time.perf_counter() - t0
            feedback("record", 0.95)
            self._record(run, capture, out, plan.grasp_camera)
            return out
        except RealVLGError as exc:  # capture, transport, frame and input errors
            out.message = str(exc)
            return out
        finally:
            if run is not None:
                run.close()
            self._busy.release()

    def _execute(self, grasp: Grasp6D, dry_run: bool) -> tuple[bool, str]:
        request = ExecuteGrasp.Request(pose=grasp_to_pose_stamped(grasp, self.get_clock().now().to_msg()),
                                       width=float(grasp.width), dry_run=bool(dry_run))
        response = call_with_timeout(self.executor_client, request, self.execute_timeout, "the executor")
        if not response.success:
            return False, f"executor refused or failed: {response.message}"
        if dry_run:
            return True, "dry run: planned and checked, the robot did not move"
        return True, "grasped and lifted; the gripper holds the object" if response.holding else response.message

    # -- inspection -------------------------------------------------------------------------------
    def _overlay(self, capture: Capture, out: Outcome, grasp_camera: Grasp6D | None = None) -> np.ndarray:
        image = draw_grounding(capture.color, out.grounding, message=out.message)
        return draw_grasp(image, grasp_camera, capture.intrinsics) if grasp_camera is not None else image

    def _publish(self, capture: Capture, plan) -> None:
        stamp = self.get_clock().now().to_msg()
        self.pose_pub.publish(grasp_to_pose_stamped(plan.grasp_base, stamp))
        self.marker_pub.publish(gripper_markers(plan.grasp_base, stamp))
        answer = plan.grounding
        mask = answer.mask if answer.mask is not None else (answer.box.to_mask(*capture.depth.shape)
                                                             if answer.box is not None else None)
        if mask is not None:
            cloud = backproject_cloud(capture.depth, capture.intrinsics, capture.depth_scale, mask=mask,
                                      colors=capture.color, frame=capture.frame)
            self.cloud_pub.publish(points_to_pointcloud2(cloud.points, cloud.colors, capture.frame, stamp))

    def _record(self, run: RunFolder, capture: Capture, out: Outcome, grasp_camera: Grasp6D | None = None) -> None:
        t0 = time.perf_counter()
        overlay = self._overlay(capture, out, grasp_camera)
        self.overlay_pub.publish(image_to_msg(overlay, "rgb8", capture.frame, capture.stamp))
        save_image(overlay, run.path / "overlay.png")
        bag = run.bag()
        stamp_ns = round(capture.stamp * 1e9)
        for topic, msg in ((names.COLOR_IMAGE_TOPIC, image_to_msg(capture.color, "rgb8", capture.frame, capture.stamp)),
                           (names.ALIGNED_DEPTH_IMAGE_TOPIC, image_to_msg(capture.depth, None, capture.frame, capture.stamp))):
            bag.write_cdr(topic, "sensor_msgs/msg/Image", serialize_message(msg), stamp_ns)
        if out.grounding is not None:
            bag.write_cdr("/realvlg/grounding", "realvlg_interfaces/msg/Grounding",
                          serialize_message(grounding_to_msg(out.grounding, capture.frame, capture.stamp)), stamp_ns)
        if out.grasp is not None:
            bag.write_cdr(names.GRASP_POSE_TOPIC, "geometry_msgs/msg/PoseStamped",
                          serialize_message(grasp_to_pose_stamped(out.grasp, capture.stamp)), stamp_ns)
        out.timings["record"] = time.perf_counter() - t0
        run.write_json("result.json", {
            "success": out.success, "message": out.message, "strategy": out.strategy, "attempts": out.attempts,
            "grasp": out.grasp.as_dict() if out.grasp is not None else None,
            "grounding": out.grounding.as_dict() if out.grounding is not None else None,
            "timings": out.timings})

    # -- ROS entry points ---------------------------------------------------------------------------
    def _fill(self, response, out: Outcome):
        response.success, response.message, response.strategy_used = out.success, out.message, out.strategy
        response.run_dir = out.run_dir
        if out.grasp is not None:
            response.pose = grasp_to_pose_stamped(out.grasp, self.get_clock().now().to_msg())
            response.width = float(out.grasp.width)
        if out.grounding is not None:
            response.grounding = grounding_to_msg(out.grounding)
        response.timings = [StageTiming(stage=s, seconds=float(out.timings[s])) for s in STAGES if s in out.timings]
        return response

    def _on_service(self, request, response):
        out = self.run(request.instruction, request.strategy, request.dry_run)
        self.get_logger().info(f"/grasp {request.instruction!r}: {'ok' if out.success else 'failed'} — {out.message}")
        return self._fill(response, out)

    def _accept_goal(self, goal_request) -> GoalResponse:
        return GoalResponse.REJECT if self._busy.locked() else GoalResponse.ACCEPT

    def _on_goal(self, goal_handle):
        def feedback(stage: str, progress: float) -> None:
            goal_handle.publish_feedback(GraspAction.Feedback(stage=stage, progress=progress, message=stage))

        goal = goal_handle.request
        out = self.run(goal.instruction, goal.strategy, goal.dry_run, feedback)
        goal_handle.succeed() if out.success else goal_handle.abort()
        return self._fill(GraspAction.Result(), out)


def main(args=None) -> None:
    run_node(GraspNode, "grasp_node", threads=4, args=args)


if __name__ == "__main__":
    main()
