"""dex_grasp_node: ``/grasp`` for the UR10e + Shadow Hand — a ROS adapter over
:class:`realvlg.grasping.attempt.GraspAttempt` with the DexVLG planner
(:class:`~realvlg.grasping.dex_planner.DexPlanner`) on the simulated robot
(:mod:`realvlg.sim.ur10e_shadow_world`, executed by the shared UR10e + Shadow grasp stages).

One request: the arm to the observation pose (hand open) → the wrist RGB-D frame with the
renderer's part labels → the instruction's object and part → ``samples`` grasps from the DexVLG
checkpoint ``model``, ranked with the Shadow Hand → the first the executor can plan → executed.
The response is the gripper node's (``code``, ``message``, ``pose`` = the palm in ``base``,
``width`` NaN, ``hand_joints``, ``strategy_used`` ``dexvlg``, ``timings``, ``run_dir``).

Publishes for RViz (the URDF of :mod:`realvlg.robots.ur10e_shadow.description`): the robot
description and joint states (transient local), the planned arm + predicted finger joints (feed a
second ``robot_state_publisher`` with ``frame_prefix`` ``predicted/``), the scene cloud (frame
``base``), and the gripper node's grasp pose and overlay. A real UR10e + Shadow Hand needs a
part-labelled RGB-D source, which realvlg does not have yet: ``robot`` other than ``sim`` is refused.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import JointState, PointCloud2
from std_msgs.msg import String

from realvlg.errors import InvalidInputError
from realvlg.frames import TOOL0_T_PALM, UR_BASE_FRAME
from realvlg.graph import run_path
from realvlg.grasping.attempt import AttemptConfig, GraspAttempt
from realvlg.ros import names
from realvlg.ros.attempt_io import REQUEST_QOS, AttemptPublisher, fill_result, run_goal, run_request
from realvlg.ros.conversions import make_header, points_to_pointcloud2
from realvlg.ros.params import declare_config
from realvlg.ros.spin import answer_always, run_node
from realvlg_interfaces.action import Grasp as GraspAction
from realvlg_interfaces.srv import Grasp as GraspSrv

LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class DexGraspNode(Node):
    def __init__(self) -> None:
        super().__init__("dex_grasp_node")
        from realvlg.dexvlg.model import DexVLG
        from realvlg.dexvlg.planner import DexGraspPlanner, DexPlannerConfig
        from realvlg.grasping.dex_planner import DexPlanner
        from realvlg.robots.ur10e_shadow.description import robot_description
        from realvlg.robots.ur10e_shadow.kinematics import UR10eReach
        from realvlg.sim.ur10e_shadow_world import (
            D415CameraConfig,
            UR10eShadowWorld,
            UR10eShadowWorldConfig,
            sim_executor,
            ur10e_scene,
        )

        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        robot = p("robot", "sim")
        if robot != "sim":
            raise InvalidInputError(f"dex_grasp_node runs robot 'sim' only (got {robot!r}): a real UR10e + Shadow "
                                    "Hand needs a part-labelled RGB-D scene source, which realvlg does not have yet")
        objects = list(p("objects", ["mug", "orange", "bottle"]))
        config = UR10eShadowWorldConfig(camera=D415CameraConfig(int(p("width", 320)), int(p("height", 180))))
        self.world = UR10eShadowWorld(ur10e_scene(p("setting", "clutter"), int(p("seed", 0)), objects, config), config)
        self.arm = sim_executor(self.world)
        model = DexVLG.from_pretrained(p("model", "dexvlg-sim"))
        planner = DexGraspPlanner(model, config=DexPlannerConfig(int(p("samples", 16)), int(p("flow_steps", 10))),
                                  reach=UR10eReach())
        attempt_config = declare_config(self, AttemptConfig())
        attempt_config = dataclasses.replace(attempt_config, run_root=str(run_path(attempt_config.run_root)))

        self.description = self.create_publisher(String, p("description_topic", "/realvlg/dex/robot_description"), LATCHED)
        self.joint_states = self.create_publisher(JointState, p("joint_states_topic", "/realvlg/dex/joint_states"), LATCHED)
        self.predicted = self.create_publisher(JointState, p("predicted_topic", "/realvlg/dex/predicted_joint_states"), 10)
        self.cloud = self.create_publisher(PointCloud2, p("cloud_topic", "/realvlg/dex/scene_cloud"), 2)
        self.io = AttemptPublisher(self)
        self.attempt = GraspAttempt(self._capture, DexPlanner(planner), self.arm, attempt_config, on_plan=self._publish_plan, recorders=[self.io.record])
        self.description.publish(String(data=robot_description()))
        self._publish_state()
        self.create_service(GraspSrv, names.GRASP_SERVICE, answer_always(self, self._on_grasp), qos_profile=REQUEST_QOS)
        self._action = run_goal(self, GraspAction, names.GRASP_ACTION, self.attempt, None)
        self.get_logger().info(f"/grasp (shadow hand, simulation): objects {', '.join(self.world.active)}")

    def _joint_state(self, arm_q, fingers) -> JointState:
        from realvlg.robots.ur10e_shadow.description import JOINT_NAMES

        msg = JointState(header=make_header("", time.time()), name=list(JOINT_NAMES))
        msg.position = [float(v) for v in np.concatenate([arm_q, fingers])]
        return msg

    def _publish_state(self) -> None:
        self.joint_states.publish(self._joint_state(self.world.arm_q(), self.world.hand_q()))

    def _capture(self):
        """The observation pose, hand open, then the labelled wrist frame."""
        self.arm.home()
        frame = self.world.render()
        self._publish_state()
        return frame

    def _publish_plan(self, frame, plan, grasp) -> None:
        from realvlg.dexvlg.planner import DexScene
        from realvlg.robots.ur10e_shadow.kinematics import solve_ik

        scene = DexScene.from_frame(frame)
        self.cloud.publish(points_to_pointcloud2(scene.points.astype(np.float32), (scene.colors * 255).astype(np.uint8),
                                                 UR_BASE_FRAME, time.time()))
        ik = solve_ik(grasp.homogeneous() @ np.linalg.inv(TOOL0_T_PALM), self.world.arm_q())
        self.predicted.publish(self._joint_state(ik.q if ik.reachable else self.world.arm_q(), grasp.joints))
        self.io.publish_plan(frame, plan, grasp)

    def _on_grasp(self, request, response):
        out = run_request(self.attempt, request)
        self._publish_state()
        self.get_logger().info(f"{request.instruction!r}: {out.code.name} — {out.message}")
        return fill_result(response, out, self.get_clock().now().to_msg())


def main(args=None) -> None:
    run_node(DexGraspNode, "dex_grasp_node", args=args)


if __name__ == "__main__":
    main()
