"""executor_node: the robot behind ``/realvlg/execute_grasp`` — a ROS adapter over one
:class:`~realvlg.robots.executor.Executor`, chosen by ``robot`` (:mod:`realvlg.ros.robots`):
``franka`` (franky: the real FR3, or franky-sim) or ``ur10e_shadow`` (ur_rtde + the Shadow Hand's
trajectory controller).

* ``ExecuteGrasp``: every check (type and frame, limits, reachability) runs before any motion;
  ``dry_run`` runs only the checks. A ``hand_joints`` request is a hand's grasp (palm pose).
* ``/realvlg/home`` (``std_srvs/Trigger``): back to the home / observation pose.
* publishes the end-effector pose (``/realvlg/ee_pose``, base←``tcp_frame``: the FR3's TCP, the
  Shadow palm) at ``state_rate`` Hz — the grasp node takes the pose at each image's timestamp
  from it — and, as robot_state_publisher would, the robot's ``/joint_states``, its
  ``robot_description`` (parameter and latched topic) and the whole chain on ``/tf`` (fixed joints
  on ``/tf_static``): :class:`~realvlg.ros.tf.RobotStatePublisher`.

Connecting happens at start-up: a robot that does not answer ends the node with that reason (no
half-alive executor). Later the link is supervised (:class:`~realvlg.robots.link.LinkMonitor`):
a lost robot is "robot not reachable" on ``/diagnostics`` and the latched ``/realvlg/robot_status``
(:mod:`realvlg.ros.link_status`), a motion in flight ends with ``ROBOT_ERROR``, and the node
reconnects once the robot answers again (docs/reliability.md); every robot call answers within
``motion_timeout`` even when the client library blocks for good, and a call made while the link
is down waits up to ``reconnect_wait`` s for the reconnect before it is refused.

Parameters (``config/executor_*.yaml``): ``robot``, ``base_frame``, ``tcp_frame``, ``state_rate``,
``motion_timeout``, ``reconnect_wait`` and the robot's own (:mod:`realvlg.ros.robots`).

``ExecuteGrasp`` answers ``code`` ``DONE``, ``REFUSED`` (a check failed, nothing moved; ``UNREACHABLE``: the
workspace or IK check), ``FAILED``
(executed, nothing held), ``ROBOT_ERROR`` (a rejected command or a lost connection) or ``ERROR``,
and the ``stage`` reached.
"""

from __future__ import annotations

import threading

from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from scipy.spatial.transform import Rotation
from std_srvs.srv import Trigger

from realvlg.errors import GraspRefusedError, InvalidInputError, RealVLGError, UnreachableError
from realvlg.geometry.grasps import Grasp6D
from realvlg.robots.executor import DeadlineGuard
from realvlg.robots.link import LinkMonitor
from realvlg.ros import names
from realvlg.ros.conversions import grasp_from_pose_stamped, grasp_to_pose_stamped
from realvlg.ros.link_status import LinkStatusPublisher
from realvlg.ros.robots import FRAMES, make_executor, robot_description
from realvlg.ros.spin import answer_always, run_node
from realvlg.ros.tf import RobotStatePublisher
from realvlg_interfaces.msg import StageTiming
from realvlg_interfaces.srv import ExecuteGrasp


class ExecutorNode(Node):
    def __init__(self) -> None:
        super().__init__("executor_node")
        robot = self.declare_parameter("robot", "franka").value
        base, tcp = FRAMES.get(robot, FRAMES["franka"])
        self.base_frame = self.declare_parameter("base_frame", base).value
        self.tcp_frame = self.declare_parameter("tcp_frame", tcp).value
        rate = self.declare_parameter("state_rate", 50.0).value
        self.robot = make_executor(self, robot, self.base_frame)
        self._motion = threading.Lock()  # held by each robot call's thread (DeadlineGuard)
        lost = lambda: self.link.lost_for(1.0)  # noqa: E731  (a motion in flight: the robot's own error path first)
        self._bounded = DeadlineGuard(self.declare_parameter("motion_timeout", 90.0).value, self._motion, lost,
                                      on_lost=self.robot.disconnect,
                                      reconnect_wait=self.declare_parameter("reconnect_wait", 10.0).value,
                                      unreachable=lambda: self.link.lost_for(0.0))  # a new call: any loss
        self.robot.connect()  # raises RobotUnreachableError with the reason
        self.link = LinkMonitor(self.robot, self._motion, on_reconnect=self._bounded.clear,
                                reclaim=self._bounded.reclaim)
        self.link_status = LinkStatusPublisher(self, self.link, robot)
        self.pose_pub = self.create_publisher(PoseStamped, names.EE_POSE_TOPIC, 50)
        self.state = RobotStatePublisher(self, robot_description(robot))
        requests = MutuallyExclusiveCallbackGroup()
        self.create_service(ExecuteGrasp, names.EXECUTE_GRASP_SERVICE, answer_always(self, self._on_grasp), callback_group=requests)
        self.create_service(Trigger, names.HOME_SERVICE, answer_always(self, self._on_home), callback_group=requests)
        # its own exclusive group: when the connection hangs, at most one state read waits on it
        self.create_timer(1.0 / rate, self._publish_state, callback_group=MutuallyExclusiveCallbackGroup())
        self.get_logger().info(f"connected to the {robot} robot ({type(self.robot).__name__})")

    def _publish_state(self) -> None:
        reading = self.link.poll()  # never raises: a link blip is a status, reconnected when back
        self.link_status.publish(self.link.status)  # a read that blocks: the publisher's watchdog
        if reading is None:
            return
        matrix, joints = reading.pose, reading.joints
        stamp = self.get_clock().now().to_msg()
        tcp = Grasp6D(matrix[:3, 3], Rotation.from_matrix(matrix[:3, :3]), 0.0, self.base_frame)
        self.pose_pub.publish(grasp_to_pose_stamped(tcp, stamp))
        self.state.publish(joints, stamp)

    def _on_grasp(self, request, response):
        try:
            grasp = grasp_from_pose_stamped(request.pose, request.width, hand_joints=request.hand_joints)
            if request.dry_run:
                self.robot.check(grasp)
                response.success, response.stage, response.message = True, "check", "checks passed (dry run, no motion)"
                return response
            result = self._bounded(lambda: self.robot.grasp(grasp), "the grasp")
        except (GraspRefusedError, InvalidInputError) as exc:  # refused before any motion
            response.code = response.UNREACHABLE if isinstance(exc, UnreachableError) else response.REFUSED
            response.stage, response.message = "check", str(exc)
            return response
        except RealVLGError as exc:  # the connection failed
            response.code, response.stage, response.message = response.ROBOT_ERROR, "connect", str(exc)
            return response
        response.success, response.holding, response.stage = result.success, bool(result.holding or result.success), result.stage
        response.code = response.DONE if result.success else (response.ROBOT_ERROR if result.fault else response.FAILED)
        response.message = "holding the object after the lift" if result.success else result.reason
        response.timings = [StageTiming(stage=k, seconds=float(v)) for k, v in result.timings.items()]
        return response

    def shutdown(self) -> None:
        self.robot.disconnect()

    def _on_home(self, request, response):
        try:
            self._bounded(lambda: (self.robot.home(), self.robot.open()), "going home")
            response.success, response.message = True, "home"
        except RealVLGError as exc:
            response.success, response.message = False, str(exc)
        return response


def main(args=None) -> None:
    run_node(ExecutorNode, "executor_node", threads=4, args=args)


if __name__ == "__main__":
    main()
