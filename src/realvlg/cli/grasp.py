"""``realvlg grasp "grasp the cup handle"``: call the running graph's ``/grasp`` service and print
the outcome, the timing of each stage and the annotated image's path."""

from __future__ import annotations

import json
import sys
import time

from realvlg.pipeline import STRATEGIES

def register(subparsers) -> None:
    p = subparsers.add_parser("grasp", help="ask the running graph to grasp what an instruction names",
                              description=__doc__)
    p.add_argument("instruction")
    p.add_argument("--strategy", choices=STRATEGIES, default="auto")
    p.add_argument("--dry-run", action="store_true", help="plan, visualise and check; do not move")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the answer")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--wait", type=float, default=15.0, help="seconds to wait for the graph's /grasp service")
    p.set_defaults(func=run)


def call_grasp(instruction: str, strategy: str = "auto", dry_run: bool = False, timeout: float = 300.0,
               wait: float = 15.0):
    """One ``/grasp`` call from a short-lived node; returns the response, or raises
    :class:`realvlg.grounding.backend.BackendError` when the graph is not running or is silent."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from realvlg.grounding.backend import BackendError
    from realvlg.ros import names
    from realvlg_interfaces.srv import Grasp

    rclpy.init(args=None)
    node = rclpy.create_node("realvlg_grasp_client")
    try:
        client = node.create_client(Grasp, names.GRASP_SERVICE)
        if not client.wait_for_service(timeout_sec=wait):
            raise BackendError(f"the realvlg graph is not running (no {names.GRASP_SERVICE} service after "
                               f"{wait:.0f} s): start it with `realvlg up`")
        future = client.call_async(Grasp.Request(instruction=instruction, strategy=strategy, dry_run=dry_run))
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin_until_future_complete(future, timeout_sec=timeout)
        if not future.done():
            raise BackendError(f"{names.GRASP_SERVICE} did not answer within {timeout:.0f} s")
        return future.result()
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def response_dict(response) -> dict:
    p, q = response.pose.pose.position, response.pose.pose.orientation
    return {"success": response.success, "message": response.message, "strategy": response.strategy_used,
            "frame": response.pose.header.frame_id, "position": [p.x, p.y, p.z],
            "quaternion": [q.x, q.y, q.z, q.w], "width": response.width,
            "timings": {t.stage: t.seconds for t in response.timings}, "run_dir": response.run_dir}


def run(args) -> int:
    t0 = time.monotonic()
    response = call_grasp(args.instruction, args.strategy, args.dry_run, args.timeout, args.wait)
    result = response_dict(response)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'SUCCESS' if result['success'] else 'FAILED'}: {result['message']}")
        if result["strategy"]:
            x, y, z = result["position"]
            print(f"  grasp ({result['strategy']}): position [{x:.3f}, {y:.3f}, {z:.3f}] m in {result['frame']}, "
                  f"width {result['width'] * 100:.1f} cm")
        stages = "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in result["timings"].items())
        print(f"  timings: {stages}  (total {time.monotonic() - t0:.1f} s)")
        if result["run_dir"]:
            print(f"  overlay: {result['run_dir']}/overlay.png")
    return 0 if result["success"] else 1
