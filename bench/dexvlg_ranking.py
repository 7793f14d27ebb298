"""Benchmark: ranking N = 64 sampled Shadow Hand grasps (realvlg.dexvlg.ranking.rank_grasps).

Scene: the test suite's mug on a table (tests/dexvlg/scene_geometry.py, ~13k labelled points
with normals). Grasps: 64 palms scattered above and around the handle, each with 5 fingers of
K = 32 points and S = 512 hand-surface points (the sizes ``hand_points`` produces by default),
all random but reproducible. When realvlg.dexvlg.hand is installed, ``hand_points`` of the real
Shadow Hand for 64 random grasps (batched torch kinematics) is timed too, against the same points
through the per-grasp interface, and the whole ``rank_with_hand`` (hand points, collision
volumes, ranking with the volume measure).

Peer in the same run: the same 64 grasps ranked one call per grasp (what a caller without
batching would do). Prints p50/p90 in ms and the ratio peer / batched (> 1: batching is faster).
Run: ``.venv/bin/python bench/dexvlg_ranking.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from realvlg.dexvlg.ranking import hand_points, rank_grasps, rank_with_hand
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import FINGERS
from tests.dexvlg.scene_geometry import HANDLE_HI, HANDLE_LO, grasp_at, mug_scene

from timing import timed


def sampled_hands(n: int, k: int = 32, s: int = 512, seed: int = 0):
    rng = np.random.default_rng(seed)
    centre = (HANDLE_LO + HANDLE_HI) / 2
    palms = centre + rng.normal(0.0, 0.03, (n, 3)) + [0.0, 0.0, 0.06]
    tips = centre + rng.normal(0.0, 0.015, (n, len(FINGERS), 1, 3))
    fingers = tips + rng.normal(0.0, 0.004, (n, len(FINGERS), k, 3))
    plate = palms[:, None] + rng.uniform(-0.045, 0.045, (n, s - len(FINGERS) * k, 3)) * [1, 1, 0.1]
    surface = np.concatenate([plate, fingers.reshape(n, -1, 3)], axis=1)
    return [grasp_at(p) for p in palms], fingers, surface


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--grasps", type=int, default=64)
    args = parser.parse_args()
    cloud = mug_scene()
    grasps, fingers, surface = sampled_hands(args.grasps)
    T = np.eye(4)

    batched = timed(lambda: rank_grasps(grasps, cloud, "handle", fingers, surface, T), args.repeats, "batched")
    looped = timed(lambda: [rank_grasps([g], cloud, "handle", fingers[i:i + 1], surface[i:i + 1], T)
                            for i, g in enumerate(grasps)], max(3, args.repeats // 4), "one by one")
    result = rank_grasps(grasps, cloud, "handle", fingers, surface, T)
    print(f"scene {len(cloud.points)} points, {args.grasps} grasps × ({len(FINGERS)}×{fingers.shape[2]} finger "
          f"+ {surface.shape[1]} surface points); accepted {len(result.accepted)}, rejected {len(result.rejected)}")
    for name, t in (("rank_grasps (batched)", batched), ("one call per grasp (peer)", looped)):
        print(f"{name:28s} p50 {np.percentile(t, 50):8.1f} ms   p90 {np.percentile(t, 90):8.1f} ms")
    print(f"ratio peer / batched (p50): {np.median(looped) / np.median(batched):.1f}x")
    try:
        from realvlg.dexvlg.hand import ShadowHand
    except ImportError:
        print("realvlg.dexvlg.hand not installed: hand_points not timed")
        return
    from scipy.spatial.transform import Rotation

    hand = ShadowHand()
    rng = np.random.default_rng(1)
    real = [DexGrasp(g.position, Rotation.random(random_state=i), rng.uniform(hand.joint_lower, hand.joint_upper),
                     "base") for i, g in enumerate(grasps)]

    class PerGrasp:   # the spec's per-grasp interface of the same hand
        finger_points = staticmethod(hand.finger_points)
        surface_points = staticmethod(hand.surface_points)

    fast = timed(lambda: hand_points(hand, real), args.repeats, "hand_points batched")
    slow = timed(lambda: hand_points(PerGrasp(), real), max(3, args.repeats // 4), "hand_points per grasp")
    for name, t in (("hand_points (batched FK)", fast), ("hand_points per grasp (peer)", slow)):
        print(f"{name:28s} p50 {np.percentile(t, 50):8.1f} ms   p90 {np.percentile(t, 90):8.1f} ms")
    print(f"ratio peer / batched (p50): {np.median(slow) / np.median(fast):.1f}x")
    full = timed(lambda: rank_with_hand(real, hand, cloud, "handle", T), args.repeats, "rank_with_hand")
    print(f"{'rank_with_hand (all, volume)':28s} p50 {np.percentile(full, 50):8.1f} ms   "
          f"p90 {np.percentile(full, 90):8.1f} ms")


if __name__ == "__main__":
    main()
