"""The grasp node's camera input: colour, aligned depth and colour camera_info of a camera that
publishes as realsense-ros does (realvlg's own camera nodes, or a running realsense2_camera), under
a namespace, fed into a :class:`~realvlg.grasping.capture.FrameCapture`.

QoS: best effort, keep last 5, volatile (``qos_profile_sensor_data``) — it matches realsense-ros's
defaults (images ``SYSTEM_DEFAULT`` and camera_info ``DEFAULT``: reliable, volatile) and a driver set
to ``SENSOR_DATA`` alike; a lost image is replaced by the next one. A capture that hears nothing
says which topics stayed silent and why, from the topics the ROS graph has
(:func:`realvlg.cameras.topics.explain_silent_topics`: no camera, ``align_depth`` off, …).
"""

from __future__ import annotations

from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from realvlg.cameras.topics import explain_silent_topics
from realvlg.grasping.capture import CaptureError, FrameCapture
from realvlg.observation import RGBDFrame
from realvlg.ros.conversions import stamp_from_msg

MESSAGE_TYPES = {"color": Image, "depth": Image, "info": CameraInfo}


class CameraInput:
    """Subscribes ``frames.topics`` (stream → topic, see :func:`realvlg.cameras.topics.camera_topics`)."""

    def __init__(self, node, frames: FrameCapture, namespace: str, callback_group=None):
        self.node, self.frames, self.namespace = node, frames, namespace
        for stream, topic in frames.topics.items():
            node.create_subscription(MESSAGE_TYPES[stream], topic,
                                     lambda m, s=stream: frames.sync.add(s, stamp_from_msg(m.header.stamp), m),
                                     qos_profile_sensor_data, callback_group=callback_group)

    def capture(self, now: float) -> RGBDFrame:
        """:meth:`FrameCapture.capture`; when streams stayed silent, the error says why."""
        try:
            return self.frames.capture(now)
        except CaptureError as exc:
            if not exc.silent:
                raise
            published = {name for name, _ in self.node.get_topic_names_and_types()   # not our own subscriptions
                         if self.node.count_publishers(name) > 0}
            reason = explain_silent_topics(self.namespace, [self.frames.topics[s] for s in exc.silent], published)
            raise CaptureError(f"{exc}; {reason}", exc.silent) from None
