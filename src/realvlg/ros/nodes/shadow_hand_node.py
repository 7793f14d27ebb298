"""shadow_hand_node: Shadow Hand finger targets → ``trajectory_msgs/JointTrajectory`` for the Shadow
Robot driver — a ROS adapter over :class:`realvlg.robots.ur10e_shadow.hand.ShadowHandCommander`.

* subscribes ``sensor_msgs/JointState`` on ``target_topic`` (default ``/realvlg/hand_target``): the
  22 finger joints by realvlg's names (:data:`~realvlg.shadow_hand.SHADOW_JOINTS`, any order),
  positions in radians;
* publishes each valid target as a ``JointTrajectory`` on ``topic`` (default
  ``/rh_trajectory_controller/command``), joint names in the driver's naming, header stamp zero
  (the controller starts it on receipt);
* publishes ``std_msgs/String`` on ``status_topic`` (default ``/realvlg/hand_status``): ``sent: …``
  or ``refused: <reason>`` — a target outside the joint limits, unknown joint names or non-finite
  values publish no trajectory.

:class:`~realvlg.ros.shadow_hand.ShadowHandPublisher` is the same adapter inside another node
(executor_node drives the real hand with it).

Parameters: ``topic``, ``target_topic``, ``status_topic`` and the
:class:`~realvlg.robots.ur10e_shadow.hand.ShadowHandConfig` fields (``prefix``, ``naming``,
``include_wrist``, ``max_velocity``, ``min_duration``, ``waypoints``, ``limit_tolerance``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.robots.ur10e_shadow.hand import (
    ShadowHandConfig,
)
from realvlg.ros.shadow_hand import ShadowHandPublisher
from realvlg.ros.spin import run_node
from realvlg.shadow_hand import SHADOW_JOINTS

HAND_TARGET_TOPIC = "/realvlg/hand_target"
HAND_STATUS_TOPIC = "/realvlg/hand_status"


def fingers_from_joint_state(msg: JointState) -> np.ndarray:
    """The 22 finger angles (SHADOW_JOINTS order) of a JointState naming each exactly once."""
    names = list(msg.name)
    if sorted(names) != sorted(SHADOW_JOINTS) or len(msg.position) != len(names):
        missing = sorted(set(SHADOW_JOINTS) - set(names))
        extra = sorted(set(names) - set(SHADOW_JOINTS))
        raise InvalidInputError(f"a hand target names the {len(SHADOW_JOINTS)} finger joints once each with a "
                                f"position (missing {missing}, unknown {extra}, {len(msg.position)} positions "
                                f"for {len(names)} names)")
    return np.array([msg.position[names.index(j)] for j in SHADOW_JOINTS], dtype=float)


def hand_config(node: Node) -> ShadowHandConfig:
    defaults = ShadowHandConfig()
    values = {f.name: node.declare_parameter(f.name, getattr(defaults, f.name)).value
              for f in dataclasses.fields(ShadowHandConfig)}
    return ShadowHandConfig(**values)


class ShadowHandNode(Node):
    def __init__(self) -> None:
        super().__init__("shadow_hand_node")
        config = hand_config(self)
        target_topic = self.declare_parameter("target_topic", HAND_TARGET_TOPIC).value
        status_topic = self.declare_parameter("status_topic", HAND_STATUS_TOPIC).value
        self.hand = ShadowHandPublisher(self, config)
        self.status = self.create_publisher(String, status_topic, 10)
        self.create_subscription(JointState, target_topic, self._on_target, 10)
        self.get_logger().info(f"hand targets on {target_topic} → trajectories on {config.topic} "
                               f"({config.naming} names, prefix {config.prefix!r})")

    def _on_target(self, msg: JointState) -> None:
        try:
            sent = self.hand.command(fingers_from_joint_state(msg))
        except RealVLGError as exc:
            self.get_logger().error(f"hand target refused: {exc}")
            self.status.publish(String(data=f"refused: {exc}"))
            return
        self.status.publish(String(data=f"sent: {len(sent.joint_names)} joints, "
                                        f"{len(sent.points)} point(s) on {self.hand.publisher.topic_name}"))


def main(args=None) -> None:
    run_node(ShadowHandNode, "shadow_hand_node", args=args)


if __name__ == "__main__":
    main()
