"""``realvlg up``: start the realvlg graph as supervised processes (where ``ros2 launch`` is not
installed; with full ROS 2, ``ros2 launch realvlg grasp.launch.py`` starts the same nodes). A node
that exits is restarted with the same command after its ``respawn_delay`` (plan_graph's NodeSpec,
as the launch file's respawn), up to ``--max-restarts`` times; then the graph stops and the node's
last output is printed."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Mapping

from realvlg.graph import CAMERAS, GROUNDINGS, HANDS, ROBOTS, plan_graph
from realvlg.ros.process import RosChildProcess, RosProcessError
from realvlg.ros.spin import READY_PREFIX


def register(subparsers) -> None:
    p = subparsers.add_parser("up", help="start the ROS 2 graph (camera, executor, grounding, /grasp)",
                              description=__doc__)
    p.add_argument("--robot", choices=ROBOTS, default="sim")
    p.add_argument("--camera", choices=CAMERAS, default="sim",
                   help="sim: the simulator's wrist camera (default); realsense, replay: realvlg's camera node; "
                        "external: a camera driver already running (realsense2_camera with align_depth.enable:=true, "
                        "config/camera_external.yaml)")
    p.add_argument("--grounding", choices=GROUNDINGS, default="embedded",
                   help="embedded: realvlg's own CPU model (default); vlm: config/grounding_node.yaml; "
                        "oracle: the simulator's ground truth (simulation pipeline tests only)")
    p.add_argument("--hand", choices=HANDS, default="franka",
                   help="franka: the gripper pipeline (default); shadow: DexVLG on the simulated UR10e + Shadow Hand")
    p.add_argument("--ready-timeout", type=float, default=180.0, help="seconds for each node to come up")
    p.add_argument("--max-restarts", type=int, default=3,
                   help="a node that exits is restarted this many times before the graph stops")
    p.set_defaults(func=run)


def start_graph(robot: str, camera: str, grounding: str, ready_timeout: float,
                echo=lambda name, line: print(f"[{name}] {line}", flush=True),
                overrides: dict[str, dict] | None = None, hand: str = "franka") -> list[RosChildProcess]:
    """Start the nodes in order, each once the previous is ready; on any failure stop what started
    and raise :class:`RosProcessError` with the failing node's last output."""
    started: list[RosChildProcess] = []
    try:
        for spec in plan_graph(robot, camera, grounding, overrides=overrides, hand=hand):
            # in the user's working directory: run records (run_root) go under its runs/
            started.append(RosChildProcess(spec.argv(), name=spec.name,
                                           on_line=lambda line, n=spec.name: echo(n, line)).start())
            started[-1].wait_for_line(READY_PREFIX, ready_timeout)
        return started
    except BaseException:
        for child in reversed(started):
            child.stop()
        raise


def supervise(children: list[RosChildProcess], stop: threading.Event, max_restarts: int = 3,
              ready_timeout: float = 180.0, poll: float = 0.5,
              respawn: Mapping[str, float] | None = None) -> RosChildProcess | None:
    """Keep the graph up until ``stop``: a node that exits is restarted with the same command, up
    to ``max_restarts`` times per node, ``respawn[name]`` s after it exited (``None``: every node,
    at once; a node missing from ``respawn`` is not restarted); the node that died once more, or
    failed to come back, is returned (with its last output) — the caller then stops the graph.
    ``children`` is updated in place with the restarted processes."""
    restarts: dict[str, int] = {}
    while not stop.wait(poll):
        for i, child in enumerate(children):
            if child.running:
                continue
            if restarts.get(child.name, 0) >= max_restarts or (respawn is not None and child.name not in respawn):
                return child
            restarts[child.name] = restarts.get(child.name, 0) + 1
            delay = 0.0 if respawn is None else respawn[child.name]
            print(f"realvlg up: {child.name} exited; restart {restarts[child.name]}/{max_restarts} in {delay:g} s; "
                  f"last output:\n{child.tail(10)}", file=sys.stderr, flush=True)
            if stop.wait(delay):
                return None
            children[i] = replacement = child.restarted()
            try:
                replacement.wait_for_line(READY_PREFIX, ready_timeout)
            except RosProcessError:
                return replacement
    return None


# an object in each graph's default simulated scene (sim_node's, config/dex_grasp_node.yaml's)
EXAMPLE_INSTRUCTION = {"franka": "grasp the banana", "shadow": "grasp the body of the orange"}


def run(args) -> int:
    try:
        children = start_graph(args.robot, args.camera, args.grounding, args.ready_timeout, hand=args.hand)
    except RosProcessError as exc:
        print(f"realvlg up: a node failed to start: {exc}", file=sys.stderr)
        return 1
    hint = ("the executor serves /realvlg/execute_grasp (/grasp with DexVLG on the real robot needs a part "
            "segmenter realvlg does not have yet)" if args.robot == "ur10e"
            else f"try: realvlg grasp \"{EXAMPLE_INSTRUCTION[args.hand]}\"")
    print(f"realvlg up: graph running ({', '.join(c.name for c in children)}); {hint}  (Ctrl-C stops)", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    respawn = {spec.name: spec.respawn_delay for spec in plan_graph(args.robot, args.camera, args.grounding, hand=args.hand)
               if spec.respawn}
    dead = supervise(children, stop, args.max_restarts, args.ready_timeout, respawn=respawn)
    for child in reversed(children):
        child.stop()
    if dead is not None:
        print(f"realvlg up: {dead.name} kept exiting ({args.max_restarts} restarts); stopping the graph; "
              f"last output:\n{dead.tail()}", file=sys.stderr)
        return 1
    return 0
