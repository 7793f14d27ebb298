"""Camera read throughput at 1280×720: realvlg's backends against plain library loops, same run.

1. RealSense playback: ``RealSenseCamera.from_file`` (pipeline → sync check → rs.align → RGBDFrame)
   vs a raw pyrealsense2 loop (``wait_for_frames`` → ``rs.align`` → numpy copies) on the same .db3
   that a software device recorded (synthetic plane + box, D435i-like intrinsics).
2. rosbag2 replay: ``ReplayCamera`` (stamp pairing, decode, float32 metres) vs a raw rosbags loop
   (deserialize + ``np.frombuffer`` of every colour and depth message, no pairing) on MCAP and
   sqlite3 bags written by ``BagRecorder``.

Prints, per distinct colour frame delivered, frames/s and ms (decode + align + copies, including
waiting for the playback thread), the p50 of one loop call, the time to open the source (apart:
rosbags parses metadata.yaml in pure Python), and the ratio wrapper / peer (> 1 = the wrapper is
slower).

    .venv/bin/python bench/camera_read.py [--frames 90] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyrealsense2 as rs
from rosbags.rosbag2 import Reader
from tqdm import tqdm

from realvlg.cameras import EndOfRecordingError
from realvlg.cameras.messages import default_typestore
from realvlg.cameras.realsense import RealSenseCamera
from realvlg.cameras.replay import ReplayCamera, ReplayCameraConfig
from realvlg.recording import BagRecorder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_camera import record_scene  # noqa: E402  (a test helper, tests/synthetic_camera.py)

OPENED = (None, None)  # what a generator yields once its source is open, before any frame


def timed(frames_iter) -> tuple[float, np.ndarray, set]:
    """Run ``frames_iter`` (a generator doing the work: :data:`OPENED` once open, then
    ``(frame key, arrays)`` per item). Returns the seconds to open, the seconds each item took and
    the set of distinct keys (= distinct colour frames delivered)."""
    times, keys, t = [], set(), time.perf_counter()
    open_s = 0.0
    for key, _arrays in frames_iter:
        now = time.perf_counter()
        if key is None:
            open_s = now - t
        else:
            times.append(now - t)
            keys.add(key)
        t = now
    return open_s, np.array(times), keys


def wrapper_frames(cam_factory):
    with cam_factory() as cam:
        yield OPENED
        while True:
            try:
                frame = cam.read(timeout=5.0)
                yield frame.timestamp, (frame.color, frame.depth)
            except EndOfRecordingError:
                return


def raw_realsense_frames(path: Path):
    pipe, cfg = rs.pipeline(), rs.config()
    cfg.enable_device_from_file(str(path), repeat_playback=False)
    cfg.enable_stream(rs.stream.depth)
    cfg.enable_stream(rs.stream.color)
    profile = pipe.start(cfg)
    profile.get_device().as_playback().set_real_time(False)
    scale = profile.get_device().first_depth_sensor().get_depth_scale()
    align = rs.align(rs.stream.color)
    yield OPENED
    try:
        while True:
            ok, frames = pipe.try_wait_for_frames(1000)
            if not ok:
                return
            aligned = align.process(frames)
            color, depth = aligned.get_color_frame(), aligned.get_depth_frame()
            if color and depth:
                rgb = np.array(np.asanyarray(color.get_data()))
                metres = np.asanyarray(depth.get_data()).astype(np.float32) * scale
                yield color.get_frame_number(), (rgb, metres)
    finally:
        pipe.stop()


def raw_rosbags_frames(path: Path):
    ts = default_typestore()
    with Reader(path) as reader:
        conns = [c for c in reader.connections if c.msgtype == "sensor_msgs/msg/Image"]
        yield OPENED
        for conn, _, raw in reader.messages(connections=conns):
            msg = ts.deserialize_cdr(raw, conn.msgtype)
            if msg.encoding == "16UC1":
                pixels = np.frombuffer(msg.data, np.uint16).reshape(msg.height, msg.width).astype(np.float32) * 0.001
            else:
                pixels = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, 3).copy()
            yield (msg.header.stamp.sec, msg.header.stamp.nanosec), pixels


def summarise(name: str, runs: list[tuple[float, np.ndarray, set]]) -> dict:
    """Best run by total read time, per distinct colour frame delivered (read time / frames) and
    per call of the loop (p50); opening the source is reported apart."""
    open_s, times, keys = min(runs, key=lambda r: r[1].sum())
    total = times.sum()
    return {"name": name, "frames": len(keys), "calls": len(times), "fps": len(keys) / total,
            "ms_per_frame": 1000 * total / len(keys), "p50_call_ms": 1000 * np.median(times),
            "open_ms": 1000 * open_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="realvlg-bench-") as tmp:
        tmp = Path(tmp)
        db3 = tmp / "scene.db3"
        t = time.perf_counter()
        record_scene(db3, frames=args.frames)
        print(f"recorded {args.frames} frames of 1280x720 colour + depth to .db3 in {time.perf_counter() - t:.1f} s")
        bags = {}
        for storage in ("mcap", "sqlite3"):
            bags[storage] = tmp / f"bag_{storage}"
            with RealSenseCamera.from_file(db3) as cam, BagRecorder(bags[storage], storage=storage) as rec:
                while True:
                    try:
                        rec.write_rgbd(cam.read(timeout=5.0))
                    except EndOfRecordingError:
                        break

        cases = [
            ("realsense playback (RealSenseCamera)",
             lambda: timed(wrapper_frames(lambda: RealSenseCamera.from_file(db3))),
             "raw pyrealsense2 pipeline + align", lambda: timed(raw_realsense_frames(db3))),
        ] + [
            (f"replay {s} (ReplayCamera)",
             lambda s=s: timed(wrapper_frames(lambda: ReplayCamera(ReplayCameraConfig(path=bags[s])))),
             f"raw rosbags {s} decode", lambda s=s: timed(raw_rosbags_frames(bags[s])))
            for s in bags
        ]
        rows = []
        for name, run, peer_name, peer_run in tqdm(cases, desc="bench", leave=False):
            ours = summarise(name, [run() for _ in range(args.repeats)])
            peer = summarise(peer_name, [peer_run() for _ in range(args.repeats)])
            rows.append((ours, peer))

    print(f"\n{'path (1280x720)':38s} {'frames':>6s} {'calls':>6s} {'frames/s':>9s} {'ms/frame':>9s} "
          f"{'p50 ms/call':>11s} {'open ms':>8s}")
    for ours, peer in rows:
        for r in (ours, peer):
            print(f"{r['name']:38s} {r['frames']:6d} {r['calls']:6d} {r['fps']:9.1f} {r['ms_per_frame']:9.2f} "
                  f"{r['p50_call_ms']:11.2f} {r['open_ms']:8.1f}")
        print(f"{'  ratio wrapper / peer (ms/frame)':38s} {'':6s} {'':6s} {'':9s} "
              f"{ours['ms_per_frame'] / peer['ms_per_frame']:9.2f}")
    print("\nThe raw pyrealsense2 peer aligns every frameset the pipeline hands out (playback repeats a "
          "colour frame with the next depth frame), the wrapper only unique, synchronised pairs; the raw "
          "rosbags peer decodes colour and depth messages (2 per frame) without pairing or camera_info.")


if __name__ == "__main__":
    main()
