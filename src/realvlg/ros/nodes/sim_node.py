"""sim_node: the simulated FR3 world as a ROS node (simulation only).

It hosts :class:`realvlg.sim.fr3_world.FR3World` — franky-sim's MuJoCo FR3 + hand serving the real
libfranka protocol on ``hostname`` (the executor node connects to it like to a real robot) — and:

* publishes the wrist camera as realsense-ros does (:class:`~realvlg.ros.rgbd.RgbdPublisher`, its
  ``camera_link`` chain the nominal D435i's; the mount is the grasp node's calibration) at up
  to ``camera_rate`` Hz from one thread (an OpenGL context belongs to one thread), rendering at
  most half the time so the libfranka server in the same process keeps its pace;
* serves ``/sim/ground`` (``Ground``): the SIMULATION ORACLE (:mod:`realvlg.grounding.sim_oracle`)
  answering for exactly the image it is given (its recent renders, by content: ``RecentFrames``);
* serves ``/sim/check_grasp`` (``SimCheckGrasp``): the paper's success test, and ``/sim/reset``
  (``SimReset``): a new seeded scene without restarting the simulator (home the robot first).

Parameters (``config/sim_node.yaml``): ``setting`` (single | clutter), ``objects``, ``seed``,
``hostname``, ``camera.width``, ``camera.height``, ``camera_rate``, ``publish_camera``.
"""

from __future__ import annotations

import threading

import rclpy
from rclpy._rclpy_pybind11 import RCLError
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from realvlg.cameras.messages import decode_color, decode_reference
from realvlg.errors import RealVLGError
from realvlg.geometry.camera_mount import color_chain
from realvlg.grounding.backend import InvalidGrounding, refuse_reference
from realvlg.grounding.sim_oracle import RecentFrames, SimOracle
from realvlg.objects import OBJECTS
from realvlg.ros import names
from realvlg.ros.conversions import grounding_to_msg
from realvlg.ros.rgbd import RgbdPublisher
from realvlg.ros.spin import answer_always, run_node
from realvlg.sim.common import CameraConfig
from realvlg.sim.fr3_world import FR3World, FR3WorldConfig, park_placement
from realvlg.sim.scenes import generate_scene
from realvlg_interfaces.srv import Ground, SimCheckGrasp, SimReset

RECENT_FRAMES = 30  # renders the oracle can answer for


class SimNode(Node):
    def __init__(self) -> None:
        super().__init__("sim_node")
        declare = self.declare_parameter
        objects = [o for o in declare("objects", [""]).value if o]
        self.scene = generate_scene(declare("setting", "single").value, declare("seed", 0).value, objects or None)
        camera = CameraConfig(width=declare("camera.width", 640).value, height=declare("camera.height", 360).value)
        # every object is in the world, those not in the scene parked: /sim/reset can then set any scene
        parked = tuple(park_placement(n) for n in OBJECTS if n not in self.scene.object_names)
        hostname = declare("hostname", "127.0.0.1").value
        self.world = FR3World(self.scene.placements + parked, FR3WorldConfig(hostname=hostname, camera=camera)).start(0.0)
        self.world.reset(self.scene.placements)
        self.rate = declare("camera_rate", 2.0).value
        self.publish_camera = declare("publish_camera", True).value
        self.oracle, self.recent = SimOracle(), RecentFrames(RECENT_FRAMES)

        self.rgbd = RgbdPublisher(self, color_chain())  # one simulated imager: the nominal D435i chain
        group = ReentrantCallbackGroup()
        self.create_service(Ground, names.SIM_GROUND_SERVICE, answer_always(self, self._on_ground), callback_group=group)
        self.create_service(SimCheckGrasp, names.SIM_CHECK_GRASP_SERVICE, answer_always(self, self._on_check), callback_group=group)
        self.create_service(SimReset, names.SIM_RESET_SERVICE, answer_always(self, self._on_reset), callback_group=group)
        self._stop = threading.Event()
        self._render_thread = threading.Thread(target=self._render_loop, name="sim-render", daemon=True)
        self._render_thread.start()
        self.get_logger().info(f"simulated FR3 on {self.world.hostname}, scene {self.scene.setting} "
                               f"seed {self.scene.seed}: {', '.join(self.scene.object_names)}")

    def _render_loop(self) -> None:
        try:
            self._render_until_stopped(1.0 / self.rate)
        finally:
            self.world.stop()  # on this thread: the renderers' GL context belongs to it

    def _render_until_stopped(self, period: float) -> None:
        while not self._stop.is_set() and rclpy.ok():
            started = self.get_clock().now()
            try:
                state = self.world.snapshot()
                frame, poses = self.world.render(state), self.world.object_poses(state)
            except Exception as exc:  # the simulator stopped: report, keep the node answering
                self.get_logger().error(f"render failed: {exc}")
                self._stop.wait(1.0)
                continue
            self.recent.add(frame, poses)
            if self.publish_camera:
                try:
                    self.rgbd.publish(frame.color, frame.depth, frame.intrinsics,
                                      names.COLOR_OPTICAL_FRAME, started.to_msg())
                except RCLError:
                    if rclpy.ok():
                        raise
                    return  # shutting down: the context is gone
            elapsed = (self.get_clock().now() - started).nanoseconds * 1e-9
            # at most half the time rendering: the in-process libfranka server needs its 1 kHz loop
            self._stop.wait(max(period - elapsed, elapsed))

    def _on_ground(self, request, response):
        why = f"the simulation oracle did not render this image (it answers only for its own recent {RECENT_FRAMES} frames)"
        try:  # the oracle grounds one rendered image: a reference is refused
            refuse_reference("simulation oracle", decode_reference(request.reference))
            recent = self.recent.get(decode_color(request.image))
        except RealVLGError as exc:
            recent, why, response.code = None, str(exc), response.INVALID_REQUEST
        if recent is None:
            response.success, response.message = False, why
            return response
        result = self.oracle.ground(request.task, *recent, request.instruction, present=self.world.active)
        response.grounding = grounding_to_msg(result, request.image.header.frame_id, request.image.header.stamp)
        response.success = not isinstance(result, InvalidGrounding)
        response.message = "" if response.success else result.message
        return response

    def _on_reset(self, request, response):
        try:
            scene = generate_scene(request.setting or "single", request.seed, list(request.objects) or None)
            self.world.reset(scene.placements)
        except RealVLGError as exc:
            response.success, response.message = False, str(exc)
            return response
        self.scene = scene
        response.success, response.object_names = True, list(scene.object_names)
        response.message = f"scene {scene.setting} seed {scene.seed}: {', '.join(scene.object_names)}"
        return response

    def _on_check(self, request, response):
        try:
            check = self.world.check_grasp(request.object, request.min_lift or 0.05, request.hold_s or 2.0)
        except RealVLGError as exc:
            response.success, response.message = False, str(exc)
            return response
        response.success, response.lifted, response.held = check.success, check.lifted, check.held
        response.height_gain, response.message = float(check.height_gain), check.summary
        return response

    def shutdown(self) -> None:
        self._stop.set()
        self._render_thread.join(timeout=10.0)


def main(args=None) -> None:
    run_node(SimNode, "sim_node", threads=3, args=args)


if __name__ == "__main__":
    main()
