"""Benchmark: 1280×720 depth → point cloud (realvlg vs Open3D vs librealsense) and 2D → 6-DoF latency.

All peers run on the same frame in the same process: the real GraspNet example depth
(../shared/realdata/graspnet_example, millimetres) when present, else a synthetic table scene.

* realvlg cloud      ``backproject_cloud``: (N, 3) float32 of the valid pixels (+ their mask)
* realvlg organised  ``backproject_image``: (H, W, 3) float32, invalid = 0
* Open3D             ``PointCloud.create_from_depth_image`` (valid pixels, float64), its
                     ``o3d.geometry.Image`` built once outside the timing
* librealsense       ``rs.pointcloud().calculate`` on a depth frame injected through a
                     ``software_device`` (organised W·H vertices), plus the zero-copy vertex view
* lift               ``lift_grasp`` on a contact pair (approach ray / normal)

Prints p50/p90 in ms and ratios (peer p50 / realvlg p50: > 1 means realvlg is faster).
Run: ``make bench`` or ``.venv/bin/python bench/backproject.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np
import open3d as o3d
import pyrealsense2 as rs
import scipy.io
from tqdm import tqdm

from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair
from realvlg.geometry.lift import LiftConfig, lift_grasp
from realvlg.geometry.projection import backproject_cloud, backproject_image
from realvlg.io import read_depth_raw

from timing import timed

REALDATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "realdata" / "graspnet_example"
DEPTH_SCALE = 0.001


def load_frame() -> tuple[np.ndarray, CameraIntrinsics, ContactPair, str]:
    """Depth (uint16 mm), intrinsics, a contact pair on an object, and the frame's name."""
    if (REALDATA / "depth.png").is_file():
        meta = scipy.io.loadmat(REALDATA / "meta.mat")
        depth = read_depth_raw(REALDATA / "depth.png")
        camera = CameraIntrinsics.from_matrix(meta["intrinsic_matrix"], depth.shape[1], depth.shape[0])
        return depth, camera, ContactPair(484, 261, 522, 229), "GraspNet example (real, 10.5 % invalid)"
    camera = CameraIntrinsics(1280, 720, 910.0, 910.0, 639.5, 359.5)
    rng = np.random.default_rng(0)
    v, u = np.mgrid[0:720, 0:1280]
    depth = 800.0 + 0.05 * (v - 360)  # a table seen slightly from above
    depth[300:420, 560:720] = 700.0  # a box on it
    depth += rng.normal(0, 1.5, depth.shape)
    depth[rng.random(depth.shape) < 0.1] = 0
    return depth.astype(np.uint16), camera, ContactPair(600, 360, 680, 360), "synthetic table + box (10 % invalid)"




def realsense_pointcloud(depth: np.ndarray, camera: CameraIntrinsics):
    """A function computing rs.pointcloud on a fresh software-device depth frame per call
    (only ``calculate`` and the vertex view are timed, not the injection)."""
    h, w = depth.shape
    intr = rs.intrinsics()
    intr.width, intr.height, intr.fx, intr.fy = w, h, camera.fx, camera.fy
    intr.ppx, intr.ppy, intr.model, intr.coeffs = camera.cx, camera.cy, rs.distortion.none, [0.0] * 5
    device = rs.software_device()
    sensor = device.add_sensor("Depth")
    stream = rs.video_stream()
    stream.type, stream.index, stream.uid = rs.stream.depth, 0, 0
    stream.width, stream.height, stream.fps, stream.bpp = w, h, 30, 2
    stream.fmt, stream.intrinsics = rs.format.z16, intr
    profile = sensor.add_video_stream(stream)
    sensor.add_read_only_option(rs.option.depth_units, DEPTH_SCALE)
    queue = rs.frame_queue(2, keep_frames=True)
    sensor.open(profile)
    sensor.start(queue)
    pixels, pointcloud, state = depth.tobytes(), rs.pointcloud(), {"n": 0, "elapsed": []}

    def one() -> np.ndarray:
        frame = rs.software_video_frame()
        frame.pixels, frame.bpp, frame.stride = pixels, 2, w * 2
        frame.timestamp, frame.frame_number = state["n"] * 33.3, state["n"]
        frame.domain = rs.timestamp_domain.hardware_clock
        frame.profile = profile.as_video_stream_profile()
        state["n"] += 1
        sensor.on_video_frame(frame)
        depth_frame = queue.wait_for_frame(1000).as_depth_frame()
        start = time.perf_counter()
        vertices = np.asanyarray(pointcloud.calculate(depth_frame).get_vertices()).view(np.float32).reshape(-1, 3)
        state["elapsed"].append(time.perf_counter() - start)
        return vertices

    def close() -> None:
        sensor.stop()
        sensor.close()

    return one, state, close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    depth, camera, pair, name = load_frame()
    print(f"frame: {name}, {depth.shape[1]}x{depth.shape[0]}, {int((depth > 0).sum())} valid pixels; "
          f"repeats {args.repeats}")

    results: dict[str, np.ndarray] = {}
    results["realvlg cloud (N,3)"] = timed(lambda: backproject_cloud(depth, camera, DEPTH_SCALE),
                                           args.repeats, "realvlg cloud")
    results["realvlg organised (H,W,3)"] = timed(lambda: backproject_image(depth, camera, DEPTH_SCALE),
                                                 args.repeats, "realvlg organised")

    pinhole = o3d.camera.PinholeCameraIntrinsic(camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy)
    image = o3d.geometry.Image(depth)
    results["Open3D create_from_depth_image"] = timed(
        lambda: o3d.geometry.PointCloud.create_from_depth_image(image, pinhole, depth_scale=1 / DEPTH_SCALE,
                                                                depth_trunc=100.0),
        args.repeats, "Open3D")

    one, state, close = realsense_pointcloud(depth, camera)
    one()
    state["elapsed"].clear()
    for _ in tqdm(range(args.repeats), desc="librealsense", leave=False):
        one()
    close()
    results["librealsense rs.pointcloud"] = np.array(state["elapsed"]) * 1e3

    for approach in ("ray", "normal"):
        config = LiftConfig(approach=approach)
        results[f"lift 2D→6-DoF ({approach})"] = timed(lambda: lift_grasp(pair, depth, camera, config, DEPTH_SCALE),
                                                      args.repeats, f"lift {approach}")

    print(f"\n{'':34s} {'p50 ms':>8s} {'p90 ms':>8s}")
    for label, times in results.items():
        print(f"{label:34s} {np.percentile(times, 50):8.2f} {np.percentile(times, 90):8.2f}")
    p50 = {label: float(np.percentile(t, 50)) for label, t in results.items()}
    print("\nratios (peer p50 / realvlg p50; > 1: realvlg faster)")
    for ours, peer in (("realvlg cloud (N,3)", "Open3D create_from_depth_image"),
                       ("realvlg organised (H,W,3)", "librealsense rs.pointcloud"),
                       ("realvlg cloud (N,3)", "librealsense rs.pointcloud")):
        print(f"  {peer} / {ours}: {p50[peer] / p50[ours]:.2f}")
    print(f"\ngoals: cloud p50 ≤ 10 ms: {p50['realvlg cloud (N,3)'] <= 10}; "
          f"cloud at least as fast as Open3D: {p50['realvlg cloud (N,3)'] <= p50['Open3D create_from_depth_image']}; "
          f"lift p50 ≤ 2 ms: {max(p50['lift 2D→6-DoF (ray)'], p50['lift 2D→6-DoF (normal)']) <= 2}")


if __name__ == "__main__":
    main()
