"""The robot-executor interface: one small abstract class, one module per robot.

An :class:`Executor` takes a :class:`~realvlg.geometry.grasps.Grasp6D` **in the robot base
frame** (z = approach, y = closing, position = grasp centre between the fingertips, width = the
object's size between the contacts) and runs a complete grasp. Targets that must not be executed
(outside the workspace, approaching from below, wider than the gripper, wrong frame) raise
:class:`~realvlg.errors.GraspRefusedError` before the robot moves; a grasp that was tried and
failed returns a :class:`GraspResult` with ``success=False`` and the reason.

Implementations: :mod:`realvlg.robots.franka` (franky, FR3 + Franka hand, real or franky-sim).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from realvlg.errors import RealVLGError
from realvlg.geometry.grasps import Grasp6D


class RobotUnreachableError(RealVLGError):
    """The robot (or its gripper) did not answer at start-up."""


class RobotConnectionError(RealVLGError):
    """The connection to the robot was lost or a command failed at the protocol level."""


@dataclass
class GraspResult:
    """What happened to one grasp: ``success`` (the gripper holds something after the lift),
    ``reason`` (empty on success), the ``stage`` it reached (``home``, ``pre_grasp``,
    ``approach``, ``grasp``, ``lift``, ``check``, ``done``), ``retries`` after control errors,
    the final ``gripper_width`` [m] and ``timings`` [s] per stage."""

    success: bool
    reason: str = ""
    stage: str = "done"
    retries: int = 0
    gripper_width: float = float("nan")
    timings: dict[str, float] = field(default_factory=dict)


class Executor(abc.ABC):
    """Connect once, then grasp / home / open as often as needed."""

    base_frame: str = "base"

    @abc.abstractmethod
    def connect(self) -> None:
        """Reach the robot and gripper; raise :class:`RobotUnreachableError` if they don't answer."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Release the connection (idempotent)."""

    @abc.abstractmethod
    def current_pose(self) -> np.ndarray:
        """base←ee 4x4 (the TCP between the fingertips; z = approach, y = closing)."""

    @abc.abstractmethod
    def grasp(self, pose: Grasp6D, width: float | None = None) -> GraspResult:
        """Grasp at ``pose`` (base frame); ``width`` [m] overrides ``pose.width``."""

    @abc.abstractmethod
    def home(self) -> None:
        """Move to the home (observation) pose."""

    @abc.abstractmethod
    def open(self) -> None:
        """Open the gripper fully (releases what it holds)."""

    @abc.abstractmethod
    def is_holding(self) -> bool:
        """Whether the gripper holds something between its fingers."""

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()
