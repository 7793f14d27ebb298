"""Wrist-camera render time of SimWorld.render() (state snapshot + RGB + depth + segmentation +
poses) against the peer: a bare mujoco.Renderer RGB frame of the same model and state, measured
in the same run, while franky-sim's 1 kHz physics thread runs.

    .venv/bin/python bench/sim_render.py [--frames 10]
"""

import argparse
import time

import numpy as np

from realvlg.sim.scenes import generate_scene
from realvlg.sim.world import CameraConfig, SimWorld, WorldConfig, free_loopback_address


def timed(fn, n: int) -> np.ndarray:
    fn()  # warm-up (context creation, buffers)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return np.array(out)


def main() -> None:
    import mujoco

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10)
    args = ap.parse_args()
    print("| resolution | SimWorld.render p50 [s] | p90 [s] | bare RGB render p50 [s] | ratio |\n|---|---|---|---|---|")
    for w, h in ((320, 240), (640, 480), (1280, 720)):
        world = SimWorld(generate_scene("clutter", 0).placements,
                         WorldConfig(hostname=free_loopback_address(), camera=CameraConfig(w, h)))
        with world:
            ours = timed(world.render, args.frames)
            bare = mujoco.Renderer(world.model, h, w)
            data = world.snapshot()

            def rgb_only():
                bare.update_scene(data, camera=world._cam_id)
                bare.render()

            peer = timed(rgb_only, args.frames)
            bare.close()
        print(f"| {w}×{h} | {np.median(ours):.3f} | {np.percentile(ours, 90):.3f} | {np.median(peer):.3f} | "
              f"{np.median(ours) / np.median(peer):.1f}× |")


if __name__ == "__main__":
    main()
