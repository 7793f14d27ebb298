"""UR10e + Shadow Hand: :class:`UR10eShadowExecutor` — the shared grasp stages (:mod:`.stages`)
over the real arm and hand (:mod:`.rtde`: ur_rtde + the Shadow Robot driver, :mod:`.hand`) or the
MuJoCo twin (:mod:`realvlg.sim.ur10e_shadow_world`) — its :class:`UR10eShadowConfig`, the UR10e's
kinematics (:mod:`.kinematics`), the robot's MuJoCo model (:mod:`.model`) and URDF
(:mod:`.description`)."""

from realvlg.robots.ur10e_shadow.config_ur10e_shadow import UR10eShadowConfig
from realvlg.robots.ur10e_shadow.ur10e_shadow import UR10eShadowExecutor

__all__ = ["UR10eShadowConfig", "UR10eShadowExecutor"]
