"""Parameters of the Franka FR3 + Franka hand executor (:mod:`realvlg.robots.franka.franka`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from realvlg.errors import InvalidInputError
from realvlg.frames import FR3_BASE_FRAME, FRANKA_HAND_STROKE, LIFT_HEIGHT, PRE_GRASP_DISTANCE
from realvlg.robots.limits import GraspLimits, WorkspaceBox

# Home = the observation pose of the simulated scene: ee at (0.40, 0, 0.47) pointing down.
FR3_HOME_Q = (0.0, -0.5, 0.0, -2.2, 0.0, 1.7, 0.785)


@dataclass(frozen=True)
class FrankaConfig:
    """Parameters of :class:`FrankaExecutor` (SI units).

    ``base_frame`` names the robot base frame grasps must be expressed in (``Grasp6D.frame``).

    ``realtime``: ``"enforce"`` needs a PREEMPT_RT kernel (real robot), ``"ignore"`` runs anywhere
    (franky-sim). ``relative_dynamics_factor`` scales velocity/acceleration/jerk limits of every
    motion; ``approach_dynamics_factor`` further scales the last, slow approach. The gripper
    opens to ``min(width + open_margin, max_width)`` before the approach and closes towards
    ``grasp_width`` at ``grasp_speed`` with ``grasp_force``; franky counts the grasp as closed
    when the final gap is within ``(grasp_width − epsilon_inner, grasp_width + epsilon_outer)``.
    After the lift the gripper holds something when its gap is ≥ ``min_held_width``.
    """

    address: str = "127.0.0.1"
    base_frame: str = FR3_BASE_FRAME
    realtime: str = "ignore"
    relative_dynamics_factor: float = 0.2
    approach_dynamics_factor: float = 0.3
    retry_dynamics_scale: float = 0.5
    workspace: WorkspaceBox = WorkspaceBox()
    max_approach_angle: float = math.radians(60)
    max_width: float = FRANKA_HAND_STROKE
    pre_grasp_offset: float = PRE_GRASP_DISTANCE
    lift_height: float = LIFT_HEIGHT
    open_margin: float = 0.02
    grasp_width: float = 0.0
    grasp_speed: float = 0.05
    grasp_force: float = 40.0
    epsilon_inner: float = 0.005
    epsilon_outer: float = FRANKA_HAND_STROKE
    min_held_width: float = 0.002
    home_q: tuple[float, ...] = FR3_HOME_Q
    position_tolerance: float = 0.01  # a motion that ends farther from its target has failed [m]
    rotation_tolerance: float = math.radians(5)  # … or turned farther from its target [rad]
    settle_time: float = 3.0  # wall time a finished motion may take to come within tolerance [s]

    def __post_init__(self) -> None:
        if self.realtime not in ("enforce", "ignore"):
            raise InvalidInputError(f"realtime must be 'enforce' or 'ignore', got {self.realtime!r}")
        for name in ("relative_dynamics_factor", "approach_dynamics_factor", "retry_dynamics_scale"):
            if not 0 < getattr(self, name) <= 1:
                raise InvalidInputError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if len(self.home_q) != 7:
            raise InvalidInputError(f"home_q needs 7 joint positions, got {len(self.home_q)}")

    @property
    def limits(self) -> GraspLimits:
        return GraspLimits(self.workspace, self.max_approach_angle, self.max_width)
