"""``realvlg demo``: the main job on the embedded default — start the simulated graph (FR3 in
franky-sim, wrist camera, and the embedded grounding model ``models/embedded-default`` reading the
instruction from the RGB-D image), grasp what the instruction names through the real ``/grasp``
service, print a short report and stop the graph."""

from __future__ import annotations

import sys
import time

from realvlg.cli.grasp import call_grasp, response_dict
from realvlg.cli.up import start_graph
from realvlg.graph import GROUNDINGS
from realvlg.objects import OBJECTS
from realvlg.ros.process import RosProcessError


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="start the simulated graph, grasp one object, report",
                              description=__doc__)
    p.add_argument("instruction", nargs="?", default="grasp the banana")
    p.add_argument("--objects", default="banana,apple,mug",
                   help=f"comma-separated objects on the table (of: {', '.join(OBJECTS)})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strategy", default="auto")
    p.add_argument("--grounding", choices=GROUNDINGS, default="embedded",
                   help="embedded: realvlg's own model (default); oracle: the simulator's ground truth")
    p.add_argument("--verbose", action="store_true", help="show the nodes' output")
    p.set_defaults(func=run)


def run(args) -> int:
    t0 = time.monotonic()
    objects = [o.strip() for o in args.objects.split(",") if o.strip()]
    echo = (lambda name, line: print(f"[{name}] {line}", flush=True)) if args.verbose else (lambda *_: None)
    print(f"realvlg demo: starting the simulated FR3 with {', '.join(objects)} (seed {args.seed}) …", flush=True)
    try:
        children = start_graph("sim", "sim", args.grounding, 240.0, echo, overrides={
            "sim_node": {"setting": "clutter" if len(objects) > 1 else "single", "objects": objects,
                         "seed": args.seed}})
    except RosProcessError as exc:
        print(f"realvlg demo: the graph did not start: {exc}", file=sys.stderr)
        return 1
    try:
        started = time.monotonic()
        print(f"realvlg demo: graph up in {started - t0:.0f} s; asking: {args.instruction!r}", flush=True)
        result = response_dict(call_grasp(args.instruction, args.strategy, timeout=300.0, wait=60.0))
    finally:
        for child in reversed(children):
            child.stop()
    print(f"\n{'SUCCESS' if result['success'] else 'FAILED'}: {result['message']}")
    if result["strategy"]:
        x, y, z = result["position"]
        print(f"  grasp ({result['strategy']}): [{x:.3f}, {y:.3f}, {z:.3f}] m in {result['frame']}, "
              f"width {result['width'] * 100:.1f} cm")
    print("  stages: " + "  ".join(f"{k} {v:.2f} s" for k, v in result["timings"].items()))
    if result["run_dir"]:
        print(f"  annotated image: {result['run_dir']}/overlay.png   recording: {result['run_dir']}/bag")
    print(f"  total {time.monotonic() - t0:.0f} s (grounding: {args.grounding}; "
          f"a VLM server is used with `realvlg up --grounding vlm`)")
    return 0 if result["success"] else 1
