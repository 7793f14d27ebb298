"""The robot link's state on ROS: :class:`~realvlg.robots.link.LinkStatus` as
``diagnostic_msgs/DiagnosticStatus`` — level OK (reachable) or ERROR ("robot not reachable: …"),
name ``<node>: robot link``, ``hardware_id`` the robot's address, values ``reachable``,
``since_s`` (seconds in this state), ``losses``, ``reconnects`` — on ``/diagnostics`` (a
``DiagnosticArray`` once a second and at each change, as diagnostic_updater does) and on the
latched :data:`~realvlg.ros.names.ROBOT_STATUS_TOPIC` at each change (a late subscriber gets the
current state).
"""

from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

from realvlg.robots.link import LinkMonitor, LinkStatus
from realvlg.ros import names
from realvlg.ros.tf import LATCHED


class LinkStatusPublisher:
    """Publishes ``monitor``'s status; its own watchdog timer (own callback group, 4 Hz) calls
    :meth:`LinkMonitor.watch`, so a state read that blocks is reported too."""

    def __init__(self, node, monitor: LinkMonitor, hardware_id: str, period: float = 1.0):
        self.node, self.monitor, self.hardware_id, self.period = node, monitor, hardware_id, period
        self._lock = threading.Lock()
        self._diagnostics = node.create_publisher(DiagnosticArray, names.DIAGNOSTICS_TOPIC, 10)
        self._latched = node.create_publisher(DiagnosticStatus, names.ROBOT_STATUS_TOPIC, LATCHED)
        self._last: tuple[bool, str] | None = None
        self._last_diag = 0.0
        node.create_timer(0.25, lambda: self.publish(monitor.watch()), callback_group=MutuallyExclusiveCallbackGroup())

    def message(self, status: LinkStatus) -> DiagnosticStatus:
        return DiagnosticStatus(
            level=DiagnosticStatus.OK if status.reachable else DiagnosticStatus.ERROR,
            name=f"{self.node.get_name()}: robot link", message=status.message, hardware_id=self.hardware_id,
            values=[KeyValue(key="reachable", value=str(status.reachable).lower()),
                    KeyValue(key="since_s", value=f"{time.monotonic() - status.since:.2f}"),
                    KeyValue(key="losses", value=str(status.losses)),
                    KeyValue(key="reconnects", value=str(status.reconnects))])

    def publish(self, status: LinkStatus) -> None:
        """Publish when the state changed or the diagnostics period passed; log each change."""
        with self._lock:
            self._publish(status)

    def _publish(self, status: LinkStatus) -> None:
        key, now = (status.reachable, status.message if status.reachable else ""), time.monotonic()
        changed = key != self._last
        if not changed and now - self._last_diag < self.period:
            return
        msg = self.message(status)
        array = DiagnosticArray(status=[msg])
        array.header.stamp = self.node.get_clock().now().to_msg()
        self._diagnostics.publish(array)
        self._last_diag = now
        if changed:
            self._latched.publish(msg)
            self._last = key
            if status.reachable:  # rclpy wants one severity per call site
                self.node.get_logger().info(status.message)
            else:
                self.node.get_logger().error(status.message)
