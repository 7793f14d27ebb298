"""Child processes in the ROS 2 graph: their environment (Fast DDS profile) and a bounded lifecycle.

Environment (:func:`ros_child_env`): realvlg starts its processes with

* ``FASTDDS_DEFAULT_PROFILES_FILE`` → ``config/fastdds.xml`` (a 32 MiB shared-memory segment
  plus UDPv4 on 127.0.0.1; service servers that wait up to 5 s for a new client's response reader
  instead of dropping the answer after 100 ms; see that file and docs/ros.md), unless the user
  already set one;
* ``_ROS_WHEELS_BOOTSTRAP_COMPLETE`` removed: the ros-wheels bootstrapper ``.pth`` of a PyPI ROS 2
  venv re-execs the interpreter once with ``LD_LIBRARY_PATH`` set and marks the environment with
  that variable; a child that inherits the mark skips its own bootstrap, which breaks any child
  running another interpreter (``ImportError: librcl_action.so``). Without it each child
  bootstraps itself (a re-exec of a few ms; the PID stays the same).

:class:`RosChildProcess` runs ``python script args...`` in its own session, reads its stdout
line by line (a child announces itself with a line such as ``READY``), and always ends it:
SIGTERM first (rclpy turns it into a clean shutdown), SIGKILL to its process group after a
grace period, also at interpreter exit.

No rclpy import here: this module is used by supervisors, tests and benchmarks alike.
"""

from __future__ import annotations

import atexit
import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from realvlg.errors import RealVLGError

FASTDDS_PROFILE_ENV = "FASTDDS_DEFAULT_PROFILES_FILE"
BOOTSTRAP_MARK_ENV = "_ROS_WHEELS_BOOTSTRAP_COMPLETE"


class RosProcessError(RealVLGError):
    """A child process did not start, did not announce itself in time, or died."""


def fastdds_profile_path() -> pathlib.Path:
    """``config/fastdds.xml`` of the package's data (:func:`realvlg.graph.data_root`)."""
    from realvlg.graph import data_root

    path = data_root() / "config" / "fastdds.xml"
    if not path.is_file():
        raise RosProcessError(f"Fast DDS profile not found at {path} (realvlg installed without its config/ "
                              f"folder? set {FASTDDS_PROFILE_ENV} yourself)")
    return path


def ros_child_env(base: Mapping[str, str] | None = None, *, dds_profile: bool = True,
                  **overrides: str) -> dict[str, str]:
    """The environment for a child process of the ROS graph (module docstring). ``dds_profile``
    False leaves Fast DDS on its defaults (and drops a profile set in ``base``)."""
    env = dict(os.environ if base is None else base)
    env.pop(BOOTSTRAP_MARK_ENV, None)
    env["PYTHONUNBUFFERED"] = "1"
    if dds_profile:
        env.setdefault(FASTDDS_PROFILE_ENV, str(fastdds_profile_path()))
    else:
        env.pop(FASTDDS_PROFILE_ENV, None)
    env.update(overrides)
    return env


def use_fastdds_profile() -> pathlib.Path:
    """Point this process's Fast DDS at the profile (call before ``rclpy.init``); keeps a profile
    the user set. Returns the profile in effect."""
    return pathlib.Path(os.environ.setdefault(FASTDDS_PROFILE_ENV, str(fastdds_profile_path())))


_LIVE: set["RosChildProcess"] = set()


@atexit.register
def _stop_leftovers() -> None:
    for child in list(_LIVE):
        child.stop(timeout=2.0)


class RosChildProcess:
    """``python script args...`` as a child in the ROS graph, with bounded waits and clean-up.

    Use as a context manager::

        with RosChildProcess([script, "--rate", "30"], name="camera") as cam:
            cam.wait_for_line("READY", timeout=60)
            ...
    """

    def __init__(self, argv: Sequence[str], *, name: str | None = None, dds_profile: bool = True,
                 env: Mapping[str, str] | None = None, python: str = sys.executable,
                 cwd: str | os.PathLike | None = None, on_line: Callable[[str], None] | None = None) -> None:
        self.argv = [python, *map(str, argv)]
        self.name = name or pathlib.Path(str(argv[0])).stem
        self.env = ros_child_env(env, dds_profile=dds_profile)
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.output: deque[str] = deque(maxlen=400)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._on_line = on_line   # e.g. echo the child's output with its name

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "RosChildProcess":
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     bufsize=1, start_new_session=True)
        _LIVE.add(self)
        self._reader = threading.Thread(target=self._read, name=f"{self.name}-stdout", daemon=True)
        self._reader.start()
        return self

    def restarted(self) -> "RosChildProcess":
        """A new process with the same command, environment and output handling, started."""
        twin = RosChildProcess([], name=self.name, cwd=self.cwd, on_line=self._on_line)
        twin.argv, twin.env = list(self.argv), dict(self.env)
        return twin.start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            self._lines.put(line)
            if self._on_line is not None:
                self._on_line(line)
        self._lines.put(None)   # end of output

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL to the child's process group after ``timeout`` s. Returns the exit
        code (negative: killed by that signal)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # the child's own session: only what we started
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            pass
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        if proc.stdout is not None:
            proc.stdout.close()
        _LIVE.discard(self)
        return proc.returncode

    def __enter__(self) -> "RosChildProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- talking ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        return "\n".join(list(self.output)[-lines:])

    def wait_for_line(self, prefix: str, timeout: float) -> str:
        """The next output line starting with ``prefix``; raises :class:`RosProcessError` (with the
        child's last output) if the child exits or ``timeout`` s pass first."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RosProcessError(f"{self.name}: no line starting with {prefix!r} within {timeout:g} s; "
                                      f"last output:\n{self.tail()}")
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self._lines.put(None)
                code = self.proc.wait(5.0) if self.proc else None
                raise RosProcessError(f"{self.name} exited (code {code}) before printing {prefix!r}; "
                                      f"last output:\n{self.tail()}")
            if line.startswith(prefix):
                return line
