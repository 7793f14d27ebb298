"""Liveness of the services a node depends on, by DDS liveliness rather than graph polling.

Fast DDS notices a SIGKILLed peer's participant only after ~20 s (its participant lease), too late
to answer a caller. So every realvlg node announces each service it serves with a liveliness
topic, ``<service>/alive`` (:func:`alive_topic`): a ``std_msgs/Empty`` writer with
``LIVELINESS_AUTOMATIC`` and a :data:`LEASE` s lease — the middleware asserts it while the process
lives and nothing is ever published. A client's :class:`ServiceWatch` subscribes with the same
QoS; its ``liveliness_changed`` event says when the server's writer stopped asserting (the process
died or froze), and :func:`call_with_timeout` — the one service call of every realvlg client, a
node's dependency or ``realvlg grasp`` — then fails the call in flight. Measured figures:
docs/reliability.md.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from rclpy.duration import Duration
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import DurabilityPolicy, LivelinessPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Empty

from realvlg.grounding.backend import BackendError

LEASE = 1.0  # s: a server silent this long has lost its liveliness …
GRACE = 0.3  # s: … and counts as dead once the loss lasted this long (on a loaded machine an assertion
             # can come past the lease: the loss then ends within ms; seen under a load of 12 on 2 cores)
SIGHT = 5.0  # s: a live server's writer is seen by a new watch within ~0.35 s (idle machine); one still
             # listed in the graph but not seen by then is a dead process the graph has not yet purged
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
    was seen and then lost for :data:`GRACE` s, or when the graph lists writers none of which was
    seen alive within :data:`SIGHT` s of being listed (Fast DDS keeps a SIGKILLed participant's
    endpoints listed for ~20 s, and a reader that matches them never sees them assert).
    ``pending``: a writer listed less than SIGHT s ago that was never listed while the server was
    alive — a server starting; wait for it before sending. A server that announces nothing is
    never dead here (the call's wait for the service reports an absent one). One watch per service
    and process: Fast DDS reports a writer's liveliness to the first matching reader of a
    participant only (measured)."""

    def __init__(self, node, service: str, callback_group=None):
        self.service, self.alive_count, self.seen, self.lost_at = service, 0, False, None
        self.looked = False   # a sight wait ended without seeing it: a server that announces nothing
        self._node, self._first_listed = node, {}   # writer gid → when this watch first saw it listed
        self._listed_alive: set[bytes] = set()      # writers listed while the server was alive
        self._sub = node.create_subscription(
            Empty, alive_topic(service), lambda _: None, ALIVE_QOS, callback_group=callback_group,
            event_callbacks=SubscriptionEventCallbacks(liveliness=self._on_liveliness))

    def _on_liveliness(self, info) -> None:
        self.alive_count = info.alive_count
        if info.alive_count > 0:
            self.seen = True
            self._listed_alive |= set(self._listed_ages())
        self.lost_at = (self.lost_at or time.monotonic()) if self.seen and info.alive_count == 0 else None

    def _listed_ages(self) -> dict[bytes, float]:
        """For each liveliness writer the graph lists now: seconds since this watch first saw it."""
        now = time.monotonic()
        gids = {bytes(i.endpoint_gid) for i in self._node.get_publishers_info_by_topic(alive_topic(self.service))}
        self._first_listed = {g: self._first_listed.get(g, now) for g in gids}
        return {g: now - t for g, t in self._first_listed.items()}

    @property
    def pending(self) -> bool:
        return self.alive_count == 0 and any(age < SIGHT for g, age in self._listed_ages().items()
                                             if g not in self._listed_alive)

    @property
    def losing(self) -> bool:
        """A loss younger than :data:`GRACE` s: a death, or a late assertion (:attr:`dead` says which)."""
        return self.alive_count == 0 and self.lost_at is not None and time.monotonic() - self.lost_at < GRACE

    @property
    def dead(self) -> str:
        if self.alive_count > 0:
            return ""
        if self.lost_at is not None and time.monotonic() - self.lost_at >= GRACE:
            return (f"its server stopped answering (no liveliness on {alive_topic(self.service)} for "
                    f"{LEASE + GRACE:g} s)")
        ages = [] if self.seen else self._listed_ages().values()
        if ages and min(ages) >= SIGHT:
            return (f"its server is listed in the ROS graph but not alive (no liveliness on "
                    f"{alive_topic(self.service)} within {SIGHT:g} s): it died recently")
        return ""

    def wait_for_sight(self, wait: Callable[[float], object], restart: float = 0.0) -> None:
        """Before a call is sent: wait (≤ :data:`SIGHT` s) until the server's liveliness was seen and
        no listed writer is still starting, or its death during the call goes unnoticed (a new watch
        sees a live server ~0.35 s after it starts; the ROS graph may list its service sooner), and
        a restarting server is waited for rather than refused; a loss heard only now (a client that
        spins only during its calls) is judged after its GRACE, not sent into. ``restart``: also
        wait up to that many seconds for a server that died earlier to be alive again, though its
        new writer is not listed yet (a supervised node restarting; this participant may discover
        it seconds after its service). ``wait(s)`` sleeps or spins s seconds. A server that
        announces no liveliness (not a realvlg node) costs SIGHT s once per watch."""
        start = time.monotonic()
        while ((self.pending or not (self.seen or self.looked) or self.losing) and time.monotonic() < start + SIGHT
               or self.dead and time.monotonic() < start + restart):
            wait(0.05)
        self.looked = self.looked or not self.seen


def call_with_timeout(client, request, timeout: float, server: str, watch: ServiceWatch | None = None,
                      spin: Callable[[float], object] | None = None, after_death: str = "", restart: float = 0.0):
    """Call ``client``'s service and return the answer; :class:`~realvlg.grounding.backend.BackendError`
    naming ``server`` when the service is absent, its server is down, does not answer within
    ``timeout`` s, or dies or freezes during the call (``watch``, checked every 0.1 s; the
    pending request is dropped; ``after_death`` ends that message). ``spin(s)``: how to wait when
    no other thread spins the client's node (:class:`~realvlg.ros.graph_client.GraphClient`); by
    default the answer arrives on another thread of a multi-threaded executor. ``restart``: how long
    a server that died before the call may take to be back (:meth:`ServiceWatch.wait_for_sight`);
    0, a node's dependency: refused at once, within the 2 s bound of a dependency's death."""
    done = threading.Event()
    wait = spin or done.wait
    deadline = time.monotonic() + timeout
    if not client.wait_for_service(timeout_sec=min(timeout, 5.0)):
        raise BackendError(f"{server} is not running (no {client.srv_name} service)")
    if watch is not None:
        watch.wait_for_sight(spin or time.sleep, restart)
        if watch.dead:
            raise BackendError(f"{server} is down: {watch.dead}")
    future = client.call_async(request)
    future.add_done_callback(lambda _: done.set())
    while not future.done():
        wait(min(0.1, max(0.0, deadline - time.monotonic())))
        if future.done():
            break
        if watch is not None and watch.dead:
            client.remove_pending_request(future)
            raise BackendError(f"{server} died during the request: {watch.dead}{after_death}")
        if time.monotonic() >= deadline:
            client.remove_pending_request(future)
            raise BackendError(f"{server} did not answer within {timeout:.0f} s")
    if future.exception() is not None:
        raise BackendError(f"{server} failed: {future.exception()}")
    return future.result()
