"""Cameras: one small interface (:class:`Camera` → :class:`~realvlg.observation.RGBDFrame`) and one module per backend.

* :mod:`realvlg.cameras.camera`: the interface and the typed errors.
* :mod:`realvlg.cameras.realsense`: a RealSense D435i / D415 through pyrealsense2, live
  (``rs.pipeline``) or from a librealsense recording (``.bag`` / ``.db3``, its playback device).
* :mod:`realvlg.cameras.replay`: a rosbag2 recording (MCAP or sqlite3) of realsense-ros topics.
* :mod:`realvlg.cameras.topics`: realsense-ros topic names and frame ids.

No module here imports rclpy; the ROS camera node is a thin adapter over them. The synthetic
RealSense recordings the tests and benchmarks play back (a librealsense software device) are a
test helper: ``tests/synthetic_camera.py``.
"""

from realvlg.cameras.camera import (
    Camera,
    CameraConfig,
    CameraError,
    CameraNotFoundError,
    CameraStreamError,
    CameraTimeoutError,
    EndOfRecordingError,
    make_camera,
)

__all__ = [
    "Camera",
    "CameraConfig",
    "CameraError",
    "CameraNotFoundError",
    "CameraStreamError",
    "CameraTimeoutError",
    "EndOfRecordingError",
    "make_camera",
]
