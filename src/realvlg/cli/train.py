"""``realvlg train``: the training package's command (training/cli.py), registered here so that
``realvlg train …`` and ``realvlg-train …`` are the same command."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from training.cli import register as register_training

    register_training(subparsers)
