"""The camera topics a capture reads and why they stay silent (realsense-ros 4.x names)."""

import pytest

from realvlg.cameras.topics import (
    ALIGNED_DEPTH_IMAGE_TOPIC,
    COLOR_IMAGE_TOPIC,
    COLOR_INFO_TOPIC,
    camera_topics,
    explain_silent_topics,
)
from realvlg.errors import InvalidInputError


def test_topics_under_a_realsense_ros_namespace():
    assert camera_topics() == {"color": COLOR_IMAGE_TOPIC, "depth": ALIGNED_DEPTH_IMAGE_TOPIC, "info": COLOR_INFO_TOPIC}
    assert camera_topics("/camera/camera") == camera_topics("camera/camera/")
    assert camera_topics("wrist/d435") == {"color": "/wrist/d435/color/image_raw",
                                           "depth": "/wrist/d435/aligned_depth_to_color/image_raw",
                                           "info": "/wrist/d435/color/camera_info"}
    with pytest.raises(InvalidInputError, match="namespace is empty"):
        camera_topics("/")


def test_silent_topics_are_explained_from_the_ros_graph():
    topics = camera_topics()
    everything = list(topics.values())
    nothing = explain_silent_topics("/camera/camera", everything, {"/rosout", "/other/camera/color/image_raw"})
    assert nothing.startswith("no camera publishes under /camera/camera")
    assert "ros2 launch realsense2_camera rs_launch.py align_depth.enable:=true" in nothing

    unaligned = {topics["color"], topics["info"], "/camera/camera/depth/image_rect_raw", "/camera/camera/depth/camera_info"}
    off = explain_silent_topics("/camera/camera", [topics["depth"]], unaligned)
    assert off.startswith("align_depth is off: the camera publishes /camera/camera/depth/image_rect_raw but not "
                          "/camera/camera/aligned_depth_to_color/image_raw")

    no_info = explain_silent_topics("/camera/camera", [topics["info"]], {topics["color"], topics["depth"]})
    assert no_info == "the camera under /camera/camera does not publish /camera/camera/color/camera_info"

    quiet = explain_silent_topics("/camera/camera", everything, set(everything))
    assert "exist but delivered nothing" in quiet and "QoS" in quiet
