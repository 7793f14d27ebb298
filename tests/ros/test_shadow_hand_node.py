"""shadow_hand_node in its own process: a finger target sent from this process comes back as the
driver's JointTrajectory on the configured controller topic; a target outside the limits is
refused with its reason and publishes nothing."""


import numpy as np
import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from realvlg.ros.process import RosChildProcess
from realvlg.ros.shadow_hand import trajectory_from_msg
from realvlg.shadow_hand import SHADOW_JOINTS, SHADOW_LIMITS
from tests.ros import services

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]
TOPIC = "/handtest/rh_trajectory_controller/command"
TARGETS = "/handtest/target"
STATUS = "/handtest/status"


def _target(values, order):
    return JointState(name=[SHADOW_JOINTS[i] for i in order], position=[float(values[i]) for i in order])


def test_targets_become_driver_trajectories_across_processes():
    rng = np.random.default_rng(3)
    lower, upper = (np.array([SHADOW_LIMITS[j][k] for j in SHADOW_JOINTS]) for k in (0, 1))
    good = rng.uniform(lower, upper)
    bad = good.copy()
    bad[SHADOW_JOINTS.index("FFJ2")] = 2.5
    order = rng.permutation(len(SHADOW_JOINTS))          # names in any order

    node = RosChildProcess(["-m", "realvlg.ros.nodes.shadow_hand_node", "--ros-args", "-p", f"topic:={TOPIC}",
                            "-p", f"target_topic:={TARGETS}", "-p", f"status_topic:={STATUS}",
                            "-p", "min_duration:=2.0"], name="shadow_hand_node")
    context = Context()
    rclpy.init(context=context)
    test_node = rclpy.create_node("shadow_hand_test", context=context)
    trajectories, statuses = [], []
    test_node.create_subscription(JointTrajectory, TOPIC, trajectories.append, 10)
    test_node.create_subscription(String, STATUS, lambda m: statuses.append(m.data), 10)
    targets = test_node.create_publisher(JointState, TARGETS, 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(test_node)

    def spin_until(done, timeout):
        services.spin_until(executor, done, timeout)

    try:
        with node:
            node.wait_for_line("READY", 120)
            spin_until(lambda: targets.get_subscription_count() > 0 and
                       test_node.count_publishers(TOPIC) > 0, 60)
            targets.publish(_target(bad, order))
            spin_until(lambda: len(statuses) >= 1, 30)
            targets.publish(_target(good, order))
            spin_until(lambda: len(statuses) >= 2 and trajectories, 30)
            spin_until(lambda: False, 0.5)                 # anything late would show now
        assert statuses[0].startswith("refused: hand target outside the Shadow Hand's joint limits: FFJ2 = 2.500"), node.tail()
        assert statuses[1].startswith("sent: 24 joints, 1 point(s)"), node.tail()
        assert len(trajectories) == 1
        traj = trajectory_from_msg(trajectories[0])
        assert traj.joint_names[:6] == ("rh_WRJ2", "rh_WRJ1", "rh_FFJ4", "rh_FFJ3", "rh_FFJ2", "rh_FFJ1")
        assert np.allclose(traj.positions[0, 2:], good) and np.array_equal(traj.positions[0, :2], [0, 0])
        assert traj.times.tolist() == [2.0]
        assert trajectories[0].header.stamp.sec == 0 and trajectories[0].header.stamp.nanosec == 0
    finally:
        executor.shutdown()
        test_node.destroy_node()
        context.try_shutdown()
