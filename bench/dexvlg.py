"""Benchmark: DexVLG's farthest-point sampling (batched torch) against Open3D's, and the tiny model's
grasp sampler.

* FPS: a batch of ``--batch`` random clouds of ``--points`` points down to ``--samples``:
  ``realvlg.dexvlg.pointcloud.farthest_point_sample`` on the whole batch at once vs Open3D's
  ``PointCloud.farthest_point_down_sample`` cloud by cloud (same start point, so the same samples;
  checked). Ratio > 1: realvlg is faster.
* Sampler: ``sample_grasps`` of the tiny preset (random weights) on a 5 000-point cloud, 16 grasps,
  10 Euler steps, against one encoder pass of the same cloud (the part that does not repeat per step).

Run: ``make bench`` or ``.venv/bin/python bench/dexvlg.py [--repeats N]``. One torch thread.
"""

from __future__ import annotations

import argparse

import numpy as np
import open3d as o3d
import torch

from realvlg.dexvlg.model import build_model, prepare_cloud, sample_grasps
from realvlg.dexvlg.pointcloud import farthest_point_sample

from timing import timed


def open3d_fps(clouds: np.ndarray, samples: int, starts: np.ndarray) -> list[np.ndarray]:
    out = []
    for cloud, start in zip(clouds, starts, strict=True):
        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud))
        out.append(np.asarray(pcd.farthest_point_down_sample(samples, int(start)).points))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--points", type=int, default=2048)
    parser.add_argument("--samples", type=int, default=512)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    clouds = rng.normal(size=(args.batch, args.points, 3))
    tensor = torch.from_numpy(clouds)
    index = farthest_point_sample(tensor, args.samples).numpy()
    ours = [c[i] for c, i in zip(clouds, index, strict=True)]
    theirs = open3d_fps(clouds, args.samples, index[:, 0])
    same = all(np.allclose(np.sort(a, axis=0), np.sort(b, axis=0)) for a, b in zip(ours, theirs, strict=True))

    fps_ours = timed(lambda: farthest_point_sample(tensor, args.samples), args.repeats, "realvlg fps")
    fps_o3d = timed(lambda: open3d_fps(clouds, args.samples, index[:, 0]), args.repeats, "open3d fps")

    model = build_model("tiny").eval()
    points, colors = rng.normal(size=(5000, 3)) * 0.05, rng.uniform(size=(5000, 3))
    cloud, _ = prepare_cloud(points, colors, model.config, np.random.default_rng(0))
    tokens = model.tokenize(["Grasp the handle of the mug object"])
    with torch.inference_mode():
        encode = timed(lambda: model.encode(torch.from_numpy(cloud)[None], **tokens), args.repeats, "encode")
    sample = timed(lambda: sample_grasps(model, points, colors, "Grasp the handle of the mug object", n=16,
                                         steps=10), args.repeats, "sample_grasps")

    print(f"FPS {args.batch} × {args.points} → {args.samples} points (same samples as Open3D: {same})")
    print(f"  realvlg batched torch   p50 {np.median(fps_ours):8.1f} ms  p90 {np.percentile(fps_ours, 90):8.1f} ms")
    print(f"  Open3D, cloud by cloud  p50 {np.median(fps_o3d):8.1f} ms  p90 {np.percentile(fps_o3d, 90):8.1f} ms"
          f"  ratio {np.median(fps_o3d) / np.median(fps_ours):.2f}")
    print("tiny DexVLG, 5 000-point cloud")
    print(f"  encoder pass            p50 {np.median(encode):8.1f} ms")
    print(f"  sample_grasps 16 × 10   p50 {np.median(sample):8.1f} ms  (= {np.median(sample) / np.median(encode):.1f}"
          " encoder passes)")


if __name__ == "__main__":
    main()
