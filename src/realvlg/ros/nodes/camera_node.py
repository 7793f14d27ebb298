"""camera_node: a :mod:`realvlg.cameras` backend published as realsense-ros publishes it.

Colour ``rgb8``, aligned depth ``16UC1`` (mm) and both ``camera_info`` on ``/camera/camera/…`` in
``camera_color_optical_frame``, read on one thread as fast as the source delivers (the camera's
own frame rate; a recording plays at its recorded pace with ``replay.real_time``).

Stamps: ``device`` keeps the frame's own timestamp (RealSense global time, host-clock aligned —
what pairs an eye-in-hand image with the robot pose at capture); ``receipt`` stamps frames when
read (needed for recordings, whose stamps are in the past). ``auto`` = device for realsense
live, receipt otherwise.

Parameters (``config/camera_node.yaml``): ``backend`` (realsense | replay), ``stamp_source``,
``read_timeout``, ``realsense.serial``, ``realsense.file``, ``realsense.profile``,
``realsense.filters``, ``replay.path``, ``replay.loop``, ``replay.real_time``.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import rclpy
from rclpy._rclpy_pybind11 import RCLError
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from realvlg.cameras.camera import CameraError, EndOfRecordingError, make_camera
from realvlg.cameras.realsense import RealSenseCameraConfig
from realvlg.cameras.replay import ReplayCameraConfig
from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.ros import names
from realvlg.ros.conversions import camera_info_to_msg, image_to_msg


def camera_config(node: Node):
    declare = node.declare_parameter
    backend = declare("backend", "realsense").value
    if backend == "realsense":
        return RealSenseCameraConfig(serial=declare("realsense.serial", "").value or None,
                                     file=declare("realsense.file", "").value or None,
                                     profile=declare("realsense.profile", "d435i").value,
                                     filters=tuple(f for f in declare("realsense.filters", [""]).value if f))
    if backend == "replay":
        return ReplayCameraConfig(path=declare("replay.path", "").value, loop=declare("replay.loop", False).value,
                                  real_time=declare("replay.real_time", True).value)
    raise InvalidInputError(f"camera backend must be realsense or replay, got {backend!r}")


class CameraNode(Node):
    def __init__(self) -> None:
        super().__init__("camera_node")
        config = camera_config(self)
        source = self.declare_parameter("stamp_source", "auto").value
        live = config.backend == "realsense" and not getattr(config, "file", None)
        self.device_stamps = source == "device" or (source == "auto" and live)
        self.read_timeout = self.declare_parameter("read_timeout", 5.0).value
        self.camera = make_camera(config)
        self.camera.open()
        pubs = ((Image, names.COLOR_IMAGE_TOPIC), (CameraInfo, names.COLOR_INFO_TOPIC),
                (Image, names.ALIGNED_DEPTH_IMAGE_TOPIC), (CameraInfo, names.ALIGNED_DEPTH_INFO_TOPIC))
        self.color_pub, self.color_info_pub, self.depth_pub, self.depth_info_pub = (
            self.create_publisher(t, topic, 5) for t, topic in pubs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="camera-read", daemon=True)
        self._thread.start()
        self.get_logger().info(f"publishing the {config.backend} camera on {names.COLOR_IMAGE_TOPIC}")

    def _loop(self) -> None:
        while not self._stop.is_set() and rclpy.ok():
            try:
                frame = self.camera.read(self.read_timeout)
            except EndOfRecordingError:
                self.get_logger().info("the recording ended; nothing more to publish")
                return
            except CameraError as exc:
                self.get_logger().error(f"no frame: {exc}", throttle_duration_sec=5.0)
                continue
            stamp = frame.timestamp if self.device_stamps else self.get_clock().now().to_msg()
            info = camera_info_to_msg(frame.intrinsics, frame.frame_id, stamp)
            depth_mm = np.round(frame.depth * 1000.0).astype(np.uint16)
            try:
                self.color_pub.publish(image_to_msg(frame.color, "rgb8", frame.frame_id, stamp))
                self.depth_pub.publish(image_to_msg(depth_mm, "16UC1", frame.frame_id, stamp))
                self.color_info_pub.publish(info)
                self.depth_info_pub.publish(info)
            except RCLError:
                if rclpy.ok():
                    raise
                return

    def shutdown(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)
        self.camera.close()


def main(args=None) -> None:
    rclpy.init(args=args)
    try:
        node = CameraNode()
    except RealVLGError as exc:
        print(f"camera_node: cannot start: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        sys.exit(1)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    print(f"READY {node.get_name()}", flush=True)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
