"""Running a realvlg node as a process: one ``main`` for every node in ``realvlg/ros/nodes``."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable

import rclpy
from rclpy._rclpy_pybind11 import RCLError
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from realvlg.errors import RealVLGError
from realvlg.ros.executor import DispatchingExecutor
from realvlg.ros.liveness import announce_services

READY_PREFIX = "READY"  # `realvlg up` waits for "READY <node name>" on each node's output


def run_node(make_node: Callable[[], Node], name: str, threads: int = 1, args=None) -> None:
    """Build the node, say READY, spin until Ctrl-C / SIGTERM, then clean up (the node's own
    ``shutdown()`` first, if it has one). A :class:`RealVLGError` while building (a robot or camera
    that does not answer, a bad parameter) ends the process with ``<name>: cannot start: <reason>``
    and exit code 1 — no half-alive node. Discovery stays on this machine unless the user set
    ``ROS_AUTOMATIC_DISCOVERY_RANGE``. Each service the node serves is announced with a liveliness
writer (:func:`realvlg.ros.liveness.announce_services`): clients see its death within a second.
    A response rclpy could not send (its client never matched, config/fastdds.xml) is logged each
    time, not only the first (Python shows a warning once per place by default)."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")  # opt in to other machines (docs/ros.md)
    warnings.filterwarnings("always", message="failed to send response", category=RuntimeWarning)
    rclpy.init(args=args)
    try:
        node = make_node()
    except RealVLGError as exc:
        print(f"{name}: cannot start: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        sys.exit(1)
    alive = announce_services(node)  # noqa: F841  (kept for the process's life: liveliness writers)
    executor = SingleThreadedExecutor() if threads == 1 else DispatchingExecutor(num_threads=threads)
    executor.add_node(node)
    print(f"{READY_PREFIX} {node.get_name()}", flush=True)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RCLError:
        if rclpy.ok():
            raise  # a real failure; with the context shut down by SIGTERM it is the shutdown itself
    finally:
        for cleanup in (getattr(node, "shutdown", None), node.destroy_node):
            try:
                if cleanup is not None:
                    cleanup()
            except RCLError as exc:  # the signal handler already shut the context down
                print(f"{name}: while shutting down: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()


def answer_always(node: Node, callback: Callable):
    """``callback`` as a service callback that cannot raise: any exception becomes a failed response
    (``success`` False, ``code`` = the response's ``ERROR`` constant where it has one, the reason in
    ``message``) and an error in the node's log — a malformed request never ends the node."""

    def wrapper(request, response):
        try:
            return callback(request, response)
        except Exception as exc:  # the one place exceptions of a service callback end
            reason = f"{type(exc).__name__}: {exc}"
            node.get_logger().error(f"{getattr(callback, '__name__', 'service')}: {reason}")
            for field, value in (("success", False), ("code", getattr(response, "ERROR", None)),
                                 ("message", f"request failed: {reason}")):
                if hasattr(response, field) and value is not None:
                    setattr(response, field, value)
            return response

    return wrapper
