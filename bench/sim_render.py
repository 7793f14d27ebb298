"""Wrist-camera render time of FR3World.render() (state snapshot + RGB + depth + segmentation +
poses) against the peer: a bare mujoco.Renderer RGB frame of the same model and state, measured
in the same run, while franky-sim's 1 kHz physics thread runs.

    .venv/bin/python bench/sim_render.py [--frames 10]
"""

import argparse
import time

import numpy as np

from realvlg.sim.common import CameraConfig
from realvlg.sim.fr3_world import FR3World, FR3WorldConfig, free_loopback_address
from realvlg.sim.scenes import generate_scene


def timed(fn, n: int) -> np.ndarray:
    fn()  # warm-up (context creation, buffers)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return np.array(out)


def save_strip(obs, path: str) -> None:
    """RGB | depth (near = bright) | segmentation (one colour per object) side by side."""
    from PIL import Image

    d = obs.depth
    valid = d > 0
    lo, hi = np.percentile(d[valid], [1, 99])
    grey = np.where(valid, 255 * (1 - np.clip((d - lo) / (hi - lo), 0, 1)), 0).astype(np.uint8)
    palette = (np.random.default_rng(0).uniform(60, 255, (len(obs.labels.object_names) + 1, 3))).astype(np.uint8)
    palette[-1] = 0  # background (index −1)
    strip = np.concatenate([obs.color, np.repeat(grey[..., None], 3, axis=2), palette[obs.labels.objects]], axis=1)
    Image.fromarray(strip).save(path, optimize=True)
    print(f"saved {path}")


def main() -> None:
    import mujoco

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--save", help="write an RGB | depth | segmentation strip of the 640×480 frame here (PNG)")
    args = ap.parse_args()
    print("| resolution | FR3World.render p50 [s] | p90 [s] | bare RGB render p50 [s] | ratio |\n|---|---|---|---|---|")
    for w, h in ((320, 240), (640, 480), (1280, 720)):
        world = FR3World(generate_scene("clutter", 0).placements,
                         FR3WorldConfig(hostname=free_loopback_address(), camera=CameraConfig(w, h)))
        with world:
            ours = timed(world.render, args.frames)
            if args.save and w == 640:
                save_strip(world.render(), args.save)
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
