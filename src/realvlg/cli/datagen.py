"""``realvlg datagen``: render the embedded model's training and test data from the simulation
world (see :mod:`realvlg.embedded.datagen` and docs/embedded.md). Resumable: run it again with the
same settings to finish an interrupted job."""

from __future__ import annotations

import dataclasses
import json
import os

from realvlg.embedded.datagen import DatagenConfig


def register(subparsers) -> None:
    p = subparsers.add_parser("datagen", help="render simulated training/test data for the embedded model",
                              description=__doc__)
    d = DatagenConfig()
    p.add_argument("--out", default=d.root, help="dataset folder (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--train-scenes", type=int, default=d.train_scenes)
    p.add_argument("--test-scenes", type=int, default=d.test_scenes, help="scenes per test split (seen, similar, novel)")
    p.add_argument("--views", type=int, default=d.views_per_scene, help="wrist viewpoints per scene")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="rendering processes")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from realvlg.embedded.datagen import generate

    config = dataclasses.replace(DatagenConfig(), root=args.out, seed=args.seed, train_scenes=args.train_scenes,
                                 test_scenes=args.test_scenes, views_per_scene=args.views, workers=args.workers)
    meta = generate(config, progress=not args.no_progress)
    print(json.dumps({k: meta[k] for k in ("version", "seed", "splits", "views", "records")}, indent=1))
    return 0
