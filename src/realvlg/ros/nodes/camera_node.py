"""camera_node: a :mod:`realvlg.cameras` backend published as realsense-ros publishes it.

Colour ``rgb8``, aligned depth ``16UC1`` (mm) and both ``camera_info`` on ``/camera/camera/…`` in
``camera_color_optical_frame``, and ``camera_link → camera_color_frame → camera_color_optical_frame``
on ``/tf_static`` (from the device's extrinsics where the backend has them), read on one thread as fast as the source delivers (the camera's
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

import threading

import rclpy
from rclpy._rclpy_pybind11 import RCLError
from rclpy.node import Node

from realvlg.cameras.camera import CameraError, EndOfRecordingError, make_camera
from realvlg.cameras.realsense import RealSenseCameraConfig
from realvlg.cameras.replay import ReplayCameraConfig
from realvlg.errors import InvalidInputError
from realvlg.geometry.camera_mount import color_chain
from realvlg.ros import names
from realvlg.ros.rgbd import RgbdPublisher
from realvlg.ros.spin import run_node


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
        self.rgbd = RgbdPublisher(self, color_chain(self.camera.color_to_depth))  # camera_link → optical frame
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
            try:
                self.rgbd.publish(frame.color, frame.depth, frame.intrinsics, frame.frame_id, stamp)
            except RCLError:
                if rclpy.ok():
                    raise
                return

    def shutdown(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)
        self.camera.close()


def main(args=None) -> None:
    run_node(CameraNode, "camera_node", args=args)


if __name__ == "__main__":
    main()
