"""The UR10e check of the DexVLG grasp generator (:mod:`realvlg.dexvlg.datagen`, step 4): a
generated grasp (object frame) is planned by the simulated UR10e + Shadow Hand executor at
:data:`~realvlg.dexvlg.datagen.ARM_YAWS` object yaws, then executed and lifted at one of them.
``realvlg dex-datagen`` passes :class:`UR10eArmCheck` to
:func:`~realvlg.dexvlg.datagen.generate` (realvlg.dexvlg does not import the robots or the
simulation)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.dexvlg.datagen import ARM_PLACEMENT, ARM_YAWS, ArmResult
from realvlg.errors import GraspRefusedError
from realvlg.frames import UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp
from realvlg.sim.common import Placement
from realvlg.sim.ur10e_shadow_world import D415CameraConfig, UR10eShadowWorld, UR10eShadowWorldConfig, sim_executor


class UR10eArmCheck:
    """One object on the table of a small-camera :class:`UR10eShadowWorld` at ``ARM_PLACEMENT``."""

    def __init__(self, name: str):
        self.name = name
        self.world = UR10eShadowWorld([self._placement(0.0)],
                                      UR10eShadowWorldConfig(camera=D415CameraConfig(64, 36)))
        self.executor = sim_executor(self.world)

    def _placement(self, yaw: float) -> Placement:
        return Placement(self.name, *ARM_PLACEMENT, float(yaw))

    @staticmethod
    def _base(grasp: DexGrasp, yaw: float) -> DexGrasp:
        T = np.eye(4)
        T[:3, :3] = Rotation.from_euler("z", yaw).as_matrix()
        T[:3, 3] = (*ARM_PLACEMENT, 0.0)
        return grasp.transformed(T, UR_BASE_FRAME)

    def check(self, grasp: DexGrasp, min_yaws: int, rng: np.random.Generator) -> ArmResult:
        """Plan ``grasp`` (object frame) at every yaw (nothing moves); with at least ``min_yaws``
        plannable yaws, execute it at one of them (drawn) and check the lift."""
        self.world.reset([self._placement(0.0)], settle=0.0)  # the arm at its observation pose
        plannable = []
        for yaw in ARM_YAWS:
            try:
                self.executor.check(self._base(grasp, yaw))
                plannable.append(yaw)
            except GraspRefusedError:
                continue
        if len(plannable) < min_yaws:
            return ArmResult(len(plannable), None, False)
        yaw = plannable[rng.integers(len(plannable))]
        self.world.reset([self._placement(yaw)])
        try:
            self.executor.grasp(grasp.transformed(self.world.object_pose(self.name), UR_BASE_FRAME))
        except GraspRefusedError:
            return ArmResult(len(plannable), None, False)
        lift = self.world.lift_check(self.name)
        return ArmResult(len(plannable), round(1000 * lift.height_gain, 1), lift.success)
