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

:class:`ShadowHandPublisher` is the same adapter for use inside another node (the grasp
pipeline): ``publisher.command(grasp.joints)``.

Parameters: ``topic``, ``target_topic``, ``status_topic`` and the
:class:`~realvlg.robots.ur10e_shadow.hand.ShadowHandConfig` fields (``prefix``, ``naming``,
``include_wrist``, ``max_velocity``, ``min_duration``, ``waypoints``, ``limit_tolerance``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from builtin_interfaces.msg import Duration
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.robots.ur10e_shadow.hand import (
    HandTrajectory,
    ShadowHandCommander,
    ShadowHandConfig,
)
from realvlg.ros.spin import run_node
from realvlg.shadow_hand import SHADOW_JOINTS

HAND_TARGET_TOPIC = "/realvlg/hand_target"
HAND_STATUS_TOPIC = "/realvlg/hand_status"


def trajectory_to_msg(trajectory: HandTrajectory, frame_id: str = "") -> JointTrajectory:
    """A :class:`HandTrajectory` as a ``JointTrajectory`` (stamp zero: start on receipt)."""
    msg = JointTrajectory()
    msg.header.frame_id = frame_id
    msg.joint_names = list(trajectory.joint_names)
    for positions, t in zip(trajectory.positions, trajectory.times):
        ns = round(float(t) * 1e9)
        msg.points.append(JointTrajectoryPoint(positions=positions.tolist(),
                                               time_from_start=Duration(sec=ns // 1_000_000_000,
                                                                        nanosec=ns % 1_000_000_000)))
    return msg


def trajectory_from_msg(msg: JointTrajectory) -> HandTrajectory:
    positions = np.array([list(p.positions) for p in msg.points], dtype=float).reshape(len(msg.points), -1)
    times = np.array([p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points])
    return HandTrajectory(tuple(msg.joint_names), positions, times)


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


class ShadowHandPublisher:
    """Publishes :class:`ShadowHandCommander` trajectories from inside any node."""

    def __init__(self, node: Node, config: ShadowHandConfig = ShadowHandConfig()) -> None:
        self.commander = ShadowHandCommander(config)
        self.publisher = node.create_publisher(JointTrajectory, config.topic, 10)

    def command(self, fingers, start=None, duration: float | None = None) -> JointTrajectory:
        """Check, build and publish; raises (nothing published) on a refused target."""
        msg = trajectory_to_msg(self.commander.trajectory(fingers, start, duration))
        self.publisher.publish(msg)
        return msg


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
