"""Cameras: one small interface (:class:`Camera` → :class:`~realvlg.observation.RGBDFrame`) and one module per backend.

* :mod:`realvlg.cameras.camera`: the interface and the typed errors.
* :mod:`realvlg.cameras.realsense`: a RealSense D435i / D415 through pyrealsense2, live
  (``rs.pipeline``) or from a librealsense recording (``.bag`` / ``.db3``, its playback device).
* :mod:`realvlg.cameras.replay`: a rosbag2 recording (MCAP or sqlite3) of realsense-ros topics.
* :mod:`realvlg.cameras.topics`: realsense-ros topic names and frame ids.
* :mod:`realvlg.cameras.synthetic`: a librealsense software device that records a synthetic
  plane-and-box scene to ``.db3`` (tests, benchmarks, trying the CLI without a camera).

No module here imports rclpy; the ROS camera node is a thin adapter over them.
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
