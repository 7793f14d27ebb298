"""Shared test set-up: ROS 2 stays on loopback in a domain of its own, logs go to a temp folder."""

import atexit
import os
import pathlib
import shutil
import tempfile

import pytest

# Set before anything imports rclpy; child processes inherit it.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 200))
if "ROS_HOME" not in os.environ:   # the session's ROS logs, removed with it
    os.environ["ROS_HOME"] = tempfile.mkdtemp(prefix="realvlg-ros-home-")
    atexit.register(shutil.rmtree, os.environ["ROS_HOME"], True)
os.environ.setdefault("MUJOCO_GL", "egl")  # headless MuJoCo rendering, whatever test imports mujoco first

REPO = pathlib.Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> pathlib.Path:
    """The shared real sensor samples; tests using them skip where the folder is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real sensor samples not found at {REALDATA} (a user's clone has no ../shared)")
    return REALDATA
