"""TF as ROS nodes exchange it: static transforms published latched, a ``/tf_static`` listener
filling a :class:`~realvlg.geometry.tf_tree.TransformTree`, and robot_state_publisher's job for a
URDF (:class:`RobotStatePublisher`).

``/tf_static`` follows tf2's static broadcaster: transient-local, reliable, and each publisher
sends all its static transforms in one ``TFMessage`` (a late subscriber gets the last message of
every publisher). ``/tf`` is volatile.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage

from realvlg.errors import InvalidInputError
from realvlg.geometry.tf_tree import TransformTree
from realvlg.geometry.transforms import Transform
from realvlg.robots.urdf import UrdfKinematics
from realvlg.ros import names
from realvlg.ros.conversions import transform_from_msg, transform_to_msg

LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
STATIC_LISTENER = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)


def publish_static(node, transforms: list[Transform]):
    """Publish ``transforms`` once, latched, on ``/tf_static``; returns the publisher (keep it alive)."""
    publisher = node.create_publisher(TFMessage, names.TF_STATIC_TOPIC, LATCHED)
    stamp = node.get_clock().now().to_msg()
    publisher.publish(TFMessage(transforms=[transform_to_msg(t, stamp) for t in transforms]))
    return publisher


class StaticTransformListener:
    """``/tf_static`` into :attr:`tree`; an edge that would give a frame a second parent is logged
    and left out (the first publisher keeps the frame)."""

    def __init__(self, node, tree: TransformTree | None = None, callback_group=None):
        self.node, self.tree = node, tree if tree is not None else TransformTree()
        node.create_subscription(TFMessage, names.TF_STATIC_TOPIC, self._on_static, STATIC_LISTENER,
                                 callback_group=callback_group)

    def _on_static(self, msg: TFMessage) -> None:
        for t in msg.transforms:
            try:
                self.tree.add(transform_from_msg(t))
            except InvalidInputError as exc:
                self.node.get_logger().error(f"/tf_static: {exc}", throttle_duration_sec=10.0)


class RobotStatePublisher:
    """What robot_state_publisher does for ``urdf``: the ``robot_description`` parameter and latched
    topic, the fixed joints on ``/tf_static`` once, and per :meth:`publish` the joint positions on
    ``/joint_states`` and the moving joints on ``/tf``."""

    def __init__(self, node, urdf: str):
        self.node, self.kinematics = node, UrdfKinematics(urdf)
        node.declare_parameter("robot_description", urdf)
        self._description = node.create_publisher(String, names.ROBOT_DESCRIPTION_TOPIC, LATCHED)
        self._description.publish(String(data=urdf))
        self._static = publish_static(node, self.kinematics.fixed_transforms())
        self._joints = node.create_publisher(JointState, names.JOINT_STATES_TOPIC, 10)
        self._tf = node.create_publisher(TFMessage, names.TF_TOPIC, 50)

    def publish(self, positions: dict[str, float], stamp) -> None:
        """``positions`` [rad, m] by joint name (every moving joint of the description), ``stamp`` a
        ``builtin_interfaces/Time``."""
        msg = JointState(name=list(positions), position=[float(v) for v in positions.values()])
        msg.header.stamp = stamp
        self._joints.publish(msg)
        self._tf.publish(TFMessage(transforms=[transform_to_msg(t, stamp)
                                               for t in self.kinematics.moving_transforms(positions)]))
