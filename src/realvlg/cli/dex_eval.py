"""``realvlg dex-eval``: DexVLG's simulation benchmark (Suc, PTA, PGA on the simulated objects) for a
trained DexVLG checkpoint and its language-free baseline (:mod:`realvlg.sim.dex_eval`,
docs/dexvlg.md). Prints a Markdown table; ``--json`` writes the figures and every trial."""

from __future__ import annotations

import json
import pathlib

from realvlg.errors import InvalidInputError


def register(subparsers) -> None:
    p = subparsers.add_parser("dex-eval", help="simulation benchmark of DexVLG (Suc / PTA / PGA) vs a language-free baseline",
                              description=__doc__)
    p.add_argument("--trials", type=int, default=3, help="trials per object (default %(default)s)")
    p.add_argument("--json", default="", help="write the figures and trials to this JSON file")
    p.add_argument("--model", default="dexvlg-sim", help="DexVLG checkpoint: registry name or folder (default %(default)s)")
    p.add_argument("--baseline", default="dexvlg-sim-nolang",
                   help="language-free baseline checkpoint ('' to skip; default %(default)s)")
    p.add_argument("--replay", default="", metavar="ROOT[,ROOT]",
                   help="also replay the first --trials grasps per object of these grasp datasets (row 'dataset')")
    p.add_argument("--objects", default="", help="comma-separated object names (default: all ten)")
    p.add_argument("--samples", type=int, default=16, help="grasps sampled per trial (default %(default)s)")
    p.add_argument("--flow-steps", type=int, default=10, help="Euler steps of the flow (default %(default)s)")
    p.add_argument("--weights", default="", metavar="TERM=W[,TERM=W]",
                   help="ranking weights to change (collision, contact, reach, closure; the others keep "
                        "RankingConfig's), e.g. contact=0 to measure what the contact term contributes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--setting", default="single", help="realvlg.sim.scenes setting (default %(default)s)")
    p.add_argument("--resolution", default="320x180", help="wrist camera WxH (default %(default)s)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from realvlg.dexvlg.dataset import load_datasets
    from realvlg.dexvlg.model import DexVLG
    from realvlg.dexvlg.planner import DexPlannerConfig
    from realvlg.dexvlg.ranking import RankingConfig, parse_weights
    from realvlg.sim.dex_eval import DexEvalConfig, markdown_table, report, run_benchmark, run_replay

    try:
        width, height = (int(v) for v in args.resolution.lower().split("x"))
    except ValueError as exc:
        raise InvalidInputError(f"--resolution is WxH, got {args.resolution!r}") from exc
    if args.samples < 1 or args.flow_steps < 1:
        raise InvalidInputError("--samples and --flow-steps must be ≥ 1")
    ranking = RankingConfig(**{f"w_{term}": w for term, w in parse_weights(args.weights).items()})
    names = {"dexvlg": args.model, **({"baseline": args.baseline} if args.baseline else {})}
    models = {label: DexVLG.from_pretrained(name) for label, name in names.items()}
    config = DexEvalConfig(trials=args.trials, objects=tuple(o.strip() for o in args.objects.split(",") if o.strip()),
                           setting=args.setting, seed=args.seed, width=width, height=height,
                           planner=DexPlannerConfig(samples=args.samples, flow_steps=args.flow_steps, ranking=ranking))
    results = run_benchmark(models, config, progress=not args.no_progress)
    if args.replay:
        roots = [r.strip() for r in args.replay.split(",") if r.strip()]
        results += run_replay(load_datasets(roots)[2], config, progress=not args.no_progress)
        names["dataset"] = roots
    sizes = {label: sum(p.numel() for p in m.parameters()) for label, m in models.items()}
    document = report(results, config, {"checkpoints": names, "parameters": sizes, "ranking_weights": ranking.weights})
    print(markdown_table(document["models"]))
    if args.json:
        path = pathlib.Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1))
        print(f"wrote {path}")
    return 0
