"""``realvlg calibrate``: hand-eye calibration from a folder of board images, or collected in simulation.

Examples::

    realvlg calibrate --from-folder runs/calib --out calibration/fr3_d435i.yaml
    realvlg calibrate --from-folder runs/fixed_cam --mode eye-to-hand --out calibration/fixed.yaml --json
    realvlg calibrate --sim --save-folder runs/sim_calib --out calibration/sim_calibrated.yaml
    realvlg calibrate --robot 172.16.0.2 --board board.yaml --guess calibration/fr3_d435i_eye_in_hand.yaml \\
        --save-folder runs/calib --out calibration/fr3_d435i.yaml

The result is written as the mount to the camera's root frame, ee←``camera_link`` (realsense-ros's
convention; the solved ee←``camera_color_optical_frame`` is shown too and kept in ``--json``'s
``transform``). The folder holds the images and a ``samples.yaml`` (board, camera intrinsics, and per image the
robot pose base←ee; see docs/calibration.md). ``--sim`` starts the simulated FR3 with a ChArUco
board on the table, sweeps the robot through safe poses around the observation pose, saves the
folder there and solves it. ``--robot`` does the same live: a Franka (franky) and a RealSense
wrist camera, the sweep going round the point ``--pivot-distance`` ahead of the camera (place the
robot so the board is there, in the middle of the image). Every OpenCV method runs; the one with
the lowest reprojection error is written unless ``--method`` picks one. Bad data (board missing
from most images, too few poses, rotations about one axis) exits with code 2 and says what to
collect.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import tempfile
import time

import yaml

from realvlg.calibration.solve import DEFAULT_FRAMES, METHODS, MODES, CalibrationResult, observe, solve
from realvlg.errors import InvalidInputError
from realvlg.geometry.transforms import save_transform


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("calibrate", help="hand-eye calibration of the camera (eye-in-hand or fixed)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-folder", metavar="DIR", type=pathlib.Path,
                        help="folder with the board images and samples.yaml")
    source.add_argument("--sim", action="store_true", help="collect in simulation (needs the sim extra), then solve")
    source.add_argument("--robot", metavar="ADDRESS",
                        help="collect live: sweep this Franka (franky) with a RealSense on the hand, then solve")
    p.add_argument("--mode", choices=MODES, default="eye-in-hand",
                   help="eye-in-hand: camera on the hand, writes ee←camera; eye-to-hand: fixed camera, board in the "
                        "hand, writes base←camera (default eye-in-hand)")
    p.add_argument("--out", required=True, type=pathlib.Path, metavar="FILE.yaml", help="calibration file to write")
    p.add_argument("--json", action="store_true", help="print the transform, residuals and every method as JSON")
    p.add_argument("--method", choices=METHODS, help="write this method's solution (default: lowest reprojection)")
    p.add_argument("--ee-frame", default=DEFAULT_FRAMES["ee"], help=f"ee frame (default {DEFAULT_FRAMES['ee']})")
    p.add_argument("--base-frame", default=DEFAULT_FRAMES["base"],
                   help=f"robot base frame (default {DEFAULT_FRAMES['base']})")
    p.add_argument("--camera-frame", default=DEFAULT_FRAMES["camera"],
                   help=f"camera optical frame (default {DEFAULT_FRAMES['camera']})")
    sweep = p.add_argument_group("collection (--sim, --robot)")
    sweep.add_argument("--save-folder", type=pathlib.Path, metavar="DIR",
                       help="where the collected images and samples.yaml go (default: a temporary folder)")
    sweep.add_argument("--poses", type=int, default=12, help="number of robot poses (default 12)")
    sweep.add_argument("--board", type=pathlib.Path, metavar="FILE.yaml",
                       help="the board, as samples.yaml's board mapping (needed with --robot; --sim: its own)")
    sweep.add_argument("--resolution", default="640x480", metavar="WxH", help="--sim: rendered image size (640x480)")
    sweep.add_argument("--camera-serial", help="--robot: RealSense serial number (default: the only one)")
    sweep.add_argument("--realtime", choices=("enforce", "ignore"), default="enforce",
                       help="--robot: libfranka realtime mode (enforce needs a PREEMPT_RT kernel)")
    sweep.add_argument("--pivot-distance", type=float, default=0.45, metavar="M",
                       help="--robot: the board's distance ahead of the camera at the start pose (default 0.45)")
    sweep.add_argument("--guess", type=pathlib.Path, metavar="FILE.yaml",
                       help="--robot: an approximate ee←camera (e.g. the nominal mount) to aim the sweep with")
    sweep.add_argument("--yes", action="store_true", help="--robot: start moving without asking")
    p.set_defaults(func=run)


def _resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InvalidInputError(f"--resolution must be WxH, e.g. 640x480, got {text!r}") from None
    if w < 64 or h < 48:
        raise InvalidInputError(f"--resolution {w}x{h} is too small")
    return w, h


def _summary(result: CalibrationResult, out: pathlib.Path) -> str:
    t, q = result.transform.translation, result.transform.quaternion_xyzw
    mount = result.mount()
    best = result.methods[result.method]
    lines = [f"{result.transform.parent}←{result.transform.child} ({result.mode}, {result.method}, "
             f"{result.samples} of {result.images} images)",
             f"  translation [m]   {' '.join(f'{v:+.5f}' for v in t)}",
             f"  quaternion xyzw   {' '.join(f'{v:+.6f}' for v in q)}",
             f"written as {mount.parent}←{mount.child} → {out}",
             f"  translation [m]   {' '.join(f'{v:+.5f}' for v in mount.translation)}",
             f"  quaternion xyzw   {' '.join(f'{v:+.6f}' for v in mount.quaternion_xyzw)}",
             f"  board spread      {best.board_spread_m[0] * 1e3:.2f} mm RMS, "
             f"{best.board_spread_m[1] * 1e3:.2f} mm max, "
             f"{math.degrees(best.board_spread_rad[0]):.3f}° RMS",
             f"  reprojection      {best.reprojection_px:.3f} px RMS (PnP alone {result.pnp_reprojection_px:.3f} px)",
             f"  methods agree to  {result.consistency['translation_m'] * 1e3:.2f} mm, "
             f"{math.degrees(result.consistency['rotation_rad']):.3f}° ({', '.join(result.consistency['methods'])})",
             "  method       translation [m]                 spread max [mm]  reproj [px]"]
    for name, r in result.methods.items():
        lines.append(f"  {name:<11}  {' '.join(f'{v:+.5f}' for v in r.X[:3, 3])}  {r.board_spread_m[1] * 1e3:14.2f}  "
                     f"{r.reprojection_px:11.3f}{'  ← written' if name == result.method else ''}")
    lines += [f"  not used: {name}: {why}" for name, why in result.rejected.items()]
    lines += [f"  warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def _board(path: pathlib.Path | None):
    from realvlg.calibration.board import BoardSpec

    if path is None:
        return None
    try:
        return BoardSpec.from_dict(yaml.safe_load(path.read_text()), str(path))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{path} is not valid YAML: {exc}") from None


def _collect_live(args: argparse.Namespace, folder: pathlib.Path) -> None:
    """Sweep a real Franka with a RealSense on the hand and save the folder (see the module docstring)."""
    from realvlg.calibration.data import save_folder
    from realvlg.calibration.sweep import pivot_ahead, sweep_robot
    from realvlg.cameras import make_camera
    from realvlg.cameras.realsense import RealSenseCameraConfig
    from realvlg.geometry.camera_mount import link_from_optical, load_camera_mount
    from realvlg.robots.franka import FrankaConfig, FrankaExecutor

    board = _board(args.board)
    if board is None:
        raise InvalidInputError("--robot needs --board FILE.yaml (the printed board: type, squares, lengths, "
                                "dictionary)")
    guess = (load_camera_mount(args.guess) @ link_from_optical()).matrix if args.guess else None
    executor = FrankaExecutor(FrankaConfig(address=args.robot, realtime=args.realtime))
    executor.connect()
    try:
        pivot = pivot_ahead(executor.current_pose(), args.pivot_distance, guess)
        if not args.yes and input(f"The robot will move through {args.poses} poses tilted up to 25° about "
                                  f"{pivot.round(3).tolist()} and return. Clear the workspace; start? [y/N] "
                                  ).strip().lower() != "y":
            raise InvalidInputError("calibration sweep cancelled")
        with make_camera(RealSenseCameraConfig(serial=args.camera_serial)) as camera:
            def grab():
                for _ in range(5):   # drop frames queued while the robot moved
                    frame = camera.read(timeout=2.0)
                return frame.color

            images, measured = sweep_robot(executor, grab, pivot, args.poses, settle=lambda: time.sleep(0.5),
                                           progress=not args.json)
            save_folder(folder, board, camera.intrinsics, images, measured)
    finally:
        executor.disconnect()


def run(args: argparse.Namespace) -> int:
    from realvlg.calibration.data import load_folder

    folder = args.from_folder
    if (args.sim or args.robot) and args.poses < 1:
        raise InvalidInputError(f"--poses must be ≥ 1, got {args.poses}")
    if args.robot:
        if args.mode != "eye-in-hand":
            raise InvalidInputError("--robot sweeps a hand-mounted camera: use --mode eye-in-hand")
        folder = args.save_folder or pathlib.Path(tempfile.mkdtemp(prefix="realvlg-calibration-"))
        _collect_live(args, folder)
        print(f"samples saved to {folder}", file=sys.stderr)
    if args.sim:
        if args.mode != "eye-in-hand":
            raise InvalidInputError("--sim simulates the wrist camera: use --mode eye-in-hand")
        width, height = _resolution(args.resolution)
        try:
            import franky  # noqa: F401
            import franky_sim  # noqa: F401

            from realvlg.calibration.sim import collect_sim_folder
        except ImportError as exc:
            raise InvalidInputError(f"--sim needs the simulator (pip install -e '.[sim]'): {exc}") from None
        folder = args.save_folder or pathlib.Path(tempfile.mkdtemp(prefix="realvlg-calibration-"))
        kw = {"board": board} if (board := _board(args.board)) else {}
        collect_sim_folder(folder, count=args.poses, width=width, height=height, progress=not args.json, **kw)
        print(f"samples saved to {folder}", file=sys.stderr)
    data = load_folder(folder)
    observations, rejected = observe(data.board, data.intrinsics, list(data.read_images()))
    result = solve(observations, data.intrinsics, data.board, args.mode, images=len(data.images), rejected=rejected,
                   method=args.method, ee_frame=args.ee_frame, base_frame=args.base_frame,
                   camera_frame=args.camera_frame)
    save_transform(result.mount(), args.out, **result.metadata())
    if args.json:
        print(json.dumps(result.as_dict() | {"out": str(args.out)}, indent=2))
    else:
        print(_summary(result, args.out))
    return 0
