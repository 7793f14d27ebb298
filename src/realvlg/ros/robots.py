"""The robots executor_node drives, built from its parameters (``robot``):

* ``franka`` — FR3 + Franka hand over franky (the real robot, or franky-sim on a loopback address):
  :class:`~realvlg.robots.franka.franka.FrankaExecutor`; the grasp limits come from the ``limits``
  file the grasp node's planner reads too; the other :class:`~realvlg.robots.franka.config_franka.FrankaConfig`
  fields are parameters of the same names.
* ``ur10e_shadow`` — UR10e over ur_rtde + Shadow Hand through the Shadow Robot driver's trajectory
  controller: :class:`~realvlg.robots.ur10e_shadow.ur10e_shadow.UR10eShadowExecutor` over the
  :class:`~realvlg.robots.ur10e_shadow.rtde.RTDEBackend` (the same grasp stages the simulated
  UR10e runs); :class:`~realvlg.robots.ur10e_shadow.config_ur10e_shadow.UR10eShadowConfig` fields
  are parameters (``rtde.host``, ``squeeze``, ``workspace.x`` …, ``hand.topic`` …).
  ``rtde_interfaces`` (``module:function``, default empty = ur_rtde itself) replaces the RTDE
  client: no UR controller simulator exists here, so the process tests drive the node against
  the recording stand-in of tests/robots/rtde_standin.py through it.
"""

from __future__ import annotations

import dataclasses
import importlib

from realvlg.errors import InvalidInputError
from realvlg.frames import FR3_BASE_FRAME, FR3_TCP_FRAME, SHADOW_PALM_FRAME, UR_BASE_FRAME
from realvlg.graph import repo_path
from realvlg.robots.executor import Executor
from realvlg.ros.params import declare_config

ROBOTS = ("franka", "ur10e_shadow")
FRAMES = {"franka": (FR3_BASE_FRAME, FR3_TCP_FRAME), "ur10e_shadow": (UR_BASE_FRAME, SHADOW_PALM_FRAME)}


def make_executor(node, robot: str, base_frame: str) -> Executor:
    if robot == "franka":
        from realvlg.robots.franka import FrankaConfig, FrankaExecutor
        from realvlg.robots.limits import load_limits

        limits = load_limits(repo_path(node.declare_parameter("limits", "config/limits_fr3.yaml").value))
        config = declare_config(node, FrankaConfig(), skip=("base_frame", "workspace", "max_approach_angle", "max_width"))
        return FrankaExecutor(dataclasses.replace(config, base_frame=base_frame, workspace=limits.workspace,
                                                  max_approach_angle=limits.max_approach_angle,
                                                  max_width=limits.max_width))
    if robot == "ur10e_shadow":
        from realvlg.robots.ur10e_shadow import UR10eShadowConfig, UR10eShadowExecutor
        from realvlg.robots.ur10e_shadow.rtde import RTDEBackend, rtde_interfaces
        from realvlg.ros.shadow_hand import ShadowHandPublisher

        config = dataclasses.replace(declare_config(node, UR10eShadowConfig(), skip=("base_frame",)),
                                     base_frame=base_frame)
        interfaces = node.declare_parameter("rtde_interfaces", "").value
        factory = _load(interfaces) if interfaces else rtde_interfaces
        hand = ShadowHandPublisher(node, config.hand)
        return UR10eShadowExecutor(config, RTDEBackend(config, hand.send, factory))
    raise InvalidInputError(f"unknown robot {robot!r}; executor_node drives {', '.join(ROBOTS)}")


def robot_description(robot: str) -> str:
    """The URDF of ``robot`` (franka_description's names for the FR3, the MuJoCo model's for the
    UR10e + Shadow Hand)."""
    if robot == "franka":
        from realvlg.robots.franka.description import robot_description as franka_description

        return franka_description()
    if robot == "ur10e_shadow":
        from realvlg.robots.ur10e_shadow.description import robot_description as ur10e_shadow_description

        return ur10e_shadow_description()
    raise InvalidInputError(f"unknown robot {robot!r}; executor_node drives {', '.join(ROBOTS)}")


def _load(path: str):
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(f"rtde_interfaces {path!r} cannot be loaded: {exc}") from None
