import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor


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
