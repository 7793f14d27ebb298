"""Publishing RGB-D frames the way realsense-ros does (topics and encodings of
:mod:`realvlg.cameras.topics`): colour ``rgb8``, aligned depth ``16UC1`` in millimetres, the
same ``camera_info`` for both, and the camera's own frames on ``/tf_static`` (``camera_link →
camera_color_frame → camera_color_optical_frame``, :func:`realvlg.geometry.camera_mount.color_chain`).
Shared by camera_node and sim_node."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.transforms import Transform
from realvlg.ros import names
from realvlg.ros.conversions import camera_info_to_msg, image_to_msg
from realvlg.ros.tf import publish_static


class RgbdPublisher:
    def __init__(self, node, camera_chain: list[Transform], depth: int = 5):
        self._static = publish_static(node, camera_chain)
        self.color = node.create_publisher(Image, names.COLOR_IMAGE_TOPIC, depth)
        self.color_info = node.create_publisher(CameraInfo, names.COLOR_INFO_TOPIC, depth)
        self.depth = node.create_publisher(Image, names.ALIGNED_DEPTH_IMAGE_TOPIC, depth)
        self.depth_info = node.create_publisher(CameraInfo, names.ALIGNED_DEPTH_INFO_TOPIC, depth)

    def publish(self, color: np.ndarray, depth_m: np.ndarray, intrinsics: CameraIntrinsics, frame: str, stamp) -> None:
        """``color`` RGB uint8, ``depth_m`` float metres aligned to it (0 = invalid)."""
        info = camera_info_to_msg(intrinsics, frame, stamp)
        depth_mm = np.round(depth_m * 1000.0).astype(np.uint16)
        self.color.publish(image_to_msg(color, "rgb8", frame, stamp))
        self.depth.publish(image_to_msg(depth_mm, "16UC1", frame, stamp))
        self.color_info.publish(info)
        self.depth_info.publish(info)
