"""What the installs carry and where the graph finds it (issue 15 part 1), without building anything:
the data files of `pip install .` cover every file of config/, calibration/, launch/ and models/;
every node has its executable; the launch file only reads plan_graph; data resolves through the
package's data root (never the working directory) and run records go under the working directory."""

import importlib.util
import pathlib
import sys
import tomllib
import types

import pytest

from realvlg import graph
from realvlg.graph import PACKAGE, data_root, plan_graph, run_path, share_path

REPO = pathlib.Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
DATA_DIRS = ("launch", "config", "calibration", "models")
ROS_PACKAGE = REPO / "ros2_ws" / "src" / "realvlg"


def test_pip_data_files_carry_every_data_file_in_its_place():
    listed = set()
    for dest, patterns in PYPROJECT["tool"]["setuptools"]["data-files"].items():
        for pattern in patterns:
            for path in REPO.glob(pattern):
                if dest.startswith(f"share/{PACKAGE}/"):   # the layout under share/realvlg mirrors the repository
                    assert dest == f"share/{PACKAGE}/{path.parent.relative_to(REPO)}", (dest, path)
                listed.add(path.relative_to(REPO))
    shipped = {p.relative_to(REPO) for top in DATA_DIRS for p in (REPO / top).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped - listed == set(), "data files missing from pyproject's [tool.setuptools.data-files]"
    assert pathlib.Path("ros2_ws/src/realvlg/resource/realvlg") in listed   # the ament index marker
    assert pathlib.Path("ros2_ws/src/realvlg/package.xml") in listed


def test_the_ros_package_links_the_repository():
    links = {"python/realvlg": "src/realvlg", "python/training": "training", **{d: d for d in DATA_DIRS}}
    for name, target in links.items():
        link = ROS_PACKAGE / name
        assert link.is_symlink() and link.resolve() == REPO / target, name
    assert (ROS_PACKAGE / "resource" / PACKAGE).is_file()
    assert not (REPO / "package.xml").exists(), "a package at the root hides ros2_ws/src from colcon"
    xml = (ROS_PACKAGE / "package.xml").read_text()
    for key in ("<build_type>ament_python</build_type>", "realvlg_interfaces", "rclpy", "launch", "launch_ros",
                "python3-numpy", "python3-scipy", "python3-yaml", "tf2_msgs", "std_srvs", "trajectory_msgs"):
        assert key in xml, key


def test_every_node_has_an_executable_and_every_graph_node_is_one():
    scripts = PYPROJECT["project"]["scripts"]
    nodes = sorted(p.stem for p in (REPO / "src" / "realvlg" / "ros" / "nodes").glob("*_node.py"))
    assert nodes, "no nodes found"
    for node in nodes:
        assert scripts.get(node) == f"realvlg.ros.nodes.{node}:main", node
        module = importlib.util.find_spec(f"realvlg.ros.nodes.{node}")
        assert "\ndef main(" in pathlib.Path(module.origin).read_text(), node
    choices = [{}, {"grounding": "oracle"}, {"robot": "franka", "camera": "realsense", "grounding": "vlm"},
               {"hand": "shadow"}, {"robot": "ur10e", "hand": "shadow", "camera": "realsense"}]
    for choice in choices:
        for spec in plan_graph(**choice):
            assert spec.executable in scripts and scripts[spec.executable] == f"{spec.module}:main"


class _Recorder:
    """Stands in for a launch / launch_ros class: records how it was built."""

    made: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        _Recorder.made.append(self)


@pytest.fixture
def launch_stubs(monkeypatch):
    """launch and launch_ros are not on PyPI: stand-ins good enough to run the launch file's logic."""
    class Node(_Recorder):
        pass

    class LaunchConfiguration:
        values = {}

        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return context[self.name]

    modules = {
        "launch": types.SimpleNamespace(LaunchDescription=lambda actions: actions),
        "launch.actions": types.SimpleNamespace(DeclareLaunchArgument=type("Declare", (_Recorder,), {}),
                                                OpaqueFunction=type("Opaque", (_Recorder,), {})),
        "launch.substitutions": types.SimpleNamespace(LaunchConfiguration=LaunchConfiguration),
        "launch_ros": types.SimpleNamespace(),
        "launch_ros.actions": types.SimpleNamespace(Node=Node),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return Node


@pytest.mark.parametrize("choice", [
    {"robot": "sim", "camera": "sim", "grounding": "embedded", "hand": "franka"},
    {"robot": "franka", "camera": "realsense", "grounding": "vlm", "hand": "franka"},
    {"robot": "sim", "camera": "sim", "grounding": "embedded", "hand": "shadow"},
])
def test_the_launch_file_starts_plan_graph_by_package_and_executable(launch_stubs, choice):
    spec = importlib.util.spec_from_file_location("grasp_launch", REPO / "launch" / "grasp.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    actions = module.generate_launch_description()
    declared = {a.args[0]: a.kwargs for a in actions if type(a).__name__ == "Declare"}
    assert set(declared) == {"robot", "camera", "grounding", "hand"}
    opaque = [a for a in actions if type(a).__name__ == "Opaque"]
    nodes = opaque[0].kwargs["function"](choice)
    planned = plan_graph(**choice)
    assert len(nodes) == len(planned)
    for node, planned_node in zip(nodes, planned):
        assert node.kwargs["package"] == PACKAGE and node.kwargs["executable"] == planned_node.executable
        assert node.kwargs["name"] == planned_node.name
        assert node.kwargs["parameters"] == [*planned_node.params_files, planned_node.overrides]
        assert "cwd" not in node.kwargs            # run records go under the user's working directory
        assert (node.kwargs["respawn"], node.kwargs["respawn_delay"]) == (planned_node.respawn, planned_node.respawn_delay)
        for path in planned_node.params_files:
            assert pathlib.Path(path).is_file() and pathlib.Path(path).is_relative_to(data_root())


def test_data_resolves_through_the_data_root_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data_root() == REPO   # this checkout (tests run from it or an editable install)
    for rel in ("config/limits_fr3.yaml", "calibration/sim_fr3_wrist_camera.yaml", "config/realvlg.rviz",
                "models/embedded-default/model.safetensors"):
        assert share_path(rel) == REPO / rel and share_path(rel).is_file()
    assert share_path("/abs/file.yaml") == pathlib.Path("/abs/file.yaml")
    (tmp_path / "calibration").mkdir()
    (tmp_path / "calibration" / "my_mount.yaml").write_text("{}")   # a user's own file, not shipped
    assert share_path("calibration/my_mount.yaml") == tmp_path / "calibration" / "my_mount.yaml"
    assert graph.CONFIG_DIR == REPO / "config"
    from realvlg.grounding import registry
    assert registry.MANIFEST_DIR == REPO / "models"


def test_run_records_go_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_path("runs") == tmp_path / "runs"
    assert run_path("/data/runs") == pathlib.Path("/data/runs")
    assert not run_path("runs").is_relative_to(data_root())


def test_an_installed_layout_is_found_before_the_checkout(tmp_path, monkeypatch):
    """<prefix>/lib/python3.11/site-packages/realvlg next to <prefix>/share/realvlg (colcon, pip install)."""
    share = tmp_path / "share" / PACKAGE
    for top in ("config", "models"):
        (share / top).mkdir(parents=True)
    fake_module = tmp_path / "lib" / "python3.11" / "site-packages" / "realvlg" / "graph.py"
    monkeypatch.setattr(graph, "__file__", str(fake_module))
    monkeypatch.delenv("REALVLG_SHARE", raising=False)
    graph.data_root.cache_clear()
    try:
        assert graph.data_root() == share
        monkeypatch.setenv("REALVLG_SHARE", str(tmp_path / "elsewhere"))
        graph.data_root.cache_clear()
        assert graph.data_root() == tmp_path / "elsewhere"
    finally:
        graph.data_root.cache_clear()
