import os
import pathlib

import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

from realvlg.ros.process import RosChildProcess

PEERS = pathlib.Path(__file__).resolve().parent / "ros_peers"
PEER_START_TIMEOUT = 90.0      # peer interpreter start + imports + node up, on a loaded machine


@pytest.fixture
def ros():
    """(client node, executor) on a ROS context of their own."""
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node("test_client", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    yield node, executor
    executor.shutdown()
    node.destroy_node()
    context.try_shutdown()


@pytest.fixture
def start_peer():
    """start_peer(script, *args) → a running peer that printed READY; all are stopped at teardown."""
    peers = []

    def start(script: str, *args) -> RosChildProcess:
        # a namespace of its own: other suites on this machine may share the ROS domain
        namespace = f"/realvlg_test_{os.getpid()}_{len(peers)}"
        peer = RosChildProcess([PEERS / script, *args, "--ros-args", "-r", f"__ns:={namespace}"], cwd=PEERS)
        peer.namespace = namespace
        peers.append(peer)
        peer.start().wait_for_line("READY", PEER_START_TIMEOUT)
        return peer

    yield start
    for peer in peers:
        peer.stop()
