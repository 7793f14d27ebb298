"""Gripper markers sit where the fingers will be."""

import numpy as np
import pytest

pytest.importorskip("visualization_msgs")

from realvlg.geometry.grasps import Grasp6D  # noqa: E402
from realvlg.ros.markers import FINGER_LENGTH, gripper_markers  # noqa: E402


def test_fingers_straddle_the_grasp_along_the_closing_axis():
    grasp = Grasp6D.from_axes([0.4, 0.0, 0.1], [0, 0, -1], [0, 1, 0], 0.04, frame="fr3_link0")
    markers = gripper_markers(grasp).markers
    assert markers[0].action == markers[0].DELETEALL
    fingers = [np.array([m.pose.position.x, m.pose.position.y, m.pose.position.z]) for m in markers[1:3]]
    np.testing.assert_allclose(sorted(f[1] for f in fingers), [-0.025, 0.025])
    np.testing.assert_allclose([f[2] for f in fingers], [0.1 + FINGER_LENGTH / 2] * 2)   # above, approach is down
    assert all(m.header.frame_id == "fr3_link0" for m in markers)
    assert gripper_markers(grasp, success=False).markers[1].color.r > 0.5
