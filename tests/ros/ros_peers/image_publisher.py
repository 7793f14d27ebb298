"""Peer: publishes colour (rgb8), aligned depth (16UC1) and CameraInfo, realsense-ros topic names.

Usage: image_publisher.py SEED FRAMES [RATE_HZ] [--ros-args -r __ns:=/NS]. Cycles through FRAMES reproducible frames
(common.camera_frames), stamp.sec = frame index, while anyone subscribes. Prints READY once its
publishers exist; ends cleanly on SIGTERM.
"""

import sys

import rclpy
from builtin_interfaces.msg import Time
from common import CAMERA_FRAME, D435I, camera_frames
from rclpy.executors import ExternalShutdownException
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import CameraInfo, Image

from realvlg.ros.conversions import camera_info_to_msg, image_to_msg


def main() -> None:
    argv = remove_ros_args(sys.argv)
    seed, frames = int(argv[1]), int(argv[2])
    rate = float(argv[3]) if len(argv) > 3 else 5.0
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("test_image_publisher")
    qos = QoSProfile(depth=3, reliability=ReliabilityPolicy.RELIABLE)
    pubs = {
        "color": node.create_publisher(Image, "camera/camera/color/image_raw", qos),
        "depth": node.create_publisher(Image, "camera/camera/aligned_depth_to_color/image_raw", qos),
        "info": node.create_publisher(CameraInfo, "camera/camera/color/camera_info", qos),
    }
    messages = []
    for i in range(frames):
        rgb, depth = camera_frames(seed, i)
        stamp = Time(sec=i)
        messages.append((image_to_msg(rgb, "rgb8", CAMERA_FRAME, stamp),
                         image_to_msg(depth, "16UC1", CAMERA_FRAME, stamp),
                         camera_info_to_msg(D435I, CAMERA_FRAME, stamp)))
    count = 0

    def tick() -> None:
        nonlocal count
        if min(p.get_subscription_count() for p in pubs.values()) == 0:
            return
        color, depth, info = messages[count % frames]
        pubs["color"].publish(color)
        pubs["depth"].publish(depth)
        pubs["info"].publish(info)
        count += 1

    node.create_timer(1.0 / rate, tick)
    print("READY", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        print(f"PUBLISHED {count}", flush=True)
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
