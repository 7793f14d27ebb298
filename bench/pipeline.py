"""capture → 6-DoF latency without the model (issue 3's goal: p50 ≤ 50 ms): a synchronised
simulated wrist-camera frame arrives as ROS messages, is decoded, paired with the robot pose,
lifted and moved to the base frame — everything /grasp does between the camera and the model,
and between the model and the executor. The peer in the same run is the lift alone."""

import statistics
import time

import numpy as np

from realvlg.frames import COLOR_OPTICAL_FRAME, FR3_BASE_FRAME, FR3_TCP_FRAME
from realvlg.geometry.camera_mount import color_chain, load_camera_mount
from realvlg.geometry.lift import lift_grasp
from realvlg.geometry.tf_tree import TransformTree
from realvlg.graph import repo_path
from realvlg.grasping.capture import FrameCapture
from realvlg.grasping.planner import LiftPlanner
from realvlg.grounding.backend import Grounding
from realvlg.grounding.sim_oracle import SimOracle
from realvlg.ros.conversions import camera_info_to_msg, image_to_msg
from realvlg.sim.common import CameraConfig
from realvlg.sim.fr3_world import FR3World, FR3WorldConfig, free_loopback_address
from realvlg.sim.scenes import generate_scene

REPEATS = 100


class FixedAnswer:
    """The benchmark's stand-in for a model: the oracle's answer for this frame, computed once."""

    name, tasks = "fixed", ("contact",)

    def __init__(self, answer: Grounding):
        self.answer = answer

    def ground(self, task, image, instruction, **_):
        return self.answer


def percentiles(ms):
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.9 * (len(ms) - 1))]


def main() -> None:
    world = FR3World(generate_scene("single", 0, ["banana"]).placements,
                     FR3WorldConfig(hostname=free_loopback_address(), camera=CameraConfig(1280, 720))).start(settle_s=0.5)
    obs, T_base_ee, object_poses = world.render(), world.ee_pose(), world.object_poses()
    world.stop()
    # as grasp_node: tcp←camera_link, and the camera's static chain on to the colour optical frame
    mount = load_camera_mount(repo_path("calibration/sim_fr3_wrist_camera.yaml"))
    camera_frames = TransformTree(color_chain())
    answer = SimOracle().ground("contact", obs, object_poses, "grasp the banana")
    planner = LiftPlanner(FixedAnswer(answer))
    depth_mm = np.round(obs.depth * 1000).astype(np.uint16)
    msgs = {"color": image_to_msg(obs.color, "rgb8", COLOR_OPTICAL_FRAME, 10.0),
            "depth": image_to_msg(depth_mm, "16UC1", COLOR_OPTICAL_FRAME, 10.0),
            "info": camera_info_to_msg(obs.intrinsics, COLOR_OPTICAL_FRAME, 10.0)}
    full, lift_only = [], []
    for i in range(REPEATS):
        stamp = 10.0 + i
        t0 = time.perf_counter()
        capture = FrameCapture(mount, FR3_BASE_FRAME, FR3_TCP_FRAME, camera_frames=camera_frames)
        for kind, msg in msgs.items():
            capture.sync.add(kind, stamp, msg)
        capture.poses.add(stamp - 0.01, T_base_ee)
        capture.poses.add(stamp + 0.01, T_base_ee)
        planner.plan(capture.capture(stamp - 0.5), "grasp the banana", "contact")
        full.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        lift_grasp(answer.contact, obs.depth, obs.intrinsics)
        lift_only.append((time.perf_counter() - t0) * 1000)
    (p50, p90), (l50, l90) = percentiles(full), percentiles(lift_only)
    print(f"capture → 6-DoF in the base frame, 1280x720, {REPEATS} runs (model excluded): "
          f"p50 {p50:.1f} ms, p90 {p90:.1f} ms (goal p50 ≤ 50 ms)")
    print(f"peer — the lift alone: p50 {l50:.2f} ms, p90 {l90:.2f} ms; the rest of the path costs "
          f"{p50 / max(l50, 1e-6):.1f}x the lift")


if __name__ == "__main__":
    main()
