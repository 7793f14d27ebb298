"""The UR10e + Shadow Hand executor: the shared grasp stages (:mod:`.stages`) over a backend — the
real arm and hand (:class:`~realvlg.robots.ur10e_shadow.rtde.RTDEBackend`: ur_rtde + the Shadow
Robot driver's trajectory controller) or the simulated world
(:class:`~realvlg.sim.ur10e_shadow_world.SimBackend`). Grasps are
:class:`~realvlg.geometry.grasps.DexGrasp` in the controller's base frame
(:data:`~realvlg.frames.UR_BASE_FRAME`); the end effector is the palm."""

from __future__ import annotations

import numpy as np

from realvlg.geometry.grasps import DexGrasp
from realvlg.robots.executor import Executor, GraspResult, RobotConnectionError
from realvlg.robots.ur10e_shadow.config_ur10e_shadow import UR10eShadowConfig
from realvlg.robots.ur10e_shadow.stages import Backend, GraspPlan, GraspPlanner, run_grasp
from realvlg.shadow_hand import MJCF_PREFIX, SHADOW_JOINTS


class UR10eShadowExecutor(Executor):
    """:meth:`check` plans (nothing moves), :meth:`grasp` plans and runs the stages."""

    grasp_type = DexGrasp

    def __init__(self, config: UR10eShadowConfig, backend: Backend, planner: GraspPlanner | None = None):
        self.config = config
        self.base_frame = config.base_frame
        self.backend = backend
        self.planner = planner or GraspPlanner(config)

    def connect(self) -> None:
        self.backend.connect()

    def disconnect(self) -> None:
        self.backend.disconnect()

    def reconnect(self) -> None:
        self.backend.reconnect()

    def fault(self) -> str:
        return self.backend.fault()

    def joint_positions(self) -> np.ndarray:
        return self.backend.arm_q()

    def joint_state(self) -> dict[str, float]:
        """The six arm joints and, where the backend measures them, the 22 finger joints, named as in
        :mod:`realvlg.robots.ur10e_shadow.description` (``robot0:``-prefixed fingers)."""
        from realvlg.robots.ur10e_shadow.model import ARM_JOINTS

        state = dict(zip(ARM_JOINTS, self.backend.arm_q().tolist()))
        fingers = self.backend.hand_q()
        if fingers is not None:
            state.update(zip((MJCF_PREFIX + j for j in SHADOW_JOINTS), np.asarray(fingers, dtype=float).tolist()))
        return state

    def current_pose(self) -> np.ndarray:
        """base←palm, from the measured arm joints."""
        return self.planner.palm_pose(self.backend.arm_q())

    def check(self, grasp: DexGrasp) -> GraspPlan:
        self.require(grasp)
        return self.planner.plan(grasp, self.backend.arm_q(), self.backend.hand_q())

    def grasp(self, grasp: DexGrasp) -> GraspResult:
        return run_grasp(self.check(grasp), self.backend, self.config)

    def open(self) -> None:
        self.backend.set_hand(np.zeros(len(SHADOW_JOINTS)), self.config.open_duration)

    def home(self) -> None:
        """Open the hand, then a joint move to ``home_q``."""
        self.open()
        reason = self.backend.move_joints(np.asarray(self.config.home_q, dtype=float)[None], self.config.move_duration)
        if reason:
            raise RobotConnectionError(f"the arm did not reach its home pose: {reason}")

    def is_holding(self) -> bool | None:
        return self.backend.holding()
