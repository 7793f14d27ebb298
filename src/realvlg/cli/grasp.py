"""``realvlg grasp "grasp the cup handle"``: call the running graph's ``/grasp`` service and print
the outcome (its result code too), the timing of each stage and the annotated image's path.
``--reference photo.png`` sends a photo of the object with the request (UniVG-R1's multi-image
form; the instruction may then be ""); backends that take one image refuse it (INVALID_REQUEST).
Exit codes: 0 success, 1 an answer that is not a success, 2 no answer (the graph is not running,
``--timeout`` passed, or the grasp node died during the request: reported within 2 s, from its
liveliness — :class:`realvlg.ros.graph_client.GraphClient`)."""

from __future__ import annotations

import json
import time

from realvlg.grasping.planner import STRATEGIES
from realvlg.io import read_image


def register(subparsers) -> None:
    p = subparsers.add_parser("grasp", help="ask the running graph to grasp what an instruction names",
                              description=__doc__)
    p.add_argument("instruction")
    p.add_argument("--strategy", choices=STRATEGIES, default="auto")
    p.add_argument("--reference", metavar="IMG", help="a photo of the object, sent with the request "
                   "(UniVG-R1's multi-image form; needs a VLM grounding backend)")
    p.add_argument("--dry-run", action="store_true", help="plan, visualise and check; do not move")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the answer")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--wait", type=float, default=15.0, help="seconds to wait for the graph's /grasp service")
    p.set_defaults(func=run)


def call_grasp(instruction: str, strategy: str = "auto", dry_run: bool = False, timeout: float = 300.0,
               wait: float = 15.0, reference=None):
    """One ``/grasp`` call (``reference``: RGB uint8 photo of the object or None); raises
    :class:`realvlg.grounding.backend.BackendError` when the graph is not running or does not
    answer in time."""
    from realvlg.ros.graph_client import GraphClient

    with GraphClient("realvlg_grasp_client", wait) as client:
        return client.grasp(instruction, strategy, dry_run, timeout, reference=reference)


def response_dict(response) -> dict:
    p, q = response.pose.pose.position, response.pose.pose.orientation
    from realvlg.grasping.attempt import ResultCode

    return {"success": response.success, "code": ResultCode(response.code).name, "message": response.message, "strategy": response.strategy_used,
            "frame": response.pose.header.frame_id, "position": [p.x, p.y, p.z],
            "quaternion": [q.x, q.y, q.z, q.w], "width": response.width,
            "timings": {t.stage: t.seconds for t in response.timings}, "run_dir": response.run_dir}


def run(args) -> int:
    t0 = time.monotonic()
    reference = read_image(args.reference, what="reference image") if args.reference else None
    response = call_grasp(args.instruction, args.strategy, args.dry_run, args.timeout, args.wait, reference)
    result = response_dict(response)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['code']}: {result['message']}")
        if result["strategy"]:
            x, y, z = result["position"]
            print(f"  grasp ({result['strategy']}): position [{x:.3f}, {y:.3f}, {z:.3f}] m in {result['frame']}, "
                  f"width {result['width'] * 100:.1f} cm")
        stages = "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in result["timings"].items())
        print(f"  timings: {stages}  (total {time.monotonic() - t0:.1f} s)")
        if result["run_dir"]:
            print(f"  overlay: {result['run_dir']}/overlay.png")
    return 0 if result["success"] else 1
