"""Peer: a FrankaExecutor in a process of its own (so a test can freeze it mid-motion), connected
to the simulated FR3 at ``argv[1]``. Prints ``READY``; on each line ``move`` (12 cm forward, 15 cm
down from the start pose) or ``home`` from stdin, runs it and prints ``<what> ok`` or
``<what> FAIL <reason>``."""

import sys

from realvlg.robots.franka.config_franka import FrankaConfig
from realvlg.robots.franka.franka import FrankaExecutor

executor = FrankaExecutor(FrankaConfig(address=sys.argv[1]))
executor.connect()
start = executor.current_pose()
target = start.copy()
target[:3, 3] += (0.12, 0.0, -0.15)
print("READY", flush=True)
for line in sys.stdin:
    what = line.strip()
    try:
        executor.move_to(target) if what == "move" else executor.home()
        print(f"{what} ok", flush=True)
    except Exception as exc:  # reported to the test, which asserts on it
        print(f"{what} FAIL {exc}", flush=True)
