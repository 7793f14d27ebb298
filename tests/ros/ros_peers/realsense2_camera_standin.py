"""Peer: a stand-in for realsense2_camera (realsense-ros 4.x, ``rs_launch.py`` defaults), fed by an
RGB-D feed — the simulator's wrist camera (sim_node's topics remapped under FEED) or any publisher of
``FEED/color/image_raw``, ``FEED/aligned_depth_to_color/image_raw`` and ``FEED/color/camera_info``.

Usage: realsense2_camera_standin.py FEED [--ros-args -r __ns:=/camera -r __node:=camera
-p align_depth.enable:=true -p publish_tf:=false]. Node ``/camera/camera`` by default, as rs_launch.py names it. It
publishes what realsense2_camera publishes (read from realsense-ros 4.55's rs_node_setup.cpp,
tfs.cpp, base_realsense_node.cpp, constants.h):

* ``~/color/image_raw`` rgb8 and ``~/color/camera_info``, in ``camera_color_optical_frame``;
* ``~/depth/image_rect_raw`` 16UC1 (mm) and ``~/depth/camera_info`` in ``camera_depth_optical_frame``
  (the feed's depth: the simulator has no separate depth imager, so its pixels are the aligned ones);
* with ``align_depth.enable`` (false by default, as in realsense-ros): ``~/aligned_depth_to_color/
  image_raw`` 16UC1 and its camera_info, in ``camera_color_optical_frame``;
* QoS: images ``SYSTEM_DEFAULT``, camera_info ``DEFAULT`` (reliable, volatile, keep last 10);
  ``/tf_static`` latched (reliable, transient local, depth 1: tf2's StaticBroadcasterQoS);
* ``/tf_static`` (unless ``publish_tf`` is false, as in realsense-ros): ``camera_link →
  camera_depth_frame → camera_depth_optical_frame`` (camera_link is the depth imager) and
  ``camera_link → camera_color_frame → camera_color_optical_frame``. No
  ``camera_aligned_depth_to_color_frame``: realsense-ros adds ``camera_aligned_depth_to_<stream>_frame``
  only for streams of index 1 (infra1), never for colour, so the colour optical frame keeps one parent.

Not published: the ``realsense2_camera_msgs`` topics (``~/color/metadata``, ``~/depth/metadata``,
``~/extrinsics/depth_to_color``) — that package is not on PyPI. Stamps and pixels are the feed's,
unchanged (the simulation oracle answers only for its own renders). Prints READY once its
publishers exist; ends cleanly on SIGTERM.
"""

import sys

import numpy as np
import rclpy
from common import spin_until_shutdown
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_system_default
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage

from realvlg.cameras import topics
from realvlg.frames import CAMERA_LINK_FRAME, COLOR_OPTICAL_FRAME, DEPTH_OPTICAL_FRAME
from realvlg.geometry.camera_mount import BODY_FROM_OPTICAL, color_chain
from realvlg.geometry.transforms import Transform
from realvlg.ros.conversions import transform_to_msg

DEPTH_FRAME = "camera_depth_frame"
INFO_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
STATIC_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
FEED_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)


def static_chain() -> list[Transform]:
    """realsense2_camera's static transforms, parent←child: the depth imager is camera_link; the
    colour chain is the nominal D435i's (no device extrinsics here), as the simulator's own camera
    publishes it — so the simulated mount (calibration/sim_fr3_wrist_camera.yaml) holds."""
    return [Transform(CAMERA_LINK_FRAME, DEPTH_FRAME, np.eye(4)),
            Transform.from_translation_rotation((0, 0, 0), BODY_FROM_OPTICAL, DEPTH_FRAME, DEPTH_OPTICAL_FRAME),
            *color_chain()]


def main() -> None:
    feed = "/" + remove_ros_args(sys.argv)[1].strip("/")
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("camera", namespace="camera")
    align = node.declare_parameter("align_depth.enable", False).value
    out = {"color": node.create_publisher(Image, f"~/{topics.COLOR_IMAGE}", qos_profile_system_default),
           "color_info": node.create_publisher(CameraInfo, f"~/{topics.COLOR_INFO}", INFO_QOS),
           "depth": node.create_publisher(Image, f"~/{topics.DEPTH_IMAGE}", qos_profile_system_default),
           "depth_info": node.create_publisher(CameraInfo, f"~/{topics.DEPTH_INFO}", INFO_QOS)}
    if align:
        out["aligned"] = node.create_publisher(Image, f"~/{topics.ALIGNED_DEPTH_IMAGE}", qos_profile_system_default)
        out["aligned_info"] = node.create_publisher(CameraInfo, f"~/{topics.ALIGNED_DEPTH_INFO}", INFO_QOS)
    if node.declare_parameter("publish_tf", True).value:
        stamp = node.get_clock().now().to_msg()
        static = node.create_publisher(TFMessage, "/tf_static", STATIC_QOS)
        static.publish(TFMessage(transforms=[transform_to_msg(t, stamp) for t in static_chain()]))

    def relabel(msg, frame_id: str):
        msg.header.frame_id = frame_id
        return msg

    def on_color(msg: Image) -> None:
        out["color"].publish(relabel(msg, COLOR_OPTICAL_FRAME))

    def on_info(msg: CameraInfo) -> None:   # one camera in the feed: its intrinsics serve every stream
        out["color_info"].publish(relabel(msg, COLOR_OPTICAL_FRAME))
        if align:
            out["aligned_info"].publish(msg)
        out["depth_info"].publish(relabel(msg, DEPTH_OPTICAL_FRAME))

    def on_depth(msg: Image) -> None:
        if msg.encoding != topics.DEPTH_ENCODING:
            node.get_logger().error(f"the feed's depth is {msg.encoding}, not {topics.DEPTH_ENCODING}",
                                    throttle_duration_sec=5.0)
            return
        if align:
            out["aligned"].publish(relabel(msg, COLOR_OPTICAL_FRAME))
        out["depth"].publish(relabel(msg, DEPTH_OPTICAL_FRAME))

    node.create_subscription(Image, f"{feed}/{topics.COLOR_IMAGE}", on_color, FEED_QOS)
    node.create_subscription(Image, f"{feed}/{topics.ALIGNED_DEPTH_IMAGE}", on_depth, FEED_QOS)
    node.create_subscription(CameraInfo, f"{feed}/{topics.COLOR_INFO}", on_info, FEED_QOS)
    print(f"READY {node.get_fully_qualified_name()} align_depth={align}", flush=True)
    spin_until_shutdown(node)


if __name__ == "__main__":
    main()
