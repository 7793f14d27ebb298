"""Franka FR3 + Franka hand: :class:`FrankaExecutor` over franky (the real robot, or franky-sim over
the same libfranka protocol), its :class:`FrankaConfig` and the FR3's kinematics
(:mod:`realvlg.robots.franka.kinematics`)."""

from realvlg.robots.franka.config_franka import FrankaConfig
from realvlg.robots.franka.franka import FrankaExecutor

__all__ = ["FrankaConfig", "FrankaExecutor"]
