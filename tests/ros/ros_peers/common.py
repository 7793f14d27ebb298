"""What the peer processes of tests/ros share with the tests: the camera, the test frames and the spin loop."""

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException

from realvlg.geometry.camera import CameraIntrinsics

CAMERA_FRAME = "camera_color_optical_frame"
# D435i colour stream at 1280x720 (nominal values)
D435I = CameraIntrinsics(1280, 720, 909.15, 908.49, 643.2, 361.7, (0.0, 0.0, 0.0, 0.0, 0.0))


def camera_frames(seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index`` of a reproducible stream: (rgb uint8 720x1280x3, depth uint16 720x1280 mm),
    full-range random values so that any byte-order, stride or channel mix-up shows."""
    rng = np.random.default_rng([seed, index])
    rgb = rng.integers(0, 256, (D435I.height, D435I.width, 3), dtype=np.uint8)
    depth = rng.integers(0, 65536, (D435I.height, D435I.width), dtype=np.uint16)
    return rgb, depth


def spin_until_shutdown(node) -> None:
    """Spin until SIGINT/SIGTERM or shutdown, then destroy the node and shut rclpy down."""
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
