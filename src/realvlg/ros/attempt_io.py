"""What every ``/grasp`` node shares around a :class:`~realvlg.grasping.attempt.GraspAttempt`: the
RViz outputs of a plan, the run folder's MCAP bag, a request (its optional reference image
decoded), the service/action result and the action server with stage feedback."""

from __future__ import annotations

import math

from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionServer, GoalResponse
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from realvlg.cameras.messages import decode_reference
from realvlg.geometry.grasps import DexGrasp, Grasp, Grasp6D
from realvlg.geometry.projection import backproject_cloud
from realvlg.grasping.attempt import STAGES, Outcome
from realvlg.grasping.planner import Plan
from realvlg.grasping.record import RunFolder
from realvlg.observation import RGBDFrame
from realvlg.overlay import draw_grounding
from realvlg.ros import names
from realvlg.ros.conversions import (
    camera_info_to_msg,
    grasp_to_pose_stamped,
    grounding_to_msg,
    image_to_msg,
    points_to_pointcloud2,
)
from realvlg.ros.markers import gripper_markers
from realvlg_interfaces.msg import StageTiming

# A burst of requests is queued, not dropped: each gets its answer ("busy" at once but for one).
REQUEST_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


class AttemptPublisher:
    """The grasp pose, gripper markers, object cloud and overlay topics, and the bag writer."""

    def __init__(self, node):
        self.node = node
        self.pose_pub = node.create_publisher(PoseStamped, names.GRASP_POSE_TOPIC, 10)
        self.marker_pub = node.create_publisher(MarkerArray, names.GRASP_MARKERS_TOPIC, 10)
        self.overlay_pub = node.create_publisher(Image, names.OVERLAY_TOPIC, 2)
        self.cloud_pub = node.create_publisher(PointCloud2, names.OBJECT_CLOUD_TOPIC, 2)

    def publish_plan(self, frame: RGBDFrame, plan: Plan, grasp: Grasp) -> None:
        stamp = self.node.get_clock().now().to_msg()
        self.pose_pub.publish(grasp_to_pose_stamped(grasp, stamp))
        if isinstance(grasp, Grasp6D):
            self.marker_pub.publish(gripper_markers(grasp, stamp))
        answer = plan.grounding
        mask = None
        if answer is not None and answer.valid:
            mask = answer.mask if answer.mask is not None else (
                answer.box.to_mask(*frame.depth.shape) if answer.box is not None else None)
        if mask is not None:
            cloud = backproject_cloud(frame.depth, frame.intrinsics, mask=mask, colors=frame.color,
                                      frame=frame.frame_id)
            self.cloud_pub.publish(points_to_pointcloud2(cloud.points, cloud.colors, frame.frame_id, stamp))

    def record(self, run: RunFolder, frame: RGBDFrame, out: Outcome) -> None:
        """The overlay topic, and the frame (colour, aligned depth, both camera_infos), the request's
        reference image, the answer and the grasp into the run's MCAP bag."""
        self.overlay_pub.publish(image_to_msg(draw_grounding(frame.color, out.grounding, message=out.message),
                                              "rgb8", frame.frame_id, frame.timestamp))
        bag, stamp_ns = run.bag(), round(frame.timestamp * 1e9)
        depth_mm = (frame.depth * 1000.0).round().clip(0, 65535).astype("uint16")
        for topic, msg in ((names.COLOR_IMAGE_TOPIC, image_to_msg(frame.color, "rgb8", frame.frame_id, frame.timestamp)),
                           (names.ALIGNED_DEPTH_IMAGE_TOPIC, image_to_msg(depth_mm, "16UC1", frame.frame_id,
                                                                          frame.timestamp))):
            bag.write_cdr(topic, "sensor_msgs/msg/Image", serialize_message(msg), stamp_ns)
        info = serialize_message(camera_info_to_msg(frame.intrinsics, frame.frame_id, frame.timestamp))
        for topic in (names.COLOR_INFO_TOPIC, names.ALIGNED_DEPTH_INFO_TOPIC):
            bag.write_cdr(topic, "sensor_msgs/msg/CameraInfo", info, stamp_ns)
        if out.reference is not None:
            bag.write_cdr(names.REFERENCE_IMAGE_TOPIC, "sensor_msgs/msg/Image",
                          serialize_message(image_to_msg(out.reference, "rgb8", "", frame.timestamp)), stamp_ns)
        if out.grounding is not None:
            bag.write_cdr("/realvlg/grounding", "realvlg_interfaces/msg/Grounding",
                          serialize_message(grounding_to_msg(out.grounding, frame.frame_id, frame.timestamp)), stamp_ns)
        if out.grasp is not None:
            bag.write_cdr(names.GRASP_POSE_TOPIC, "geometry_msgs/msg/PoseStamped",
                          serialize_message(grasp_to_pose_stamped(out.grasp, frame.timestamp)), stamp_ns)


def run_request(attempt, request, feedback=None) -> Outcome:
    """Run a ``Grasp`` service request or action goal: instruction, strategy, dry run and the
    optional ``reference`` image (empty = none; one that cannot be decoded: INVALID_REQUEST)."""
    extra = {"feedback": feedback} if feedback is not None else {}
    return attempt.run(request.instruction, request.strategy, request.dry_run,
                       reference=lambda: decode_reference(request.reference), **extra)


def fill_result(response, out: Outcome, stamp):
    """A ``Grasp`` service response or action result from an outcome; the pose is stamped with the
    capture time of the frame it was planned on (``stamp``, e.g. now, when there was none)."""
    stamp = out.stamp if out.stamp is not None else stamp
    response.success, response.code, response.message = out.success, int(out.code), out.message
    response.strategy_used, response.run_dir = out.strategy, out.run_dir
    response.notes, response.tries = list(out.notes), int(out.tries)
    if out.grasp is not None:
        response.pose = grasp_to_pose_stamped(out.grasp, stamp)
        hand = isinstance(out.grasp, DexGrasp)
        response.width = math.nan if hand else float(out.grasp.width)
        response.hand_joints = [float(v) for v in out.grasp.joints] if hand else []
    if out.grounding is not None:
        response.grounding = grounding_to_msg(out.grounding)
    response.timings = [StageTiming(stage=s, seconds=float(out.timings[s])) for s in STAGES if s in out.timings]
    return response


def run_goal(node, action_type, name: str, attempt, callback_group) -> ActionServer:
    """The ``/grasp`` action: goals are rejected while an attempt runs; feedback per stage."""

    def execute(goal_handle):
        def feedback(stage: str, progress: float, message: str) -> None:
            goal_handle.publish_feedback(action_type.Feedback(stage=stage, progress=progress, message=message))

        goal = goal_handle.request
        out = run_request(attempt, goal, feedback)
        goal_handle.succeed() if out.success else goal_handle.abort()
        node.get_logger().info(f"/grasp action {goal.instruction!r}: {out.code.name} — {out.message}")
        return fill_result(action_type.Result(), out, node.get_clock().now().to_msg())

    return ActionServer(node, action_type, name, execute_callback=execute,
                        goal_callback=lambda _: GoalResponse.REJECT if attempt.busy else GoalResponse.ACCEPT,
                        callback_group=callback_group, goal_service_qos_profile=REQUEST_QOS,
                        result_service_qos_profile=REQUEST_QOS, cancel_service_qos_profile=REQUEST_QOS)
