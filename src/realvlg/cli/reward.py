"""``realvlg reward``: score one completion against one annotated sample and print every
component of the reward — for designing and debugging rewards (see docs/training.md).

    realvlg reward --task bbox --variant official \\
        --completion '<think>…</think><answer>(5,0),(15,10)</answer>' --sample '{"bbox": [0, 0, 10, 10]}'

``--sample`` is one record in the RealVLG-11B annotation format (``bbox``, ``grasps``,
``contact_points``, ``mask_path``; optional ``image_size`` [W, H]) — JSON text, or ``@file.json``.
Relative mask paths are read from ``--root`` (default: the sample file's folder, else the
current directory). The predicted mask of the seg task is the filled predicted box, or SAM2's
mask of it with ``--sam2-checkpoint DIR --image IMAGE``.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.grounding.backend import TASKS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("reward", help="print a completion's training reward and its components",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--variant", default="official", choices=("paper", "official"))
    p.add_argument("--completion", required=True, help="the model's text (or @file)")
    p.add_argument("--sample", required=True, help="one annotation record as JSON (or @file.json)")
    p.add_argument("--root", default="", help="folder that relative mask paths start from")
    p.add_argument("--iou-threshold", type=float, default=0.5, help="τ of the paper variant")
    p.add_argument("--format-weight", type=float, default=0.1, help="α; the task term gets 1 − α")
    p.add_argument("--sam2-checkpoint", default="", help="seg: mask the predicted box with this SAM2 folder")
    p.add_argument("--image", default="", help="seg with SAM2: the image the model saw")
    p.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    p.set_defaults(func=run)


def _text(value: str) -> tuple[str, pathlib.Path | None]:
    if value.startswith("@"):
        path = pathlib.Path(value[1:])
        try:
            return path.read_text(encoding="utf-8"), path.resolve().parent
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc}") from None
    return value, None


def run(args: argparse.Namespace) -> int:
    from training.rewards import RewardConfig, compute_reward, parse_sample

    completion, _ = _text(args.completion)
    sample_text, sample_dir = _text(args.sample)
    sample = parse_sample(sample_text)
    sample.setdefault("root", args.root or str(sample_dir or "."))
    config = RewardConfig(variant=args.variant, iou_threshold=args.iou_threshold, format_weight=args.format_weight)
    segmenter = image = None
    if args.sam2_checkpoint:
        from PIL import Image

        from training.rewards import sam2_segmenter

        if not args.image:
            raise InvalidInputError("--sam2-checkpoint needs --image")
        try:
            with Image.open(args.image) as pil:
                image = np.asarray(pil.convert("RGB"))
        except OSError as exc:
            raise InvalidInputError(f"cannot read the image {args.image}: {exc}") from None
        segmenter = sam2_segmenter(args.sam2_checkpoint, "cpu")
    result = compute_reward(args.task, completion, sample, config, segmenter=segmenter, image=image)
    if args.json:
        print(json.dumps({"task": args.task, "variant": args.variant, **result.as_dict()}))
        return 0
    print(f"reward   {result.total:.6f}   = {config.format_weight:g}·format + {1 - config.format_weight:g}·task")
    print(f"format   {result.format:.6f}")
    print(f"task     {result.task:.6f}   ({args.task}, {args.variant} variant)")
    for key, value in result.parts.items():
        print(f"  {key:14s} {value:.6f}" if isinstance(value, float) else f"  {key:14s} {value}")
    return 0
