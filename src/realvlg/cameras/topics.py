"""Topic names of the camera, as realsense-ros publishes them (frame ids: :mod:`realvlg.frames`).

realsense-ros 4.x launched with its defaults (``camera_namespace:=camera camera_name:=camera``)
publishes under ``/camera/camera/``; aligned depth appears when ``align_depth.enable:=true``.
The replay backend reads, the recorder writes and the ROS camera node publishes these names.
"""

CAMERA_NAMESPACE = "/camera/camera"

COLOR_IMAGE_TOPIC = f"{CAMERA_NAMESPACE}/color/image_raw"
COLOR_INFO_TOPIC = f"{CAMERA_NAMESPACE}/color/camera_info"
ALIGNED_DEPTH_IMAGE_TOPIC = f"{CAMERA_NAMESPACE}/aligned_depth_to_color/image_raw"
ALIGNED_DEPTH_INFO_TOPIC = f"{CAMERA_NAMESPACE}/aligned_depth_to_color/camera_info"

# sensor_msgs/Image encodings realsense-ros uses: colour rgb8, depth 16UC1 in millimetres (REP-118).
COLOR_ENCODING = "rgb8"
DEPTH_ENCODING = "16UC1"
DEPTH_16UC1_UNIT_M = 0.001
