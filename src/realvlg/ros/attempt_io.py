"""What every ``/grasp`` node shares around a :class:`~realvlg.grasping.attempt.GraspAttempt`: the
RViz outputs of a plan, the run folder's MCAP bag (written and committed stage by stage, with the
``/tf``, ``/tf_static`` and ``/joint_states`` messages around the capture: :func:`buffer_context`),
a request (its optional reference image decoded), the service/action result and the action server
with stage feedback."""

from __future__ import annotations

import json
import math

from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionServer, GoalResponse
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image, JointState, PointCloud2
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from realvlg.cameras.messages import decode_reference
from realvlg.geometry.grasps import DexGrasp, Grasp, Grasp6D
from realvlg.geometry.projection import backproject_cloud
from realvlg.grasping.attempt import STAGES, Outcome
from realvlg.grasping.planner import Plan
from realvlg.grasping.record import CAMERA_POSE_TOPIC, GROUNDING_TOPIC, INSTRUCTION_TOPIC, RESULT_TOPIC, RunFolder
from realvlg.observation import RGBDFrame
from realvlg.overlay import draw_grounding
from realvlg.recording import MessageBuffer
from realvlg.ros import names
from realvlg.ros.conversions import (
    camera_info_to_msg,
    grasp_to_pose_stamped,
    grounding_to_msg,
    image_to_msg,
    points_to_pointcloud2,
    transform_to_msg,
)
from realvlg.ros.markers import gripper_markers
from realvlg.ros.tf import STATIC_LISTENER
from realvlg_interfaces.msg import StageTiming

# A burst of requests is queued, not dropped: each gets its answer ("busy" at once but for one).
REQUEST_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
# What a bag holds of the robot around a capture: whatever is published on these (type, QoS).
CONTEXT_TOPICS = {names.TF_TOPIC: (TFMessage, 100), names.TF_STATIC_TOPIC: (TFMessage, STATIC_LISTENER),
                  names.JOINT_STATES_TOPIC: (JointState, 100)}


def _msgtype(msg_class) -> str:
    return f"{msg_class.__module__.split('.')[0]}/msg/{msg_class.__name__}"


def buffer_context(node, callback_group, horizon: float = 2.0) -> MessageBuffer:
    """A :class:`~realvlg.recording.MessageBuffer` fed, serialised as received (no decoding), by
    subscriptions to :data:`CONTEXT_TOPICS`; stamps are the node clock's receive times."""
    buffer = MessageBuffer(horizon, latched=(names.TF_STATIC_TOPIC,))
    for topic, (msg_class, qos) in CONTEXT_TOPICS.items():
        msgtype = _msgtype(msg_class)
        node.create_subscription(
            msg_class, topic, lambda data, t=topic, m=msgtype: buffer.add(t, m, node.get_clock().now().nanoseconds, data),
            qos, callback_group=callback_group, raw=True)
    return buffer


class AttemptPublisher:
    """The grasp pose, gripper markers, object cloud and overlay topics, and the bag writer."""

    def __init__(self, node, context: MessageBuffer | None = None, context_window: float = 1.0):
        self.node, self.context, self.context_window = node, context, context_window
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

    def record(self, run: RunFolder, stage: str, frame: RGBDFrame, out: Outcome) -> None:
        """A checkpoint's data into the run's MCAP bag, committed (a file of the bag) at once:
        ``capture``: colour, aligned depth, both camera_infos, the camera pose, the instruction, the
        request's reference image and the buffered context since ``context_window`` s before the frame; ``plan``: the answer;
        ``check``: the grasp pose; ``record``: the result (and the overlay topic)."""
        bag, stamp_ns = run.bag(), round(frame.timestamp * 1e9)
        write = lambda topic, msgtype, msg: bag.write_cdr(topic, msgtype, serialize_message(msg), stamp_ns)  # noqa: E731
        if stage == "capture":
            depth_mm = (frame.depth * 1000.0).round().clip(0, 65535).astype("uint16")
            write(names.COLOR_IMAGE_TOPIC, "sensor_msgs/msg/Image",
                  image_to_msg(frame.color, "rgb8", frame.frame_id, frame.timestamp))
            write(names.ALIGNED_DEPTH_IMAGE_TOPIC, "sensor_msgs/msg/Image",
                  image_to_msg(depth_mm, "16UC1", frame.frame_id, frame.timestamp))
            info = camera_info_to_msg(frame.intrinsics, frame.frame_id, frame.timestamp)
            for topic in (names.COLOR_INFO_TOPIC, names.ALIGNED_DEPTH_INFO_TOPIC):
                write(topic, "sensor_msgs/msg/CameraInfo", info)
            if frame.base_from_camera is not None:
                write(CAMERA_POSE_TOPIC, "geometry_msgs/msg/TransformStamped",
                      transform_to_msg(frame.base_from_camera, frame.timestamp))
            write(INSTRUCTION_TOPIC, "std_msgs/msg/String", String(data=out.instruction))
            if out.reference is not None:
                write(names.REFERENCE_IMAGE_TOPIC, "sensor_msgs/msg/Image",
                      image_to_msg(out.reference, "rgb8", "", frame.timestamp))
            if self.context is not None:
                for topic, msgtype, stamp, data in self.context.since(stamp_ns - round(self.context_window * 1e9)):
                    bag.write_cdr(topic, msgtype, data, stamp)
        elif stage == "plan" and out.grounding is not None:
            write(GROUNDING_TOPIC, "realvlg_interfaces/msg/Grounding",
                  grounding_to_msg(out.grounding, frame.frame_id, frame.timestamp))
        elif stage == "check" and out.grasp is not None:
            write(names.GRASP_POSE_TOPIC, "geometry_msgs/msg/PoseStamped", grasp_to_pose_stamped(out.grasp, frame.timestamp))
        elif stage == "record":
            self.overlay_pub.publish(image_to_msg(draw_grounding(frame.color, out.grounding, message=out.message),
                                                  "rgb8", frame.frame_id, frame.timestamp))
            write(RESULT_TOPIC, "std_msgs/msg/String", String(data=json.dumps(
                {"code": out.code.name, "message": out.message, "strategy": out.strategy, "tries": out.tries,
                 "grasp": out.grasp.as_dict() if out.grasp is not None else None}, default=float)))
        bag.commit(wait=False)  # finished in the background; the attempt goes on (RunFolder.close waits)


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
