"""The cost of a grasp attempt's bag, three ways, measured in the same run (ms, median of --repeats):

* ``end``: everything written at the end of the attempt, one file, closed once (the former way; a
  process killed before the end leaves no readable bag);
* ``commit``: :meth:`realvlg.recording.BagRecorder.commit` after each stage (capture, plan, check,
  record: one file of the bag per stage, metadata.yaml replaced), waiting for each;
* ``background``: the same commits finished by a background thread (``commit(wait=False)``), the
  attempt waiting only at the end (``close``) — what the grasp node does;
* ``rewrite``: the whole bag written again after each stage (a new bag, renamed into place).

Per stage the time the attempt waits for its recording (the capture stage's is on the way to the
grounding, so it is the latency the crash safety costs) and the total. The messages are what the
grasp node writes: colour rgb8 + aligned depth 16UC1 + both camera_infos, the camera pose, the
instruction and ~1 s of /tf at 100 Hz and /joint_states at 50 Hz after the capture; the answer, the
grasp pose and the result later.

    .venv/bin/python bench/recording.py [--width 1280 --height 720] [--repeats 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from realvlg.geometry.camera import CameraIntrinsics
from realvlg.observation import RGBDFrame
from realvlg.recording import BagRecorder

STAGES = ("capture", "plan", "check", "record")


def stage_messages(frame: RGBDFrame) -> dict[str, list[tuple[str, str, int, bytes]]]:
    """Per stage, the serialised messages the grasp node writes (it hands the bag CDR bytes)."""
    with tempfile.TemporaryDirectory() as tmp:  # a recorder's typestore and write path, kept
        rec = BagRecorder(Path(tmp) / "bag").open()
        kept: list = []
        rec.write_cdr = lambda topic, msgtype, data, stamp=None: kept.append((topic, msgtype, stamp, bytes(data)))
        types, stamp = rec.types, round(frame.timestamp * 1e9)
        header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=int(frame.timestamp),
                                                                                       nanosec=0), frame_id="fr3_link0")
        transform = types["geometry_msgs/msg/TransformStamped"](
            header=header, child_frame_id="fr3_hand_tcp", transform=types["geometry_msgs/msg/Transform"](
                translation=types["geometry_msgs/msg/Vector3"](x=0.3, y=0.0, z=0.5),
                rotation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0)))
        tf = types["tf2_msgs/msg/TFMessage"](transforms=[transform] * 8)
        joints = types["sensor_msgs/msg/JointState"](header=header, name=[f"fr3_joint{i}" for i in range(1, 10)],
                                                     position=np.zeros(9), velocity=np.zeros(9), effort=np.zeros(9))
        text = lambda s: types["std_msgs/msg/String"](data=s)  # noqa: E731
        pose = types["geometry_msgs/msg/PoseStamped"](header=header, pose=types["geometry_msgs/msg/Pose"](
            position=types["geometry_msgs/msg/Point"](x=0.5, y=0.0, z=0.1),
            orientation=types["geometry_msgs/msg/Quaternion"](x=1.0, y=0.0, z=0.0, w=0.0)))
        stages = {}
        rec.write_rgbd(frame)
        rec.write("/realvlg/camera_pose", transform)
        rec.write("/realvlg/instruction", text("grasp the banana"), stamp)
        for i in range(100):
            rec.write("/tf", tf, stamp + i * 10_000_000)
        for i in range(50):
            rec.write("/joint_states", joints, stamp + i * 20_000_000)
        stages["capture"], kept[:] = list(kept), []
        rec.write("/realvlg/grounding", text('{"task": "contact", "contact": [1, 2, 3, 4]}'), stamp)
        stages["plan"], kept[:] = list(kept), []
        rec.write("/realvlg/grasp_pose", pose)
        stages["check"], kept[:] = list(kept), []
        rec.write("/realvlg/result", text('{"code": "SUCCESS"}'), stamp)
        stages["record"] = list(kept)
    return stages


def _write(rec: BagRecorder, messages) -> None:
    for topic, msgtype, stamp, data in messages:
        rec.write_cdr(topic, msgtype, data, stamp)


def run_end(path: Path, writes: dict) -> dict[str, float]:
    times, rec = {}, BagRecorder(path).open()
    for stage in STAGES:
        t0 = time.perf_counter()
        _write(rec, writes[stage])
        if stage == "record":
            rec.close()
        times[stage] = time.perf_counter() - t0
    return times


def run_commit(path: Path, writes: dict) -> dict[str, float]:
    times, rec = {}, BagRecorder(path).open()
    for stage in STAGES:
        t0 = time.perf_counter()
        _write(rec, writes[stage])
        rec.commit()
        times[stage] = time.perf_counter() - t0
    return times


def run_background(path: Path, writes: dict) -> dict[str, float]:
    times, rec = {}, BagRecorder(path).open()
    for stage in STAGES:
        t0 = time.perf_counter()
        _write(rec, writes[stage])
        rec.close() if stage == "record" else rec.commit(wait=False)
        times[stage] = time.perf_counter() - t0
    return times


def run_rewrite(path: Path, writes: dict) -> dict[str, float]:
    times, done = {}, []
    for n, stage in enumerate(STAGES):
        t0 = time.perf_counter()
        done.extend(writes[stage])
        tmp = path.with_name(f"{path.name}.{n}")
        with BagRecorder(tmp) as rec:
            _write(rec, done)
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
        times[stage] = time.perf_counter() - t0
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    w, h = args.width, args.height
    rng = np.random.default_rng(0)
    frame = RGBDFrame(rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                      (rng.integers(300, 1500, (h, w)) * 0.001).astype(np.float32),
                      CameraIntrinsics(w, h, 0.7 * w, 0.7 * w, w / 2, h / 2), 1.7e9)
    writes = stage_messages(frame)
    ways = {"end": run_end, "commit": run_commit, "background": run_background, "rewrite": run_rewrite}
    runs: dict[str, list] = {name: [] for name in ways}
    for i in range(args.repeats + 1):  # interleaved, so a load change hits all three; the first warms up
        for name, fn in ways.items():
            with tempfile.TemporaryDirectory() as tmp:
                times = fn(Path(tmp) / "bag", writes)
            if i:
                runs[name].append(times)
    print(f"{w}x{h}, median of {args.repeats} attempts, ms the attempt waits per stage")
    print(f"{'way':10s} " + " ".join(f"{s:>8s}" for s in STAGES) + f" {'total':>8s}")
    for name in ways:
        med = {s: statistics.median(r[s] for r in runs[name]) * 1e3 for s in STAGES}
        print(f"{name:10s} " + " ".join(f"{med[s]:8.1f}" for s in STAGES) + f" {sum(med.values()):8.1f}")


if __name__ == "__main__":
    main()
