"""``realvlg train`` / ``realvlg-train``: run a training config (see docs/training.md).

    realvlg train realvlg-r1-grpo-bbox-3b --set data.annotations=/data/realvlg11b
    realvlg train training/configs/smoke-cpu.yaml --set base_model=/tmp/tiny --resume
    realvlg train --list

Multi-GPU: ``accelerate launch --config_file training/configs/accelerate/zero2.yaml
-m training.cli CONFIG``. TRL, datasets and accelerate are imported only when a run starts.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="GRPO / GSPO / SFT and DexVLG training runs from training/configs",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", help="a config path or the name of one in training/configs")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config entry (dotted key, YAML value); repeatable")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in the output dir")
    p.add_argument("--no-export", action="store_true", help="train only; do not write models/<name>")
    p.add_argument("--list", action="store_true", help="list the shipped configs")


def run(args: argparse.Namespace) -> int:
    from training.run import CONFIG_DIR, load_config, train

    if args.list or not args.config:
        for path in sorted(CONFIG_DIR.glob("*.yaml")):
            print(path.stem)
        return 0
    config = load_config(args.config, args.overrides)
    result = train(config, resume=args.resume, export=not args.no_export)
    print(json.dumps({"output_dir": str(result.output_dir), "model_dir": str(result.model_dir or ""),
                      "metrics": result.metrics, "seconds": round(result.seconds, 1)}, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    from realvlg.errors import RealVLGError

    parser = argparse.ArgumentParser(prog="realvlg-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except RealVLGError as exc:
        print(f"realvlg-train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
