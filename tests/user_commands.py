"""The installed ``realvlg`` console script as a user runs it: a subprocess of ``<venv>/bin/realvlg``
(beside the test interpreter) importing this checkout (``PYTHONPATH`` starts with ``src/``), with
the environment of a ROS graph child (:func:`realvlg.ros.process.ros_child_env`)."""

import os
import pathlib
import subprocess
import sys

from realvlg.ros.process import RosChildProcess, ros_child_env

REPO = pathlib.Path(__file__).resolve().parents[1]
REALVLG = pathlib.Path(sys.executable).with_name("realvlg")


def user_env() -> dict[str, str]:
    path = [str(REPO / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return ros_child_env(PYTHONPATH=os.pathsep.join(path))


def realvlg(*args: str, cwd: pathlib.Path, timeout: float) -> subprocess.CompletedProcess:
    """``realvlg ARGS…`` run to its end (``.stdout``, ``.stderr``)."""
    return subprocess.run([str(REALVLG), *args], cwd=cwd, env=user_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def start_realvlg(*args: str, cwd: pathlib.Path, name: str = "realvlg") -> RosChildProcess:
    """``realvlg ARGS…`` started (a long-running one: ``up``); stop it with ``.stop()``."""
    return RosChildProcess(list(args), name=name, python=str(REALVLG), env=user_env(), cwd=cwd).start()


def child_pids(parent: int, needle: str) -> list[int]:
    """The pids of ``parent``'s children whose command line contains ``needle`` (Linux /proc)."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and needle in cmdline:
            found.append(int(proc.name))
    return found

