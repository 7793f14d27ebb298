"""``realvlg camera-check``: grab N frames from a camera or a recording and report on them.

Prints the resolution, the frame rate measured (reads per second and by frame timestamps), the
colour intrinsics and the valid-depth fraction, and writes ``color.png`` and a colourised
``depth.png`` (turbo colour map over the 1st–99th percentile of valid depth, invalid = black) of
the last frame to ``--out``.

    realvlg camera-check                                   # the only RealSense connected
    realvlg camera-check --serial 123456789012 --frames 60
    realvlg camera-check --file capture.db3                # a librealsense recording (.bag/.db3)
    realvlg camera-check --backend replay --file run/bag   # a rosbag2 of realsense-ros topics
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from realvlg.cameras.camera import Camera, EndOfRecordingError, make_camera
from realvlg.errors import InvalidInputError
from realvlg.observation import RGBDFrame


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("camera-check", help="grab frames from a camera or recording, report and save PNGs",
                              description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="\n".join(__doc__.splitlines()[7:]))
    p.add_argument("--backend", choices=("realsense", "replay"), default="realsense")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--serial", help="RealSense serial number (default: the only device connected)")
    source.add_argument("--file", type=Path, help="recording: .bag/.db3 (realsense) or a rosbag2 (replay)")
    p.add_argument("--profile", default="d435i", help="RealSense stream preset (live only), e.g. d435i, d415")
    p.add_argument("--filters", default="",
                   help="RealSense depth filters, comma-separated: spatial,temporal,hole_filling")
    p.add_argument("--frames", type=int, default=30, help="frames to grab (default 30)")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for each frame")
    p.add_argument("--out", type=Path, default=Path("runs/camera-check"), help="folder for the PNGs")
    p.set_defaults(func=run)


def camera_from_args(args: argparse.Namespace) -> Camera:
    if args.backend == "replay":
        if args.file is None:
            raise InvalidInputError("--backend replay needs --file (a rosbag2 directory, .mcap or .db3)")
        from realvlg.cameras.replay import ReplayCameraConfig
        return make_camera(ReplayCameraConfig(path=args.file))
    from realvlg.cameras.realsense import RealSenseCameraConfig
    filters = tuple(f.strip() for f in args.filters.split(",") if f.strip())
    return make_camera(RealSenseCameraConfig(serial=args.serial, file=args.file, profile=args.profile, filters=filters))


def colorize_depth(depth: np.ndarray) -> np.ndarray:
    """BGR uint8 image of ``depth`` (metres): turbo over the 1st–99th percentile, invalid black."""
    valid = depth > 0
    out = np.zeros((*depth.shape, 3), np.uint8)
    if valid.any():
        lo, hi = np.percentile(depth[valid], (1, 99))
        scaled = np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1)
        out = cv2.applyColorMap((255 * scaled).astype(np.uint8), cv2.COLORMAP_TURBO)
        out[~valid] = 0
    return out


def run(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise InvalidInputError(f"--frames must be at least 1, got {args.frames}")
    frames: list[RGBDFrame] = []
    read_times: list[float] = []
    with camera_from_args(args) as cam:
        for _ in tqdm(range(args.frames), desc="camera-check", unit="frame", leave=False):
            try:
                frames.append(cam.read(timeout=args.timeout))
            except EndOfRecordingError:
                if not frames:
                    raise
                break
            read_times.append(time.perf_counter())
        info = getattr(cam, "device_info", {})
    last = frames[-1]
    n = len(frames)
    intr = last.intrinsics
    where = f"recording {args.file}" if args.file else f"device {args.serial or '(first found)'}"
    source = f"{args.backend} {where}"
    if info:
        source += " (" + ", ".join(f"{k} {v}" for k, v in info.items()) + ")"
    print(f"source       {source}")
    if n < args.frames:
        print(f"note         the recording ended after {n} of {args.frames} frames")
    if n > 1:
        read_fps = (n - 1) / max(read_times[-1] - read_times[0], 1e-9)
        stamp_fps = (n - 1) / max(frames[-1].timestamp - frames[0].timestamp, 1e-9)
        print(f"frames       {n}: {read_fps:.1f} frames/s read, {stamp_fps:.1f} frames/s by timestamps")
    else:
        print("frames       1 (grab at least 2 to measure a frame rate)")
    print(f"resolution   {last.width}x{last.height} colour, depth aligned to colour, frame {last.frame_id}")
    print(f"intrinsics   fx={intr.fx:.2f} fy={intr.fy:.2f} cx={intr.cx:.2f} cy={intr.cy:.2f} "
          f"distortion={list(intr.distortion)}")
    valid = last.depth[last.valid_depth]
    fractions = np.array([f.valid_depth_fraction for f in frames])
    depth_line = f"valid {100 * last.valid_depth_fraction:.1f} % (last frame; mean {100 * fractions.mean():.1f} %)"
    if valid.size:
        depth_line += f", {valid.min():.3f}–{valid.max():.3f} m, median {np.median(valid):.3f} m"
    print(f"depth        {depth_line}, scale {last.depth_scale:g} m")
    args.out.mkdir(parents=True, exist_ok=True)
    color_png, depth_png = args.out / "color.png", args.out / "depth.png"
    cv2.imwrite(str(color_png), last.color[..., ::-1])
    cv2.imwrite(str(depth_png), colorize_depth(last.depth))
    print(f"wrote        {color_png}, {depth_png}")
    return 0
