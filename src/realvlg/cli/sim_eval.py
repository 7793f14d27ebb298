"""``realvlg sim-eval``: the paper's Table 5/6 protocol in simulation, through the full ROS graph
(started here, stopped at the end): per object N trials of home → seeded scene → /grasp → success
test. Writes JSON, a Markdown table and a bar chart."""

from __future__ import annotations

import json
import pathlib

from realvlg.errors import InvalidInputError
from realvlg.graph import GROUNDINGS
from realvlg.grasping.planner import STRATEGIES
from realvlg.objects import OBJECTS
from realvlg.sim.eval import SETTINGS, load_phrasings, run_absent_eval, run_eval


def register(subparsers) -> None:
    p = subparsers.add_parser("sim-eval", help="grasp success rate in simulation (paper Tables 5/6)",
                              description=__doc__)
    p.add_argument("--setting", choices=SETTINGS, default="single")
    p.add_argument("--trials", type=int, default=10, help="trials per object")
    p.add_argument("--objects", default=",".join(OBJECTS), help="comma-separated objects")
    p.add_argument("--strategy", choices=STRATEGIES, default="auto")
    p.add_argument("--grounding", choices=GROUNDINGS, default="embedded",
                   help="embedded: realvlg's own model (default); oracle: the simulator's ground truth "
                        "(measures the pipeline without perception); vlm: config/grounding_node.yaml")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--calibration", metavar="FILE.yaml",
                   help="ee←camera file for the grasp node (default: the simulator's true mount, "
                        "calibration/sim_fr3_wrist_camera.yaml), e.g. the output of `realvlg calibrate --sim`")
    p.add_argument("--instructions", metavar="FILE.yaml",
                   help="object → list of instructions to say instead of \"grasp the <object>\" (trial t says "
                        "phrasing t mod N), e.g. config/handwritten_instructions.yaml")
    p.add_argument("--absent", action="store_true",
                   help="ask for objects that are not on the table and count grasp attempts (should be none)")
    p.add_argument("--json", dest="json_path", default="sim_eval.json", help="output JSON (table .md, chart .png beside)")
    p.set_defaults(func=run)


def run(args) -> int:
    from realvlg.cli.up import start_graph
    from realvlg.ros.graph_client import GraphClient

    objects = [o.strip() for o in args.objects.split(",") if o.strip()]
    if args.absent and args.instructions:
        raise InvalidInputError("--absent asks for objects not on the table; it takes no --instructions")
    phrasings = load_phrasings(args.instructions) if args.instructions else None
    overrides = {"sim_node": {"setting": args.setting, "objects": objects[:1]}}
    if args.calibration:
        overrides["grasp_node"] = {"calibration": str(pathlib.Path(args.calibration).resolve())}
    children = start_graph("sim", "sim", args.grounding, 240.0, echo=lambda *_: None, overrides=overrides)
    try:
        with GraphClient("realvlg_sim_eval", wait=60.0) as client:
            if args.absent:
                from realvlg.embedded.vocabulary import ABSENT_NOUNS_TEST

                result = run_absent_eval(client, args.setting, objects, args.trials, ABSENT_NOUNS_TEST, args.seed)
            else:
                result = run_eval(client, args.setting, objects, args.trials, args.strategy, args.seed,
                                  phrasings=phrasings)
    finally:
        for child in reversed(children):
            child.stop()
    out = pathlib.Path(args.json_path)
    out.write_text(json.dumps(result.as_dict(), indent=2))
    out.with_suffix(".md").write_text(result.markdown() + "\n")
    written = [out, out.with_suffix(".md")]
    if not args.absent:
        result.bar_chart(out.with_suffix(".png"))
        written.append(out.with_suffix(".png"))
    print(result.markdown())
    print(f"\nwritten: {', '.join(map(str, written))}")
    return 0
