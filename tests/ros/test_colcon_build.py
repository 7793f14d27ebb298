"""The ROS way (issue 15 part 1): `colcon build` of a scratch workspace whose src/ holds this
repository (a link, as a clone would) builds realvlg_interfaces, then realvlg (ament_python), with
this venv's ROS 2 wheels as the underlay; the install tree has the ament index marker, share/realvlg
with package.xml, launch/, config/, calibration/ and models/, one executable per node in
lib/realvlg/; and grasp_node started from the install tree (after `source install/setup.bash`, in
another directory) reads its parameter file, calibration and limits from share/realvlg and comes up.

colcon is installed by scripts/setup.sh (requirements/ros.txt); without it this test is skipped."""

import os
import pathlib
import shlex
import shutil
import subprocess
import sys

import pytest

from realvlg.ros.process import RosChildProcess
from realvlg.ros.spin import READY_PREFIX

pytestmark = [pytest.mark.ros, pytest.mark.timeout(900)]

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
COLCON = BIN / "colcon"
NODES = sorted(p.stem for p in (REPO / "src" / "realvlg" / "ros" / "nodes").glob("*_node.py"))
BUILD_TIMEOUT = 840


def _underlay_env() -> dict[str, str]:
    """This venv as the underlay: its CMake packages and ament index (as scripts/setup.sh builds the
    interfaces); with a sourced /opt/ros/<distro> that one stays in the paths too."""
    env = {k: v for k, v in os.environ.items() if k != "_ROS_WHEELS_BOOTSTRAP_COMPLETE"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for var in ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH"):
        env[var] = os.pathsep.join(p for p in (sys.prefix, env.get(var, "")) if p)
    return env


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> pathlib.Path:
    if not COLCON.is_file():
        pytest.skip(f"colcon is not installed in {BIN} (scripts/setup.sh installs it from requirements/ros.txt)")
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found: building realvlg_interfaces needs the apt packages of requirements/apt.txt")
    if (REPO / "build").is_dir():   # scripts/setup.sh's CMake trees are no packages (it marks them too)
        (REPO / "build" / "COLCON_IGNORE").touch()
    ws = tmp_path_factory.mktemp("colcon_ws")
    (ws / "src").mkdir()
    (ws / "src" / "realvlg").symlink_to(REPO, target_is_directory=True)
    env = _underlay_env()
    listed = subprocess.run([COLCON, "list", "--topological-order", "--names-only"], cwd=ws, env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.stdout.split() == ["realvlg_interfaces", "realvlg"], listed.stdout + listed.stderr
    cmake_args = ["-DBUILD_TESTING=OFF", f"-DPython3_EXECUTABLE={sys.executable}"]
    if shutil.which("ninja", path=env["PATH"]):
        cmake_args = ["-G", "Ninja", *cmake_args]
    log = ws / "colcon-build.log"
    with log.open("w") as out:
        done = subprocess.run([COLCON, "build", "--event-handlers", "console_cohesion-", "status-",
                               "--cmake-args", *cmake_args], cwd=ws, env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=BUILD_TIMEOUT)
    text = log.read_text()
    assert done.returncode == 0, text[-4000:]
    # dependency order: the interfaces are finished before realvlg starts
    assert text.index("Finished <<< realvlg_interfaces") < text.index("Starting >>> realvlg\n"), text[-4000:]
    return ws


def test_the_install_tree_is_a_ros_package(workspace):
    prefix = workspace / "install" / "realvlg"
    share = prefix / "share" / "realvlg"
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "realvlg").is_file()
    assert (share / "package.xml").is_file() and (share / "launch" / "grasp.launch.py").is_file()
    for top in ("config", "calibration", "models"):
        shipped = {p.relative_to(REPO) for p in (REPO / top).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        installed = {p.relative_to(share) for p in (share / top).rglob("*") if p.is_file()}
        assert shipped <= installed, f"missing from share/realvlg: {sorted(shipped - installed)}"
    for node in NODES:
        exe = prefix / "lib" / "realvlg" / node
        assert exe.is_file() and os.access(exe, os.X_OK), f"no `ros2 run realvlg {node}`"
    interfaces = workspace / "install" / "realvlg_interfaces"
    assert (interfaces / "share" / "ament_index" / "resource_index" / "packages" / "realvlg_interfaces").is_file()
    assert list(interfaces.glob("lib/python3*/site-packages/realvlg_interfaces/srv/_grasp.py"))


def test_a_node_comes_up_from_the_install_tree(workspace, tmp_path):
    install = workspace / "install"
    share = install / "realvlg" / "share" / "realvlg"
    setup = shlex.quote(str(install / "setup.bash"))
    # what the node imports and reads: the install tree, not this checkout
    probe = subprocess.run(["bash", "-c", f"source {setup} && python -c 'import realvlg.graph as g, realvlg_interfaces "
                            "as i; print(g.__file__); print(g.data_root()); print(i.__file__)'"],
                           cwd=tmp_path, env=_underlay_env(), capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-3000:]
    module, data_root, interfaces = probe.stdout.strip().splitlines()[-3:]
    assert pathlib.Path(module).is_relative_to(install / "realvlg")
    assert pathlib.Path(data_root) == share
    assert pathlib.Path(interfaces).is_relative_to(install / "realvlg_interfaces")

    exe = shlex.quote(str(install / "realvlg" / "lib" / "realvlg" / "grasp_node"))
    params = shlex.quote(str(share / "config" / "grasp_node.yaml"))
    node = RosChildProcess(["-c", f"source {setup} && exec {exe} --ros-args --params-file {params} "
                                  "-r __ns:=/colcon_test"],
                           name="grasp_node", python="bash", env=_underlay_env(), cwd=tmp_path)
    with node:
        node.wait_for_line(READY_PREFIX, timeout=120)
        assert node.running, node.tail()
    assert not (share / "runs").exists()
