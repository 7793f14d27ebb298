"""Liveness of the services a node depends on, by DDS liveliness rather than graph polling.

Fast DDS notices a SIGKILLed peer's participant only after ~20 s (its participant lease), too late
to answer a caller. So every realvlg node announces each service it serves with a liveliness
topic, ``<service>/alive`` (:func:`alive_topic`): a ``std_msgs/Empty`` writer with
``LIVELINESS_AUTOMATIC`` and a :data:`LEASE` s lease — the middleware asserts it while the process
lives and nothing is ever published. A client's :class:`ServiceWatch` subscribes with the same
QoS; its ``liveliness_changed`` event says when the server's writer stopped asserting (the process
died or froze), and :func:`~realvlg.ros.ground_client.call_with_timeout` then fails the call in
flight. Measured figures: docs/reliability.md.
"""

from __future__ import annotations

from rclpy.duration import Duration
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import DurabilityPolicy, LivelinessPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Empty

LEASE = 1.0  # s: a server silent this long counts as dead
ALIVE_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE,
                       liveliness=LivelinessPolicy.AUTOMATIC, liveliness_lease_duration=Duration(seconds=LEASE))


def alive_topic(service: str) -> str:
    return f"{service.rstrip('/')}/alive"


# the services rclpy adds to every node (parameters, type descriptions): not announced
_BUILTIN = {"describe_parameters", "get_parameter_types", "get_parameters", "get_type_description",
            "list_parameters", "set_parameters", "set_parameters_atomically"}


def announce_services(node) -> list:
    """A liveliness writer for each service ``node`` serves itself (not rclpy's built-in parameter
    services, not action internals). Call once the node built its services; keep the returned
    publishers."""
    own = node.get_fully_qualified_name().rstrip("/") + "/"
    return [node.create_publisher(Empty, alive_topic(s.srv_name), ALIVE_QOS) for s in node.services
            if not (s.srv_name.startswith(own) and s.srv_name[len(own):] in _BUILTIN) and "/_action/" not in s.srv_name]


class ServiceWatch:
    """Whether the server of ``service`` is alive. ``dead`` is a reason once its liveliness writer
    was seen and then lost; never-seen counts as not dead (the call's wait for the service
    reports an absent server)."""

    def __init__(self, node, service: str, callback_group=None):
        self.service, self.alive_count, self.seen = service, 0, False
        self._sub = node.create_subscription(
            Empty, alive_topic(service), lambda _: None, ALIVE_QOS, callback_group=callback_group,
            event_callbacks=SubscriptionEventCallbacks(liveliness=self._on_liveliness))

    def _on_liveliness(self, info) -> None:
        self.alive_count = info.alive_count
        self.seen = self.seen or info.alive_count > 0

    @property
    def dead(self) -> str:
        if self.seen and self.alive_count == 0:
            return f"its server stopped answering (no liveliness on {alive_topic(self.service)} for {LEASE:.0f} s)"
        return ""
