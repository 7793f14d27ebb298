"""The Grasp6D → franky end-effector target mapping (pure; the sim tests measure it physically)."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import Grasp6D
from realvlg.robots.franka import EE_FROM_GRASP, FrankaConfig, ee_target

HOME_EE = np.diag([1.0, -1.0, -1.0])  # hand x along base x, pointing down


@pytest.mark.parametrize("yaw", np.linspace(-math.pi, math.pi, 13))
def test_target_is_the_grasp_or_its_half_turn_closest_to_the_current_hand(yaw):
    closing = (math.cos(yaw), math.sin(yaw), 0.0)
    g = Grasp6D.from_axes((0.5, 0.1, 0.03), (0, 0, -1), closing, 0.03, frame="base")
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
    g = Grasp6D((0.4, 0, 0.1), Rotation.from_matrix(HOME_EE), 0.02, frame="base")
    np.testing.assert_allclose(ee_target(g, HOME_EE), g.homogeneous())


def test_config_validation():
    with pytest.raises(InvalidInputError):
        FrankaConfig(realtime="maybe")
    with pytest.raises(InvalidInputError):
        FrankaConfig(relative_dynamics_factor=0)
    with pytest.raises(InvalidInputError):
        FrankaConfig(home_q=(0.0,) * 6)
