"""Shadow Hand trajectories on ROS: :class:`~realvlg.robots.ur10e_shadow.hand.HandTrajectory` ↔
``trajectory_msgs/JointTrajectory``, and :class:`ShadowHandPublisher`, the commander inside any
node (shadow_hand_node; executor_node drives the real hand with it)."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from realvlg.robots.ur10e_shadow.hand import HandTrajectory, ShadowHandCommander, ShadowHandConfig


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


class ShadowHandPublisher:
    """Publishes :class:`ShadowHandCommander` trajectories from inside any node."""

    def __init__(self, node, config: ShadowHandConfig = ShadowHandConfig()) -> None:
        self.commander = ShadowHandCommander(config)
        self.publisher = node.create_publisher(JointTrajectory, config.topic, 10)

    def command(self, fingers, start=None, duration: float | None = None) -> JointTrajectory:
        """Check, build and publish; raises (nothing published) on a refused target."""
        msg = trajectory_to_msg(self.commander.trajectory(fingers, start, duration))
        self.publisher.publish(msg)
        return msg

    def send(self, fingers) -> float:
        """Publish a move to ``fingers`` and return how long it takes [s] (the RTDE backend's ``send_hand``)."""
        msg = self.command(fingers)
        last = msg.points[-1].time_from_start
        return last.sec + last.nanosec * 1e-9
