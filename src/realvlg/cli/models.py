"""``realvlg models list|show|pull``: the model registry (manifests in ``models/``).

Checkpoints live in ``$REALVLG_MODELS`` (default ``~/.cache/realvlg/models``), one folder per
name. ``pull`` is the only command that downloads (safetensors and metadata only)."""

from __future__ import annotations

import argparse
import json

from realvlg.grounding import registry


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="list, show and download the grounding checkpoints",
                              description=__doc__)
    sub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    sub.add_parser("list", help="every known model, its tasks and whether it is downloaded")
    show = sub.add_parser("show", help="one model's manifest and local folder")
    show.add_argument("name")
    pull = sub.add_parser("pull", help="download a model into the models directory")
    pull.add_argument("name")
    pull.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the hub to answer")
    for q in (show, pull):
        q.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.models_command == "list":
        print(f"models directory: {registry.models_dir()}")
        for name, m in registry.manifests().items():
            state = "downloaded" if registry.is_downloaded(name) else "-"
            confirmed = "" if m.repo_confirmed else " (repository to be confirmed)"
            print(f"{name:30s} {','.join(m.tasks):24s} {m.convention.kind:18s} "
                  f"{state:10s} {m.hub}:{m.repo}{confirmed}")
        return 0
    if args.models_command == "show":
        data = registry.manifest(args.name).as_dict()
        print(json.dumps(data, indent=2) if args.json else
              "\n".join(f"{k}: {v}" for k, v in data.items()))
        return 0
    path = registry.pull(args.name, timeout=args.timeout)
    print(json.dumps({"name": args.name, "path": str(path)}) if args.json else f"{args.name} → {path}")
    return 0
