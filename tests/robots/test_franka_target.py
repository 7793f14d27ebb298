"""The Grasp6D → franky end-effector target mapping (pure; the sim tests measure it physically)."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.frames import FR3_BASE_FRAME
from realvlg.geometry.grasps import Grasp6D
from realvlg.robots.franka.config_franka import FrankaConfig
from realvlg.robots.franka.franka import EE_FROM_GRASP, FrankaExecutor, ee_target

HOME_EE = np.diag([1.0, -1.0, -1.0])  # hand x along base x, pointing down


@pytest.mark.parametrize("yaw", np.linspace(-math.pi, math.pi, 13))
def test_target_is_the_grasp_or_its_half_turn_closest_to_the_current_hand(yaw):
    closing = (math.cos(yaw), math.sin(yaw), 0.0)
    g = Grasp6D.from_axes((0.5, 0.1, 0.03), (0, 0, -1), closing, 0.03, frame=FR3_BASE_FRAME)
    T = ee_target(g, HOME_EE)
    np.testing.assert_allclose(T[:3, 3], g.position)
    np.testing.assert_allclose(T[:3, 2], g.approach, atol=1e-12)
    # Same closing line (either sign), x axis within 90° of the current hand's.
    assert abs(T[:3, 1] @ g.closing) == pytest.approx(1.0)
    assert T[:3, 0] @ HOME_EE[:, 0] >= -1e-9
    assert np.allclose(T[:3, :3].T @ T[:3, :3], np.eye(3))
    assert np.linalg.det(T[:3, :3]) == pytest.approx(1.0)


def test_tcp_frame_is_the_grasp_frame():
    assert np.array_equal(EE_FROM_GRASP, np.eye(4))
    g = Grasp6D((0.4, 0, 0.1), Rotation.from_matrix(HOME_EE), 0.02, frame=FR3_BASE_FRAME)
    np.testing.assert_allclose(ee_target(g, HOME_EE), g.homogeneous())


def test_config_validation():
    with pytest.raises(InvalidInputError):
        FrankaConfig(realtime="maybe")
    with pytest.raises(InvalidInputError):
        FrankaConfig(relative_dynamics_factor=0)
    with pytest.raises(InvalidInputError):
        FrankaConfig(home_q=(0.0,) * 6)


def test_check_refuses_another_frame_or_grasp_type_without_a_robot():
    executor = FrankaExecutor(FrankaConfig())              # never connected: check() needs no robot
    good = Grasp6D.from_axes((0.5, 0.0, 0.05), (0, 0, -1), (0, 1, 0), 0.03, frame=FR3_BASE_FRAME)
    executor.check(good)
    with pytest.raises(GraspRefusedError, match="frame 'camera_color_optical_frame'"):
        executor.check(Grasp6D(good.position, good.rotation, 0.03, frame="camera_color_optical_frame"))
    from realvlg.geometry.grasps import DexGrasp
    with pytest.raises(GraspRefusedError, match="executes Grasp6D grasps, got a DexGrasp"):
        executor.check(DexGrasp(good.position, good.rotation, [0.0] * 22, FR3_BASE_FRAME))
