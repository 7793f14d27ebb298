"""``realvlg replay RUN_DIR``: re-run capture → ground → lift offline on a recorded grasp attempt (its
run folder's bag) and print what changed against the recorded result: the answer, the grasp pose
and the width. The way to debug a failed grasp and to compare models or strategies on real attempts.

    realvlg replay runs/20260101-120000-000-grasp-the-banana                 # the recorded answer, lift again
    realvlg replay RUN_DIR --strategy contact                                # another strategy (its answer must be recorded)
    realvlg replay RUN_DIR --grounding embedded                              # realvlg's own model on the recording
    realvlg replay RUN_DIR --grounding openai --model realvlg-r1-grpo-grasp-3b --base-url http://gpu:8000/v1

Nothing moves: the executor's checks are not run (the replayed grasp is the planner's first
candidate; the report says which candidate the recorded grasp is nearest). Exit code 0 when a
grasp was planned, 1 when none was.
"""

from __future__ import annotations

import argparse
import json

from realvlg.grasping.planner import STRATEGIES
from realvlg.grounding.factory import BACKENDS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("replay", help="re-plan a recorded grasp attempt offline and show what changed",
                              description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="\n".join(__doc__.splitlines()[3:]))
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (result.json, bag/) of `realvlg grasp` / up")
    p.add_argument("--grounding", choices=("recorded", *BACKENDS), default="recorded",
                   help="recorded: the answer in the bag (default); else a backend as in `realvlg ground`")
    p.add_argument("--strategy", choices=STRATEGIES, help="default: the recorded one")
    p.add_argument("--model", default="", help="openai backend: the name the server serves")
    p.add_argument("--checkpoint", default="", help="transformers / embedded: folder or registry name")
    p.add_argument("--base-url", default="http://127.0.0.1:8000/v1", metavar="URL", help="openai backend")
    p.add_argument("--samples", type=int, help="self-consistency samples per answer (default: the config's)")
    p.add_argument("--device", default="auto", help="transformers / embedded backend: auto, cpu, cuda")
    p.add_argument("--sam2", default="", metavar="DIR", help="SAM2 checkpoint (seg with a VLM backend)")
    p.add_argument("--config", default="config/grasp_node.yaml",
                   help="the grasp node's parameters the planner runs with (default %(default)s; its `limits` "
                        "file gives the executor's limits)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from realvlg.graph import repo_path
    from realvlg.grasping.replay import load_run, node_parameters, planner_config, replay
    from realvlg.grounding.factory import BackendSpec, make_backend
    from realvlg.robots.limits import load_limits

    recorded = load_run(args.run_dir)
    backend = None
    if args.grounding != "recorded":
        backend = make_backend(BackendSpec(backend=args.grounding, model=args.model, checkpoint=args.checkpoint,
                                           base_url=args.base_url, device=args.device, sam2_checkpoint=args.sam2))
    params = node_parameters(repo_path(args.config))
    if args.samples is not None:
        params = {**params, "samples": args.samples}
    config = planner_config(params, load_limits(repo_path(params.get("limits", "config/limits_fr3.yaml"))))
    report = replay(recorded, backend, args.strategy or "", config)
    print(json.dumps(report.as_dict(), indent=2, default=float) if args.json else "\n".join(report.lines()))
    return 0 if report.grasp is not None else 1
