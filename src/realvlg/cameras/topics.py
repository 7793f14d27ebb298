"""Topic names of the camera, as realsense-ros publishes them (frame ids: :mod:`realvlg.frames`).

realsense-ros 4.x launched with its defaults (``camera_namespace:=camera camera_name:=camera``)
publishes under ``/camera/camera/``; aligned depth appears when ``align_depth.enable:=true``.
The replay backend reads, the recorder writes and the ROS camera node publishes these names.
"""

from realvlg.errors import InvalidInputError

CAMERA_NAMESPACE = "/camera/camera"   # realvlg's own camera nodes; a running driver's is a parameter

# Below a namespace, as realsense-ros names them (the realvlg graph reads the first three).
COLOR_IMAGE = "color/image_raw"
COLOR_INFO = "color/camera_info"
ALIGNED_DEPTH_IMAGE = "aligned_depth_to_color/image_raw"
ALIGNED_DEPTH_INFO = "aligned_depth_to_color/camera_info"
DEPTH_IMAGE = "depth/image_rect_raw"       # unaligned depth: what realsense-ros publishes without align_depth
DEPTH_INFO = "depth/camera_info"
LAUNCH_HINT = "ros2 launch realsense2_camera rs_launch.py align_depth.enable:=true"

COLOR_IMAGE_TOPIC = f"{CAMERA_NAMESPACE}/{COLOR_IMAGE}"
COLOR_INFO_TOPIC = f"{CAMERA_NAMESPACE}/{COLOR_INFO}"
ALIGNED_DEPTH_IMAGE_TOPIC = f"{CAMERA_NAMESPACE}/{ALIGNED_DEPTH_IMAGE}"
ALIGNED_DEPTH_INFO_TOPIC = f"{CAMERA_NAMESPACE}/{ALIGNED_DEPTH_INFO}"

# sensor_msgs/Image encodings realsense-ros uses: colour rgb8, depth 16UC1 in millimetres (REP-118).
COLOR_ENCODING = "rgb8"
DEPTH_ENCODING = "16UC1"
DEPTH_16UC1_UNIT_M = 0.001


def camera_topics(namespace: str = CAMERA_NAMESPACE) -> dict[str, str]:
    """The streams a capture reads (``color``, ``depth`` aligned to colour, ``info``: the colour
    camera_info) → their topics under ``namespace``: realsense-ros 4.x's
    ``/<camera_namespace>/<camera_name>``, e.g. ``/camera/camera`` for ``rs_launch.py``'s defaults."""
    ns = "/" + namespace.strip("/")
    if ns == "/":
        raise InvalidInputError("the camera namespace is empty; realsense-ros's default is /camera/camera")
    return {"color": f"{ns}/{COLOR_IMAGE}", "depth": f"{ns}/{ALIGNED_DEPTH_IMAGE}", "info": f"{ns}/{COLOR_INFO}"}


def explain_silent_topics(namespace: str, silent: list[str], published: set[str]) -> str:
    """Why the topics ``silent`` (of :func:`camera_topics`) delivered nothing, from the topics the
    ROS graph has (``published``): no camera under ``namespace`` at all, a realsense2_camera
    without ``align_depth.enable``, or topics that exist but stay quiet."""
    ns = "/" + namespace.strip("/")
    aligned, unaligned = f"{ns}/{ALIGNED_DEPTH_IMAGE}", f"{ns}/{DEPTH_IMAGE}"
    if not any(topic.startswith(ns + "/") for topic in published):
        return (f"no camera publishes under {ns}: start one (a RealSense with realsense-ros: {LAUNCH_HINT}) "
                f"or set camera.namespace to the driver's /<camera_namespace>/<camera_name>")
    if aligned in silent and aligned not in published and unaligned in published:
        return (f"align_depth is off: the camera publishes {unaligned} but not {aligned}; "
                f"restart realsense2_camera with align_depth.enable:=true ({LAUNCH_HINT})")
    missing = [t for t in silent if t not in published]
    if missing:
        return f"the camera under {ns} does not publish {', '.join(missing)}"
    return f"{', '.join(silent)} exist but delivered nothing new (the camera stopped or stalled — a killed driver stays listed ~20 s — or its QoS cannot reach this node)"
