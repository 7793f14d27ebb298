"""``realvlg eval``: score a predictions file on the RealVLG benchmark, or tabulate results.

    realvlg eval --task bbox|seg|grasp|contact --annotations ann.json --predictions pred.jsonl \\
        [--protocol standard|realvlg-r1] [--out results.json] [--report-dir DIR]
    realvlg eval --table results/*.json [--out table.md]

See :mod:`realvlg.metrics.benchmark` for the predictions format and
:mod:`realvlg.metrics.protocols` for the two protocols. Running inference first
(``--model/--backend``) is not part of this command yet.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys

from realvlg.cli.ground import add_backend_arguments
from realvlg.errors import InvalidInputError

TASKS = ("bbox", "seg", "grasp", "contact")


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="score predictions on the RealVLG benchmark (Table 4)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=TASKS)
    p.add_argument("--annotations", type=pathlib.Path,
                   help="RealVLG-11B JSON list, or a dataset root with metadata/<camera>/scene_*/0000.json")
    p.add_argument("--predictions", type=pathlib.Path, help="JSON lines, one per sample")
    p.add_argument("--protocol", choices=("standard", "realvlg-r1"), default="standard",
                   help="standard definitions, or the official RealVLG-R1 code's behaviour (Table 4)")
    p.add_argument("--out", type=pathlib.Path, help="results.json (or, with --table, the Markdown file)")
    p.add_argument("--data-root", type=pathlib.Path,
                   help="root of the annotations' mask paths (default: the annotations' folder)")
    p.add_argument("--splits", default="seen=100-129,similar=130-159,novel=160-189",
                   help="NAME=FIRST-LAST scene ranges (default: the official split)")
    p.add_argument("--camera", default="kinect", help="camera folder of a dataset root (default kinect)")
    p.add_argument("--image-size", help="WxH: answers outside the image are invalid (standard protocol)")
    p.add_argument("--jaw", type=float, help="jaw size [px] of grasp/contact rectangles (standard; default 40)")
    p.add_argument("--iou-mode", choices=("exact", "raster"), default="exact",
                   help="grasp IoU: exact polygons, or GR-ConvNet's rasterised IoU (standard only)")
    p.add_argument("--report-dir", type=pathlib.Path, help="write table.md and PNG plots here")
    p.add_argument("--per-sample", type=pathlib.Path, metavar="JSONL",
                   help="also write one line per sample: key, split, validity, reason, scores")
    p.add_argument("--table", nargs="+", type=pathlib.Path, metavar="RESULTS",
                   help="instead of scoring: a Table-4-style Markdown table of results.json files")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    # With --backend: run inference first, appending to --predictions (resumable); --model also names
    # the model in reports (default: the predictions file's stem).
    add_backend_arguments(p, required=False)
    p.set_defaults(func=run)


def _image_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not match:
        raise InvalidInputError(f"--image-size must be WxH, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def run(args: argparse.Namespace) -> int:
    from realvlg.metrics.report import table4

    if args.table:
        results = []
        for path in args.table:
            try:
                results.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError) as exc:
                raise InvalidInputError(f"cannot read results {path}: {exc}") from None
        text = table4(results)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        print(text, end="")
        return 0
    missing = [f"--{n}" for n in ("task", "annotations", "predictions") if getattr(args, n) is None]
    if missing:
        raise InvalidInputError(f"eval needs {', '.join(missing)} (or --table RESULTS...)")
    return _score(args)


def _score(args: argparse.Namespace) -> int:
    from realvlg.data.realvlg11b import load_annotations, parse_splits
    from realvlg.metrics.benchmark import evaluate, load_predictions
    from realvlg.metrics.protocols import get_protocol
    from realvlg.metrics.report import plot_iou_histogram, plot_splits, table4

    try:
        protocol = get_protocol(args.protocol, jaw_px=args.jaw, iou_mode=args.iou_mode)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    samples = load_annotations(args.annotations, parse_splits(args.splits), camera=args.camera)
    data_root = args.data_root or (args.annotations if args.annotations.is_dir() else args.annotations.parent)
    if args.backend:
        from realvlg.cli.ground import backend_from_args
        from realvlg.metrics.inference import run_inference

        added = run_inference(backend_from_args(args), args.task, samples, args.predictions, data_root,
                              progress=not args.no_progress)
        print(f"inference: {added} new predictions appended to {args.predictions}", file=sys.stderr)
    predictions = load_predictions(args.predictions)
    evaluation = evaluate(args.task, samples, predictions, protocol, data_root=data_root,
                          predictions_dir=args.predictions.parent, image_size=_image_size(args.image_size),
                          progress=not args.no_progress)
    if not evaluation.samples:
        raise InvalidInputError(f"no annotation in {args.annotations} has the ground truth the {args.task} task needs")
    results = {"model": args.model or args.predictions.stem, **evaluation.results()}
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    if args.per_sample:
        args.per_sample.parent.mkdir(parents=True, exist_ok=True)
        with args.per_sample.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in evaluation.per_sample())
    if args.report_dir:
        args.report_dir.mkdir(parents=True, exist_ok=True)
        (args.report_dir / "table.md").write_text(table4([results]), encoding="utf-8")
        stem = f"{results['model']}_{args.task}_{protocol.name}"
        plot_splits(results, args.report_dir / f"{stem}_splits.png")
        plot_iou_histogram(evaluation.scores["iou"], evaluation.splits, evaluation.valid,
                           args.report_dir / f"{stem}_iou_hist.png", title=f"{stem}: per-sample IoU")
    _print_summary(results, sys.stdout)
    return 0


def _print_summary(results: dict, out) -> None:
    rows = {"overall": results["overall"], **results["splits"]}
    keys = list(results["overall"])
    print(f"{results['model']} · {results['task']} · {results['protocol']} · n = {results['n']}", file=out)
    print(f"{'':10s}" + "".join(f"{k:>10s}" for k in keys), file=out)
    for name, metrics in rows.items():
        cells = "".join(f"{'–':>10s}" if metrics[k] is None else f"{100 * metrics[k]:10.1f}" for k in keys)
        print(f"{name:10s}" + cells, file=out)
    if results["invalid_reasons"]:
        print("invalid: " + ", ".join(f"{k} {v}" for k, v in sorted(results["invalid_reasons"].items())), file=out)
    for note in results["notes"]:
        print(f"note: {note}", file=out)
