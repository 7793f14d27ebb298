"""``realvlg coarse-grasp``: a box or mask on an RGB-D frame → the best 6-DoF grasps (camera frame).

Example (the GraspNet example frame, millimetre PNG)::

    realvlg coarse-grasp --color color.png --depth depth.png --depth-scale 0.001 \\
        --fx 631.55 --fy 631.21 --cx 638.44 --cy 366.50 --bbox 565,45,695,240 --top 3 --json

A GraspNet-1Billion frame, its camera from the scene's ``meta.mat`` (``intrinsic_matrix``; the
depth scale is ``1 / factor_depth`` unless ``--depth-scale`` is given), the grasps also written
as a graspnetAPI ``GraspGroup``::

    realvlg coarse-grasp --color rgb/0000.png --depth depth/0000.png --intrinsics meta/0000.mat \
        --bbox 565,45,695,240 --graspnet-npy grasps.npy

Prints the grasps best first (``--json``: ``{"grasps": [{position, quaternion (x, y, z, w),
approach, closing, width, score, score_parts}, ...]}``) and writes an overlay PNG (``--overlay``,
default ``coarse_grasp.png``): the box or mask and every grasp, the best one labelled.
``--graspnet-npy OUT.npy``: the printed grasps as a ``GraspGroup`` ``.npy`` (graspnetAPI's 17-float
rows and x = approach gripper frame, camera frame: :mod:`realvlg.planning.graspnet_io`), read back
with ``GraspGroup().from_npy(OUT.npy)``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from realvlg.cli.grasp_pose import add_depth_camera_arguments, intrinsics_from_args, parse_numbers
from realvlg.errors import InvalidInputError
from realvlg.geometry.boxes import BoundingBox
from realvlg.io import read_depth_raw, read_image
from realvlg.planning.graspnet_io import read_graspnet_meta, save_grasp_group


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "coarse-grasp", help="box or mask on an RGB-D frame → 6-DoF grasps (antipodal sampler or graspnet)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--color", required=True, metavar="IMG", help="colour image registered to the depth")
    add_depth_camera_arguments(p)
    region = p.add_mutually_exclusive_group(required=True)
    region.add_argument("--bbox", metavar="X1,Y1,X2,Y2", help="box around the object [px]")
    region.add_argument("--mask", metavar="FILE", help="object mask image (non-zero = object), same size")
    p.add_argument("--backend", choices=("antipodal", "graspnet"), default="antipodal",
                   help="antipodal: CPU sampler (default); graspnet: graspnet-baseline on a GPU")
    p.add_argument("--graspnet-code", default="", metavar="DIR", help="graspnet-baseline checkout (graspnet backend)")
    p.add_argument("--graspnet-checkpoint", default="", metavar="FILE", help="its checkpoint (graspnet backend)")
    p.add_argument("--top", type=int, default=5, metavar="K", help="how many grasps to print (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--overlay", default="coarse_grasp.png", metavar="OUT.png",
                   help="overlay image to write (default coarse_grasp.png)")
    p.add_argument("--graspnet-npy", default="", metavar="OUT.npy",
                   help="also write the grasps as a graspnetAPI GraspGroup .npy (camera frame)")
    # --intrinsics may be a GraspNet meta.mat, whose factor_depth sets the depth scale unless given
    p.set_defaults(func=run, depth_scale=None)


def _grasp_json(grasp) -> dict:
    d = grasp.as_dict()
    return {"position": d["position"], "quaternion": d["quaternion"], "approach": d["approach"],
            "closing": d["closing"], "width": d["width"], "score": d["score"],
            "score_parts": grasp.extras.get("score_parts", {})}


def _format_text(grasps: list[dict]) -> str:
    vec = lambda v: "[" + ", ".join(f"{x:+.4f}" for x in v) + "]"  # noqa: E731
    lines = []
    for i, g in enumerate(grasps, 1):
        parts = "  ".join(f"{k} {v:.2f}" for k, v in g["score_parts"].items())
        lines += [f"#{i} score {g['score']:.3f} ({parts})",
                  f"   position   {vec(g['position'])} m   width {g['width']:.4f} m",
                  f"   quaternion {vec(g['quaternion'])} (x, y, z, w)",
                  f"   approach   {vec(g['approach'])}   closing {vec(g['closing'])}"]
    return "\n".join(lines)


def _overlay(color: np.ndarray, plan, box: BoundingBox | None, mask, intrinsics, path: str) -> None:
    import cv2

    from realvlg.overlay import GREEN, MAGENTA, _caption, draw_grasp, save_image

    image = np.ascontiguousarray(color, dtype=np.uint8).copy()
    if mask is not None:
        image[mask] = (0.55 * image[mask] + 0.45 * np.array(MAGENTA)).astype(np.uint8)
    if box is not None:
        cv2.rectangle(image, (int(box.x_min), int(box.y_min)), (int(box.x_max), int(box.y_max)), GREEN,
                      max(1, image.shape[1] // 400), cv2.LINE_AA)
    for grasp in reversed(plan.grasps):  # the best drawn last, on top
        image = draw_grasp(image, grasp, intrinsics)
    best = plan.best
    parts = ", ".join(f"{k} {v:.2f}" for k, v in best.extras.get("score_parts", {}).items())
    _caption(image, [f"best of {len(plan.grasps)}: score {best.score:.2f} ({parts})"])
    try:
        save_image(image, path)
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot write the overlay ({exc})") from None


def _camera(args: argparse.Namespace, depth: np.ndarray):
    """(intrinsics, depth scale [m per unit]): ``--intrinsics`` a GraspNet ``meta.mat`` (its
    factor_depth gives the scale; a different ``--depth-scale`` is refused) or YAML, or ``--fx …``."""
    default_scale = 0.001 if args.depth_scale is None else args.depth_scale
    if not (args.intrinsics and args.intrinsics.lower().endswith(".mat")):
        return intrinsics_from_args(args, depth), default_scale
    intrinsics, scale = read_graspnet_meta(args.intrinsics, depth.shape[1], depth.shape[0])
    if args.depth_scale is not None and not np.isclose(args.depth_scale, scale, rtol=1e-6, atol=0.0):
        raise InvalidInputError(f"--depth-scale {args.depth_scale:g} contradicts {args.intrinsics}'s factor_depth "
                                f"(depth scale {scale:g} m per unit); leave --depth-scale out")
    return intrinsics, scale


def run(args: argparse.Namespace) -> int:
    from realvlg.planning.graspnet_backend import GraspNetConfig
    from realvlg.planning.planner import CoarsePlannerConfig, plan_coarse

    if args.top < 1:
        raise InvalidInputError(f"--top must be at least 1, got {args.top}")
    depth = read_depth_raw(args.depth)
    intrinsics, depth_scale = _camera(args, depth)
    color = read_image(args.color, "RGB", "colour image")
    if color.shape[:2] != depth.shape:
        raise InvalidInputError(f"colour image is {color.shape[1]}x{color.shape[0]}, depth is "
                                f"{depth.shape[1]}x{depth.shape[0]}: register them first")
    box = mask = None
    if args.bbox:
        box = BoundingBox(*parse_numbers(args.bbox, 4, "--bbox"))
    else:
        mask = read_image(args.mask, "L", "mask") > 0
        if mask.shape != depth.shape:
            raise InvalidInputError(f"mask is {mask.shape[1]}x{mask.shape[0]}, "
                                    f"depth is {depth.shape[1]}x{depth.shape[0]}")
    graspnet = GraspNetConfig(code_dir=args.graspnet_code, checkpoint=args.graspnet_checkpoint)
    config = CoarsePlannerConfig(backend=args.backend, graspnet=graspnet)
    plan = plan_coarse(depth, intrinsics, box=box, mask=mask, depth_scale=depth_scale, config=config,
                       top=args.top)
    _overlay(color, plan, box, mask, intrinsics, args.overlay)
    if args.graspnet_npy:
        save_grasp_group(plan.grasps, args.graspnet_npy)
    grasps = [_grasp_json(g) for g in plan.grasps]
    print(json.dumps({"grasps": grasps}) if args.json else _format_text(grasps))
    return 0
