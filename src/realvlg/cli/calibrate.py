"""``realvlg calibrate``: hand-eye calibration from a folder of board images, or collected in simulation.

Examples::

    realvlg calibrate --from-folder runs/calib --out calibration/fr3_d435i.yaml
    realvlg calibrate --from-folder runs/fixed_cam --mode eye-to-hand --out calibration/fixed.yaml --json
    realvlg calibrate --sim --save-folder runs/sim_calib --out calibration/sim_calibrated.yaml

The folder holds the images and a ``samples.yaml`` (board, camera intrinsics, and per image the
robot pose base←ee; see docs/calibration.md). ``--sim`` starts the simulated FR3 with a ChArUco
board on the table, sweeps the robot through safe poses around the observation pose, saves the
folder there and solves it. Every OpenCV method runs; the one with the lowest reprojection error
is written unless ``--method`` picks one. Bad data (board missing from most images, too few poses,
rotations about one axis) exits with code 2 and says what to collect.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import tempfile

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
    sim = p.add_argument_group("simulation (--sim)")
    sim.add_argument("--save-folder", type=pathlib.Path, metavar="DIR",
                     help="where the collected images and samples.yaml go (default: a temporary folder)")
    sim.add_argument("--poses", type=int, default=12, help="number of robot poses (default 12)")
    sim.add_argument("--resolution", default="640x480", metavar="WxH", help="rendered image size (default 640x480)")
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
    best = result.methods[result.method]
    lines = [f"{result.transform.parent}←{result.transform.child} ({result.mode}, {result.method}, "
             f"{result.samples} of {result.images} images) → {out}",
             f"  translation [m]   {' '.join(f'{v:+.5f}' for v in t)}",
             f"  quaternion xyzw   {' '.join(f'{v:+.6f}' for v in q)}",
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


def run(args: argparse.Namespace) -> int:
    from realvlg.calibration.data import load_folder

    folder = args.from_folder
    if args.sim:
        if args.mode != "eye-in-hand":
            raise InvalidInputError("--sim simulates the wrist camera: use --mode eye-in-hand")
        if args.poses < 1:
            raise InvalidInputError(f"--poses must be ≥ 1, got {args.poses}")
        width, height = _resolution(args.resolution)
        try:
            from realvlg.calibration.sim import collect_sim_folder
            import franky  # noqa: F401
            import franky_sim  # noqa: F401
        except ImportError as exc:
            raise InvalidInputError(f"--sim needs the simulator (pip install -e '.[sim]'): {exc}") from None
        folder = args.save_folder or pathlib.Path(tempfile.mkdtemp(prefix="realvlg-calibration-"))
        collect_sim_folder(folder, count=args.poses, width=width, height=height, progress=not args.json)
        print(f"samples saved to {folder}", file=sys.stderr)
    data = load_folder(folder)
    observations, rejected = observe(data.board, data.intrinsics, list(data.read_images()))
    result = solve(observations, data.intrinsics, data.board, args.mode, images=len(data.images), rejected=rejected,
                   method=args.method, ee_frame=args.ee_frame, base_frame=args.base_frame,
                   camera_frame=args.camera_frame)
    save_transform(result.transform, args.out, **result.metadata())
    if args.json:
        print(json.dumps(result.as_dict() | {"out": str(args.out)}, indent=2))
    else:
        print(_summary(result, args.out))
    return 0
