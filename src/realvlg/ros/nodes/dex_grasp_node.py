"""dex_grasp_node: ``/grasp`` for the ``shadow`` hand — a thin ROS adapter over
:mod:`realvlg.dexvlg.planner` on the simulated UR10e + Shadow Hand (:mod:`realvlg.sim.ur10e_shadow_world`).

One ``realvlg_interfaces/srv/Grasp`` request: the arm to the observation pose (hand open) →
the wrist RGB-D frame with the renderer's part labels (:class:`~realvlg.dexvlg.planner.DexScene`)
→ the instruction's object and part → ``samples`` grasps from the DexVLG checkpoint ``model``,
ranked with the Shadow Hand → the best one the arm can execute → unless ``dry_run``, executed by
:class:`~realvlg.dexvlg.sim_executor.MujocoUR10eExecutor` and checked with the lift test. The
response: ``success``, ``message`` (the reason on failure: nothing named, no feasible grasp, the
executor's refusal, nothing lifted), ``pose`` = the palm pose in ``base``, ``width`` = NaN (a hand
has no opening width), ``strategy_used`` = ``dexvlg``, per-stage ``timings``.

Publishes for RViz (the URDF of :mod:`realvlg.robots.ur10e_shadow.description`, joint names
:data:`~realvlg.robots.ur10e_shadow.description.JOINT_NAMES`):

* ``description_topic`` (``std_msgs/String``, transient local): the robot description;
* ``joint_states_topic`` (``sensor_msgs/JointState``, transient local): the simulated robot's joints,
  at start and after every request;
* ``predicted_topic`` (``sensor_msgs/JointState``): the planned arm joints (IK of the best grasp) and
  the predicted 22 finger joints — feed a second ``robot_state_publisher`` (``frame_prefix``
  ``predicted/``) to see the predicted hand beside the scene;
* ``cloud_topic`` (``sensor_msgs/PointCloud2``, frame ``base``): the observed scene cloud.

Parameters: ``model`` (registry name or folder), ``objects`` / ``setting`` / ``seed`` (the
simulated scene: :func:`~realvlg.sim.ur10e_shadow_world.ur10e_scene`), ``width`` / ``height`` (wrist camera),
``samples``, ``flow_steps``, the four topics. The real-robot variant (``UR10eExecutor`` +
``ShadowHandPublisher`` with a real RGB-D camera) needs a part-labelled scene source that realvlg
does not have yet: the node refuses ``robot`` other than ``sim`` at start.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import JointState, PointCloud2
from std_msgs.msg import String

from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.frames import TOOL0_T_PALM, UR_BASE_FRAME
from realvlg.ros import names
from realvlg.ros.conversions import make_header, points_to_pointcloud2
from realvlg.ros.spin import run_node
from realvlg_interfaces.msg import StageTiming
from realvlg_interfaces.srv import Grasp as GraspSrv

LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class DexGraspNode(Node):
    def __init__(self) -> None:
        super().__init__("dex_grasp_node")
        from realvlg.dexvlg.model import DexVLG
        from realvlg.dexvlg.planner import DexGraspPlanner, DexPlannerConfig
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
        self.planner = DexGraspPlanner(model, config=DexPlannerConfig(int(p("samples", 16)), int(p("flow_steps", 10))),
                                      reach=UR10eReach())
        self.sample_seed = 0
        self.lock = threading.Lock()

        self.description = self.create_publisher(String, p("description_topic", "/realvlg/dex/robot_description"), LATCHED)
        self.joint_states = self.create_publisher(JointState, p("joint_states_topic", "/realvlg/dex/joint_states"), LATCHED)
        self.predicted = self.create_publisher(JointState, p("predicted_topic", "/realvlg/dex/predicted_joint_states"), 10)
        self.cloud = self.create_publisher(PointCloud2, p("cloud_topic", "/realvlg/dex/scene_cloud"), 2)
        self.description.publish(String(data=robot_description()))
        self._publish_state()
        self.create_service(GraspSrv, names.GRASP_SERVICE, self._on_grasp)
        self.get_logger().info(f"/grasp (shadow hand, simulation): objects {', '.join(self.world.active)}")

    def _joint_state(self, arm_q, fingers) -> JointState:
        from realvlg.robots.ur10e_shadow.description import JOINT_NAMES

        msg = JointState(header=make_header("", time.time()), name=list(JOINT_NAMES))
        msg.position = [float(v) for v in np.concatenate([arm_q, fingers])]
        return msg

    def _publish_state(self) -> None:
        self.joint_states.publish(self._joint_state(self.world.arm_q(), self.world.hand_q()))

    def _on_grasp(self, request, response):
        if not self.lock.acquire(blocking=False):
            response.success, response.message = False, "busy: a grasp is running"
            return response
        try:
            self._grasp(request, response)
        except RealVLGError as exc:
            response.success, response.message = False, str(exc)
        finally:
            self._publish_state()
            self.lock.release()
        self.get_logger().info(f"{request.instruction!r}: {'ok' if response.success else response.message}")
        return response

    def _grasp(self, request, response) -> None:
        from realvlg.dexvlg.planner import DexScene, first_executable
        from realvlg.robots.ur10e_shadow.kinematics import solve_ik

        timings = []

        def stage(name, fn):
            t = time.perf_counter()
            value = fn()
            timings.append(StageTiming(stage=name, seconds=time.perf_counter() - t))
            response.timings = timings
            return value

        response.strategy_used, response.width = "dexvlg", math.nan
        stage("home", self.arm.home)
        scene = DexScene.from_frame(stage("capture", self.world.render))
        self.cloud.publish(points_to_pointcloud2(scene.points.astype(np.float32),
                                                 (scene.colors * 255).astype(np.uint8), UR_BASE_FRAME, time.time()))
        self.sample_seed += 1
        plan = stage("plan", lambda: self.planner.plan(scene, request.instruction, seed=self.sample_seed))
        chosen, refusal = first_executable(plan, self.arm)
        if chosen is None:
            response.success, response.message = False, refusal
            return
        grasp = chosen.grasp
        ik = solve_ik(grasp.homogeneous() @ np.linalg.inv(TOOL0_T_PALM), self.world.arm_q())
        self.predicted.publish(self._joint_state(ik.q if ik.reachable else self.world.arm_q(), grasp.joints))
        pose = response.pose
        pose.header = make_header(UR_BASE_FRAME, time.time())
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (float(v) for v in grasp.position)
        q = grasp.rotation.as_quat()
        pose.pose.orientation.x, pose.pose.orientation.y, pose.pose.orientation.z, pose.pose.orientation.w = (
            float(v) for v in q)
        target = f"the {plan.part} of the {plan.object}"
        if request.dry_run:
            response.success = True
            response.message = f"dry run: planned a grasp of {target} (score {chosen.score:.2f})"
            return
        result = stage("execute", lambda: self.arm.grasp(grasp))
        lift = stage("check", lambda: self.world.lift_check(plan.object))
        response.success = bool(lift.success)
        response.message = (f"lifted {target} by {lift.height_gain * 100:.1f} cm" if lift.success else
                            result.reason or f"{target} was not lifted ({lift.height_gain * 100:.1f} cm)")


def main(args=None) -> None:
    run_node(DexGraspNode, "dex_grasp_node", args=args)


if __name__ == "__main__":
    main()
