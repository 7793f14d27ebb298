"""Camera topics across processes: 1280x720 rgb8 + 16UC1 depth at 30 Hz, with and without realvlg's
Fast DDS profile (config/fastdds.xml), measured in the same run.

For each transport a publisher process and a subscriber process (both started through
realvlg.ros.process, the way realvlg starts its nodes) exchange the two streams for --seconds;
the publisher encodes every frame with realvlg.ros.conversions.image_to_msg and stamps it with
the wall clock just before publishing, the subscriber decodes it (image_from_msg) and records
receive time − stamp. Printed: sent, received, received/sent and latency p50 / p90 per stream,
and the ratios of the default transport to the profile.

    .venv/bin/python bench/camera_topics.py [--seconds 5] [--rate 30] [--rounds 1]

QoS: reliable, keep-last 10 (what a grasp pipeline that needs every synchronised pair uses).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

COLOR_TOPIC = "camera/camera/color/image_raw"   # relative: each run gets a namespace of its own
DEPTH_TOPIC = "camera/camera/aligned_depth_to_color/image_raw"
WIDTH, HEIGHT = 1280, 720
IDLE_S = 3.0   # the subscriber reports once nothing arrived for this long


def qos():
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    return QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def run_publisher(seconds: float, rate: float) -> None:
    import rclpy
    from sensor_msgs.msg import Image

    from realvlg.ros.conversions import image_to_msg, stamp_to_msg

    rclpy.init(args=sys.argv)
    node = rclpy.create_node("bench_camera_publisher")
    color_pub = node.create_publisher(Image, COLOR_TOPIC, qos())
    depth_pub = node.create_publisher(Image, DEPTH_TOPIC, qos())
    rng = np.random.default_rng(0)
    frames = [(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8),
               rng.integers(0, 5000, (HEIGHT, WIDTH), dtype=np.uint16)) for _ in range(4)]
    print("READY", flush=True)
    deadline = time.monotonic() + 60
    while min(color_pub.get_subscription_count(), depth_pub.get_subscription_count()) == 0:
        if time.monotonic() > deadline:
            raise SystemExit("no subscriber within 60 s")
        time.sleep(0.05)
    time.sleep(1.0)   # let both readers finish matching
    sent = 0
    start = time.monotonic()
    for i in range(int(seconds * rate)):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        rgb, depth = frames[i % len(frames)]
        color_msg = image_to_msg(rgb, "rgb8", "camera_color_optical_frame")
        depth_msg = image_to_msg(depth, "16UC1", "camera_color_optical_frame")
        color_msg.header.stamp = stamp_to_msg(time.time())
        color_pub.publish(color_msg)
        depth_msg.header.stamp = stamp_to_msg(time.time())
        depth_pub.publish(depth_msg)
        sent += 1
    print(f"SENT {json.dumps({'sent': sent, 'seconds': time.monotonic() - start})}", flush=True)
    time.sleep(1.0)   # reliable: keep the writer alive while the last samples are acknowledged
    node.destroy_node()
    rclpy.try_shutdown()


def run_subscriber(seconds: float) -> None:
    """Receives until the streams have been idle for IDLE_S after the first message (or a cap)."""
    import rclpy
    from sensor_msgs.msg import Image

    from realvlg.ros.conversions import image_from_msg, stamp_from_msg

    latencies: dict[str, list[float]] = {"color": [], "depth": []}
    last = [0.0]

    def on_image(msg, stream: str) -> None:
        now = time.time()
        image_from_msg(msg)
        latencies[stream].append(now - stamp_from_msg(msg.header.stamp))
        last[0] = time.monotonic()

    rclpy.init(args=sys.argv)
    node = rclpy.create_node("bench_camera_subscriber")
    node.create_subscription(Image, COLOR_TOPIC, lambda m: on_image(m, "color"), qos())
    node.create_subscription(Image, DEPTH_TOPIC, lambda m: on_image(m, "depth"), qos())
    print("READY", flush=True)
    cap = time.monotonic() + seconds + 120
    while time.monotonic() < cap and not (last[0] and time.monotonic() - last[0] > IDLE_S):
        rclpy.spin_once(node, timeout_sec=0.1)
    print(f"RESULT {json.dumps(latencies)}", flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


def codec_timings(reps: int = 20) -> dict[str, np.ndarray]:
    """ms per 1280x720 rgb8 frame: realvlg's encode/decode and the obvious alternatives (bytes or an
    ndarray given to the ``Image`` constructor, ``np.array(msg.data)``), in this process."""
    from sensor_msgs.msg import Image

    from realvlg.ros.conversions import image_from_msg, image_to_msg

    rgb = np.random.default_rng(1).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    msg = image_to_msg(rgb)

    def array_encode() -> None:
        Image(height=HEIGHT, width=WIDTH, encoding="rgb8", step=WIDTH * 3, data=rgb.ravel())

    def constructor_encode() -> None:
        Image(height=HEIGHT, width=WIDTH, encoding="rgb8", step=WIDTH * 3, data=rgb.tobytes())

    def timed(fn, n: int) -> np.ndarray:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1e3)
        return np.array(out)

    return {"encode image_to_msg (tobytes)": timed(lambda: image_to_msg(rgb), reps),
            "encode peer: Image(data=bytes)": timed(constructor_encode, reps),
            "encode peer: Image(data=ndarray)": timed(array_encode, 3),
            "decode image_from_msg (zero-copy)": timed(lambda: image_from_msg(msg), reps),
            "decode image_from_msg(copy=True)": timed(lambda: image_from_msg(msg, copy=True), reps),
            "decode peer: np.array(msg.data)": timed(lambda: np.array(msg.data, np.uint8).reshape(HEIGHT, WIDTH, 3), 3)}


def measure(dds_profile: bool, seconds: float, rate: float) -> dict:
    from realvlg.ros.process import RosChildProcess

    script = os.path.abspath(__file__)
    ros_args = ["--ros-args", "-r", f"__ns:=/realvlg_bench_{os.getpid()}_{int(dds_profile)}"]
    with RosChildProcess([script, "--role", "sub", "--seconds", str(seconds), *ros_args], name="subscriber",
                         dds_profile=dds_profile) as sub, \
            RosChildProcess([script, "--role", "pub", "--seconds", str(seconds), "--rate", str(rate), *ros_args],
                            name="publisher", dds_profile=dds_profile) as pub:
        sub.wait_for_line("READY", 90)
        pub.wait_for_line("READY", 90)
        sent = json.loads(pub.wait_for_line("SENT", seconds + 150).split(" ", 1)[1])
        latencies = json.loads(sub.wait_for_line("RESULT", 150).split(" ", 1)[1])
    return {"sent": sent["sent"], "seconds": sent["seconds"], "latencies": latencies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("bench", "pub", "sub"), default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the two transports this many times")
    argv = sys.argv[1:]
    args = parser.parse_args(argv[:argv.index("--ros-args")] if "--ros-args" in argv else argv)
    if args.role == "pub":
        return run_publisher(args.seconds, args.rate)
    if args.role == "sub":
        return run_subscriber(args.seconds)

    from tqdm import tqdm

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    os.environ.setdefault("ROS_HOME", tempfile.mkdtemp(prefix="realvlg-bench-ros-"))
    configs = {"default transports": False, "realvlg SHM profile": True}
    totals = {name: {"sent": 0, "color": [], "depth": []} for name in configs}
    runs = [(name, shm) for _ in range(args.rounds) for name, shm in configs.items()]
    for name, shm in tqdm(runs, desc="transports", unit="run"):
        result = measure(shm, args.seconds, args.rate)
        totals[name]["sent"] += result["sent"]
        for stream in ("color", "depth"):
            totals[name][stream] += result["latencies"][stream]

    print(f"\n{WIDTH}x{HEIGHT} rgb8 ({WIDTH * HEIGHT * 3 / 1e6:.2f} MB) + 16UC1 ({WIDTH * HEIGHT * 2 / 1e6:.2f} MB) "
          f"at {args.rate:g} Hz for {args.seconds:g} s x {args.rounds}, reliable keep-last 10, {os.cpu_count()} CPUs")
    print(f"{'transport':<22}{'stream':<8}{'received/sent':>15}{'p50 ms':>9}{'p90 ms':>9}{'max ms':>9}")
    summary = {}
    for name in configs:
        for stream in ("color", "depth"):
            lat = np.array(totals[name][stream]) * 1e3
            sent = totals[name]["sent"]
            p50, p90, worst = (np.percentile(lat, [50, 90, 100]) if len(lat) else (np.nan,) * 3)
            summary[name, stream] = (len(lat), sent, p50, p90)
            print(f"{name:<22}{stream:<8}{f'{len(lat)}/{sent}':>15}{p50:>9.1f}{p90:>9.1f}{worst:>9.1f}")
    print("\nencode/decode of one rgb8 frame in one process (ms):")
    codec = codec_timings()
    for name, ms in codec.items():
        print(f"  {name:<36} p50 {np.median(ms):9.3f}")
    base = np.median(codec["encode image_to_msg (tobytes)"])
    ctor = np.median(codec["encode peer: Image(data=bytes)"]) / base
    arr = np.median(codec["encode peer: Image(data=ndarray)"]) / base
    dec = np.median(codec["decode peer: np.array(msg.data)"]) / np.median(codec["decode image_from_msg (zero-copy)"])
    print(f"  image_to_msg is x{ctor:.0f} faster than Image(data=bytes) and x{arr:.0f} faster than "
          f"Image(data=ndarray); image_from_msg is x{dec:.0f} faster than np.array(msg.data)")
    print("\ndefault / profile:")
    for stream in ("color", "depth"):
        d, p = summary["default transports", stream], summary["realvlg SHM profile", stream]
        print(f"  {stream}: p50 latency x{d[2] / p[2]:.1f}, p90 latency x{d[3] / p[3]:.1f}, "
              f"dropped {d[1] - d[0]} vs {p[1] - p[0]}")


if __name__ == "__main__":
    sys.exit(main())
