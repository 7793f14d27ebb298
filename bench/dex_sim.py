"""DexVLG's MuJoCo world (UR10e + Shadow Hand): render time, physics step rate and the real-time
factor of a full executor grasp, against peers measured in the same run:

* render: ``UR10eShadowWorld.render()`` (RGB + depth + segmentation + part labels + poses) vs a bare
  ``mujoco.Renderer`` RGB frame of the same model and state;
* physics: ``mj_step`` of the whole world (arm, hand, table, all ten objects, arm moving) vs
  ``mj_step`` of gymnasium-robotics' own Shadow Hand scene (``hand/reach.xml``);
* grasp: simulated seconds per wall-clock second of the simulated ``UR10eShadowExecutor.grasp`` (scripted top
  grasp of the orange, IK planning included).

    MUJOCO_GL=egl .venv/bin/python bench/dex_sim.py [--frames 10] [--save strip.png]
"""

import argparse
import time

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.frames import UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import SHADOW_JOINTS, assets_dir
from realvlg.sim.ur10e_shadow_world import (
    D415CameraConfig,
    UR10eShadowWorld,
    UR10eShadowWorldConfig,
    sim_executor,
    ur10e_scene,
)

from timing import timed

# The tests' scripted grasp (tests/sim/test_ur10e_shadow_world.py: ORANGE_GRASP, SPHERE_IN_PALM).
ORANGE_JOINTS = (0.101, 0.574, 0.154, 0.176, 0.084, 0.556, 0.202, 0.23, 0.215, 0.557, 0.195, 0.223,
                 0.345, 0.226, 0.345, 0.129, 0.147, 0.317, 0.617, 0.209, -0.315, -0.13)
SPHERE_IN_PALM = np.array([0.0248, -0.0483, 0.1317])
TOP_DOWN = Rotation.from_matrix([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def save_strip(obs, path: str) -> None:
    """RGB | depth (near = bright) | part segmentation (one colour per part) side by side."""
    from PIL import Image

    d = obs.depth
    valid = d > 0
    lo, hi = np.percentile(d[valid], [1, 99])
    grey = np.where(valid, 255 * (1 - np.clip((d - lo) / (hi - lo), 0, 1)), 0).astype(np.uint8)
    palette = np.random.default_rng(0).uniform(60, 255, (len(obs.labels.part_names) + 1, 3)).astype(np.uint8)
    palette[-1] = 0  # background (index −1)
    strip = np.concatenate([obs.color, np.repeat(grey[..., None], 3, axis=2), palette[obs.labels.parts]], axis=1)
    Image.fromarray(strip).save(path, optimize=True)
    print(f"saved {path}")


def steps_per_second(model: mujoco.MjModel, data: mujoco.MjData, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(model, data)
    return steps / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--save", help="write an RGB | depth | parts strip of the 640×360 frame here (PNG)")
    args = ap.parse_args()

    print("| resolution | UR10eShadowWorld.render p50 [ms] | p90 [ms] | bare RGB p50 [ms] | ratio |\n|---|---|---|---|---|")
    for w, h in ((320, 180), (640, 360), (1280, 720)):
        config = UR10eShadowWorldConfig(camera=D415CameraConfig(w, h))
        with UR10eShadowWorld(ur10e_scene("clutter", 0, config=config), config) as world:
            ours = timed(world.render, args.frames, f"render {w}×{h}")
            if args.save and w == 640:
                save_strip(world.render(), args.save)
            bare = mujoco.Renderer(world.model, h, w)

            def rgb_only(world=world, bare=bare):
                bare.update_scene(world.data, camera=world._cam)
                bare.render()

            peer = timed(rgb_only, args.frames, f"bare {w}×{h}")
            bare.close()
        print(f"| {w}×{h} | {np.median(ours):.1f} | {np.percentile(ours, 90):.1f} | {np.median(peer):.1f} | "
              f"{np.median(ours) / np.median(peer):.1f}× |")

    config = UR10eShadowWorldConfig(camera=D415CameraConfig(320, 180))
    world = UR10eShadowWorld(ur10e_scene("clutter", 0, config=config), config)
    world.data.ctrl[world._arm_act] += 0.3  # the arm servos towards a new target while stepping
    ours = steps_per_second(world.model, world.data, args.steps)
    hand = mujoco.MjModel.from_xml_path(str(assets_dir() / "hand" / "reach.xml"))
    peer = steps_per_second(hand, mujoco.MjData(hand), args.steps)
    print(f"\nphysics: UR10eShadowWorld (UR10e + hand + 10 objects) {ours:,.0f} steps/s "
          f"({ours * world.model.opt.timestep:.1f}× real time); gymnasium-robotics hand alone {peer:,.0f} steps/s; "
          f"ratio {peer / ours:.1f}×")

    world = UR10eShadowWorld(ur10e_scene("single", 0, ["orange"], config), config)
    centre = world.data.xipos[world.model.body("obj/orange").id].copy()
    grasp = DexGrasp(centre - TOP_DOWN.apply(SPHERE_IN_PALM), TOP_DOWN, ORANGE_JOINTS, UR_BASE_FRAME)
    assert len(ORANGE_JOINTS) == len(SHADOW_JOINTS)
    t0, wall = world.time, time.perf_counter()
    result = sim_executor(world).grasp(grasp)
    wall = time.perf_counter() - wall
    simulated = world.time - t0
    check = world.lift_check("orange")
    print(f"grasp: {simulated:.1f} s simulated in {wall:.2f} s wall ({simulated / wall:.1f}× real time); success {result.success}, "
          f"lift check {check.success} (+{check.height_gain * 100:.1f} cm); stages "
          + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items()))


if __name__ == "__main__":
    main()
