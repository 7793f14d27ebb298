"""Which nodes make up the realvlg graph, with which parameter files — shared by ``realvlg up``
(pip-only machines) and ``launch/grasp.launch.py`` (full ROS 2), so both start the same graph.

Choices:

* ``robot``: ``sim`` — sim_node hosts franky-sim's MuJoCo FR3 serving the libfranka protocol on
  127.0.0.1, and executor_node drives it with franky; ``franka`` — executor_node drives the real
  robot at the address in ``config/executor_franka.yaml``.
* ``camera``: ``sim`` — sim_node renders the wrist camera (needs ``robot=sim``); ``realsense`` /
  ``replay`` — camera_node with that backend; ``external`` — no camera node: grasp_node reads a
  camera driver the user already runs (realsense2_camera with ``align_depth.enable:=true``; its
  namespace in ``config/camera_external.yaml``), with robot ``sim`` (whose camera then stays
  silent) or ``franka``.
* ``grounding``: ``embedded`` (the default) — grounding_node serving realvlg's own small RGB-D
  model ``models/embedded-default`` on the CPU; ``vlm`` — grounding_node serving a VLM
  (``config/grounding_node.yaml``); ``oracle`` — sim_node's ``/sim/ground`` (simulation only:
  reads the simulator's ground truth; for pipeline tests, never a real-robot default).
* ``hand``: ``franka`` (the default) — the Franka gripper graph above; ``shadow`` — the UR10e +
  Shadow Hand: with ``robot=sim`` one node, dex_grasp_node (``config/dex_grasp_node.yaml``), serves
  ``/grasp`` with DexVLG from its own MuJoCo world; with ``robot=ur10e`` executor_node drives the
  real arm over ur_rtde and the real hand through the Shadow Robot driver
  (``config/executor_ur10e_shadow.yaml``; ``ExecuteGrasp`` with ``hand_joints``), beside the
  camera node. ``/grasp`` with DexVLG on the real robot needs a part-labelled RGB-D source
  (a part segmenter) that realvlg does not have yet: that graph serves ``/realvlg/execute_grasp``
  only, and ``grounding`` is unused.
"""

from __future__ import annotations

import functools
import os
import pathlib
import sys
from dataclasses import dataclass, field, replace

from realvlg.errors import InvalidInputError

ROBOTS = ("sim", "franka", "ur10e")
CAMERAS = ("sim", "realsense", "replay", "external")
GROUNDINGS = ("embedded", "vlm", "oracle")
HANDS = ("franka", "shadow")
EMBEDDED_GROUNDING = {"backend": "embedded", "checkpoint": "embedded-default", "device": "cpu"}
PACKAGE = "realvlg"
RESPAWN_DELAY = 2.0   # s before a node that exited starts again (past the 1 s liveliness lease: its clients see it gone)
REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]   # the source checkout, when running from one


def _share_dirs() -> list[pathlib.Path]:
    """Candidates for the package's data, in order of preference (see :func:`data_root`)."""
    here = pathlib.Path(__file__).resolve().parent              # …/realvlg
    found = []
    # installed (colcon's ament_python, `pip install .`, a Debian package): the module lives in
    # <prefix>/lib/pythonX.Y/site-packages/realvlg and its data in <prefix>/share/realvlg
    for ancestor in here.parents[:4]:
        found.append(ancestor / "share" / PACKAGE)
    found.append(REPO_ROOT)                                      # a checkout (editable install, PYTHONPATH=src)
    for prefix in filter(None, os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)):  # the ament index
        if (pathlib.Path(prefix) / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE).is_file():
            found.append(pathlib.Path(prefix) / "share" / PACKAGE)
    found.append(pathlib.Path(sys.prefix) / "share" / PACKAGE)  # data_files of a pip install elsewhere
    return found


@functools.lru_cache(maxsize=1)
def data_root() -> pathlib.Path:
    """The folder holding realvlg's data (``config/``, ``calibration/``, ``models/``, ``launch/``),
    whatever the install: ``$REALVLG_SHARE`` when set; else the package's share directory
    ``<prefix>/share/realvlg`` next to the installed module (colcon's install space, or the
    ``data_files`` of ``pip install .``); else the source checkout the module runs from (editable
    install, ``PYTHONPATH=src``); else the ament index's share directory of ``realvlg``. Never the
    working directory."""
    if os.environ.get("REALVLG_SHARE"):
        return pathlib.Path(os.environ["REALVLG_SHARE"]).expanduser().resolve()
    for candidate in _share_dirs():
        if (candidate / "config").is_dir() and (candidate / "models").is_dir():
            return candidate
    return REPO_ROOT   # nothing found: errors then name the checkout path that is missing


def share_path(path: str | pathlib.Path) -> pathlib.Path:
    """A file the graph reads (parameter file, calibration, limits, model, RViz config): ``path``
    as given when absolute; a relative path names a file of the package's data
    (``config/limits_fr3.yaml``, see :func:`data_root`) — or, when the package has none by that
    name, one relative to the working directory (a user's own ``calibration/my_mount.yaml``)."""
    path = pathlib.Path(path).expanduser()
    if path.is_absolute():
        return path
    shipped = data_root() / path
    if not shipped.exists() and path.exists():
        return path.resolve()
    return shipped


repo_path = share_path   # the former name (it resolved into the checkout)


def run_path(path: str | pathlib.Path) -> pathlib.Path:
    """Where run records go (``run_root``): ``path`` as given when absolute, else relative to the
    working directory the user started from — never inside the installed package or the checkout."""
    return pathlib.Path(path).expanduser().absolute()


def __getattr__(name: str):   # CONFIG_DIR resolves lazily (data_root reads the environment)
    if name == "CONFIG_DIR":
        return data_root() / "config"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph. ``respawn`` / ``respawn_delay`` [s]: a node that exits is started
    again after that delay — launch_ros ``Node(respawn=, respawn_delay=)`` in grasp.launch.py, the
    supervisor of ``realvlg up`` (which gives up after ``--max-restarts``). Every node respawns: each
    one comes back by itself (the executor reconnects to the robot, the grasp node waits for its
    services), so a crash costs the requests in flight, not the graph."""

    name: str
    module: str                                   # python -m <module>; also `ros2 run realvlg <executable>`
    params_files: tuple[str, ...]                 # --ros-args --params-file …
    overrides: dict = field(default_factory=dict)  # -p name:=value
    respawn: bool = True
    respawn_delay: float = RESPAWN_DELAY

    @property
    def executable(self) -> str:
        """The node's executable in the install tree (``lib/realvlg/<executable>``, a console
        script calling the module's ``main``): the module's last name, e.g. ``grasp_node``."""
        return self.module.rsplit(".", 1)[-1]

    def argv(self) -> list[str]:
        args = ["-m", self.module, "--ros-args", "-r", f"__node:={self.name}"]
        for path in self.params_files:
            args += ["--params-file", path]
        for key, value in self.overrides.items():
            args += ["-p", f"{key}:={str(value).lower() if isinstance(value, bool) else value}"]
        return args


def plan_graph(robot: str = "sim", camera: str = "sim", grounding: str = "embedded",
               config_dir: pathlib.Path | None = None, overrides: dict[str, dict] | None = None,
               hand: str = "franka") -> list[NodeSpec]:
    """The nodes for these choices, in start order; ``overrides`` maps a node name to parameter
    values that replace its files' (e.g. ``{"sim_node": {"seed": 3}}``). Parameter files come from
    ``config_dir``, by default the package's (``data_root() / "config"``)."""
    config_dir = pathlib.Path(config_dir) if config_dir is not None else data_root() / "config"
    for value, allowed, what in ((robot, ROBOTS, "robot"), (camera, CAMERAS, "camera"),
                                 (grounding, GROUNDINGS, "grounding"), (hand, HANDS, "hand")):
        if value not in allowed:
            raise InvalidInputError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    if (robot == "ur10e") != (hand == "shadow" and robot != "sim"):
        raise InvalidInputError(f"--robot {robot} cannot carry --hand {hand}: the FR3 (sim, franka) has the "
                                "Franka hand, the UR10e the Shadow Hand (sim: --robot sim --hand shadow)")
    if hand == "shadow" and robot == "ur10e":
        if camera == "sim":
            raise InvalidInputError("the real UR10e needs a real camera (--camera realsense, replay or external)")
        camera_nodes = [] if camera == "external" else [
            NodeSpec("camera_node", "realvlg.ros.nodes.camera_node", (str(config_dir / "camera_node.yaml"),),
                     {"backend": camera})]
        return _with_overrides(camera_nodes + [
            NodeSpec("executor_node", "realvlg.ros.nodes.executor_node",
                     (str(config_dir / "executor_ur10e_shadow.yaml"),))], overrides)
    if hand == "shadow":
        if camera != "sim":
            raise InvalidInputError("the simulated UR10e + Shadow Hand renders its own camera (--camera sim)")
        return _with_overrides([NodeSpec("dex_grasp_node", "realvlg.ros.nodes.dex_grasp_node",
                                         (str(config_dir / "dex_grasp_node.yaml"),))], overrides)
    if camera == "sim" and robot != "sim":
        raise InvalidInputError("the simulated camera needs the simulated robot (--robot sim)")
    if grounding == "oracle" and robot != "sim":
        raise InvalidInputError("the oracle grounding reads the simulator: it exists only with --robot sim; "
                                "use --grounding vlm on a real robot")
    cfg = lambda name: str(config_dir / name)  # noqa: E731
    nodes = []
    if robot == "sim":
        nodes.append(NodeSpec("sim_node", "realvlg.ros.nodes.sim_node", (cfg("sim_node.yaml"),),
                              {"publish_camera": camera == "sim"}))
    if camera in ("realsense", "replay"):
        nodes.append(NodeSpec("camera_node", "realvlg.ros.nodes.camera_node", (cfg("camera_node.yaml"),),
                              {"backend": camera}))
    nodes.append(NodeSpec("executor_node", "realvlg.ros.nodes.executor_node",
                          (cfg("executor_franka.yaml"),) + ((cfg("executor_franka_sim.yaml"),) if robot == "sim" else ())))
    if grounding != "oracle":
        nodes.append(NodeSpec("grounding_node", "realvlg.ros.nodes.grounding_node", (cfg("grounding_node.yaml"),),
                              EMBEDDED_GROUNDING if grounding == "embedded" else {}))
    grasp_overrides = {"grounding.service": "/sim/ground" if grounding == "oracle" else "/realvlg/ground"}
    if robot == "sim":  # the simulated wrist camera's true mount
        grasp_overrides["calibration"] = "calibration/sim_fr3_wrist_camera.yaml"
    grasp_files = (cfg("grasp_node.yaml"),) + ((cfg("camera_external.yaml"),) if camera == "external" else ())
    nodes.append(NodeSpec("grasp_node", "realvlg.ros.nodes.grasp_node", grasp_files, grasp_overrides))
    return _with_overrides(nodes, overrides)


def _with_overrides(nodes: list[NodeSpec], overrides: dict[str, dict] | None) -> list[NodeSpec]:
    extra = overrides or {}
    unknown = set(extra) - {n.name for n in nodes}
    if unknown:
        raise InvalidInputError(f"overrides for nodes not in this graph: {', '.join(sorted(unknown))}")
    return [replace(n, overrides={**n.overrides, **extra.get(n.name, {})}) for n in nodes]
