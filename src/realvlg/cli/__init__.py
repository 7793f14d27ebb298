"""The ``realvlg`` command. Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (returning the exit code)."""

from __future__ import annotations

import argparse
import importlib
import sys

from realvlg import __version__
from realvlg.errors import RealVLGError

SUBCOMMAND_MODULES = (
    "realvlg.cli.grasp_pose",
    "realvlg.cli.coarse_grasp",
    "realvlg.cli.eval",
    "realvlg.cli.grasp",
    "realvlg.cli.up",
    "realvlg.cli.ground",
    "realvlg.cli.models",
    "realvlg.cli.demo",
    "realvlg.cli.sim_eval",
    "realvlg.cli.camera_check",
    "realvlg.cli.replay",
    "realvlg.cli.calibrate",
    "realvlg.cli.reward",
    "realvlg.cli.train",
    "realvlg.cli.datagen",
    "realvlg.cli.dex_datagen",
    "realvlg.cli.dex_eval",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="realvlg", description="realvlg: language-instructed robot grasping on ROS 2")
    parser.add_argument("--version", action="version", version=f"realvlg {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RealVLGError as exc:
        print(f"realvlg {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
