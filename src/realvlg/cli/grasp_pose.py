"""``realvlg grasp-pose``: a 2D grasp on a depth image → the 6-DoF grasp it means.

Example (the GraspNet example frame, millimetre PNG)::

    realvlg grasp-pose --depth depth.png --depth-scale 0.001 \\
        --fx 631.55 --fy 631.21 --cx 638.44 --cy 366.50 --contact 600,400,660,400 --json
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.frames import FRANKA_HAND_STROKE
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.camera_mount import to_optical
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.geometry.lift import LiftConfig, lift_grasp
from realvlg.geometry.transforms import load_transform
from realvlg.io import read_depth_raw, read_image, read_intrinsics


def parse_numbers(text: str, count: int, what: str) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidInputError(f"{what} needs {count} comma-separated numbers, got {text!r}") from None
    if len(values) != count:
        raise InvalidInputError(f"{what} needs {count} comma-separated numbers, got {len(values)} in {text!r}")
    if not all(math.isfinite(v) for v in values):
        raise InvalidInputError(f"{what} needs finite numbers, got {text!r}")
    return values


def add_depth_camera_arguments(p: argparse.ArgumentParser) -> None:
    """``--depth``, ``--depth-scale`` and the camera (``--intrinsics`` or ``--fx --fy --cx --cy``),
    shared by the commands that read a depth image; resolve with :func:`intrinsics_from_args`."""
    p.add_argument("--depth", required=True, metavar="FILE", help="depth image: 16-bit PNG, .npy or float TIFF")
    p.add_argument("--depth-scale", type=float, default=0.001, metavar="M",
                   help="metres per unit of integer depth (default 0.001); float files are metres")
    cam = p.add_mutually_exclusive_group(required=True)
    cam.add_argument("--intrinsics", metavar="FILE.yaml", help="realvlg or ROS camera_info intrinsics YAML")
    cam.add_argument("--fx", type=float, help="focal length x [px] (with --fy --cx --cy)")
    for name in ("fy", "cx", "cy"):
        p.add_argument(f"--{name}", type=float, help=f"{name} [px] (with --fx)")
    p.add_argument("--width", type=int, help="image width for --fx… (default: the depth image's)")
    p.add_argument("--height", type=int, help="image height for --fx… (default: the depth image's)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "grasp-pose", help="lift a 2D grasp (contacts or rectangle) on a depth image to a 6-DoF grasp",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_depth_camera_arguments(p)
    grasp = p.add_mutually_exclusive_group(required=True)
    grasp.add_argument("--contact", metavar="X1,Y1,X2,Y2", help="two contact points [px]")
    grasp.add_argument("--rect", metavar="X,Y,THETA_DEG,WIDTH",
                       help="rectangle grasp: centre [px], angle [deg], opening [px]")
    p.add_argument("--extrinsics", metavar="FILE.yaml",
                   help="calibration YAML parent←camera (parent, child, translation [m], quaternion xyzw): "
                        "report the grasp in its parent frame; the camera frame is its child (a realvlg "
                        "mount to camera_link goes on through the nominal D435i chain to the colour optical frame)")
    p.add_argument("--max-width", type=float, default=FRANKA_HAND_STROKE, metavar="M",
                   help=f"gripper's widest opening [m] (default {FRANKA_HAND_STROKE}, Franka Hand)")
    p.add_argument("--approach", choices=("ray", "normal", "blend"), default="ray",
                   help="approach axis from the viewing ray, the surface normal or both (default ray)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--annotate", metavar="OUT.png", help="also write an image with the grasp drawn on it")
    p.add_argument("--image", metavar="COLOR.png",
                   help="colour image registered to the depth to draw on (default: colour-mapped depth)")
    p.set_defaults(func=run)


def intrinsics_from_args(args: argparse.Namespace, depth: np.ndarray) -> CameraIntrinsics:
    if args.intrinsics:
        return read_intrinsics(args.intrinsics)
    missing = [f"--{n}" for n in ("fy", "cx", "cy") if getattr(args, n) is None]
    if missing:
        raise InvalidInputError(f"--fx needs {' '.join(missing)} as well")
    width = args.width if args.width is not None else depth.shape[1]
    height = args.height if args.height is not None else depth.shape[0]
    return CameraIntrinsics(width, height, args.fx, args.fy, args.cx, args.cy)


def _load_extrinsics(path: str):
    try:
        return to_optical(load_transform(path))   # a mount to camera_link: through the nominal D435i chain
    except InvalidInputError as exc:  # YAML parser messages span several lines: keep the one-line contract
        raise InvalidInputError(" ".join(str(exc).split())) from None


def _format_text(d: dict) -> str:
    vec = lambda v: "[" + ", ".join(f"{x:+.4f}" for x in v) + "]"  # noqa: E731
    return "\n".join([
        f"frame:      {d['frame']}",
        f"position:   {vec(d['position'])} m",
        f"quaternion: {vec(d['quaternion'])} (x, y, z, w)",
        f"width:      {d['width']:.4f} m",
        f"approach:   {vec(d['approach'])}",
        f"closing:    {vec(d['closing'])}",
    ])


def _annotate(args: argparse.Namespace, grasp, depth: np.ndarray, intrinsics: CameraIntrinsics) -> None:

    from realvlg.geometry.projection import depth_to_metres
    from realvlg.overlay import depth_to_rgb, draw_grasp, save_image

    if args.image:
        image = read_image(args.image, what="colour image")
    else:
        image = depth_to_rgb(depth_to_metres(depth, args.depth_scale))
    try:
        save_image(draw_grasp(image, grasp, intrinsics, grasp.extras["contacts_px"]), args.annotate)
    except OSError as exc:
        raise InvalidInputError(f"{args.annotate}: cannot write the annotated image ({exc})") from None


def run(args: argparse.Namespace) -> int:
    depth = read_depth_raw(args.depth)
    intrinsics = intrinsics_from_args(args, depth)
    if args.contact:
        grasp2d = ContactPair(*parse_numbers(args.contact, 4, "--contact"))
    else:
        grasp2d = RectGrasp.from_degrees(*parse_numbers(args.rect, 4, "--rect"))
    if not math.isfinite(args.max_width) or args.max_width <= 0:
        raise InvalidInputError(f"--max-width must be a positive number of metres, got {args.max_width}")
    transform = _load_extrinsics(args.extrinsics) if args.extrinsics else None
    frame = transform.child if transform is not None else LiftConfig.frame
    config = LiftConfig(max_width=args.max_width, approach=args.approach, frame=frame)
    grasp = lift_grasp(grasp2d, depth, intrinsics, config, depth_scale=args.depth_scale)
    if args.annotate:
        _annotate(args, grasp, depth, intrinsics)
    if transform is not None:
        grasp = transform.apply_to_grasp(grasp)  # the camera frame is the transform's child
    result = grasp.as_dict()
    result.pop("score")
    print(json.dumps(result) if args.json else _format_text(result))
    return 0
