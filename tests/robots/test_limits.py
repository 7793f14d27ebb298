import math

import numpy as np
import pytest

from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.geometry.grasps import Grasp6D
from realvlg.robots.limits import GraspLimits, WorkspaceBox, approach_angle, check_approach, check_width


def top_down(x=0.5, y=0.0, z=0.05, width=0.04, frame="base"):
    return Grasp6D.from_axes((x, y, z), (0, 0, -1), (0, 1, 0), width, frame=frame)


def test_workspace_box_contains_bounds_and_names_the_axis():
    box = WorkspaceBox(x=(0.2, 0.8), y=(-0.4, 0.4), z=(0.01, 0.6))
    assert box.contains([[0.2, -0.4, 0.01], [0.8, 0.4, 0.6], [0.5, 0, 0.3]]).all()
    assert not box.contains([0.81, 0, 0.3])
    box.check([0.5, 0.0, 0.3])
    with pytest.raises(GraspRefusedError, match=r"y=0\.500 not in \[-0\.400, 0\.400\]"):
        box.check([0.5, 0.5, 0.3])
    with pytest.raises(GraspRefusedError, match="not finite"):
        box.check([np.nan, 0, 0.3])


def test_workspace_box_rejects_empty_ranges():
    with pytest.raises(InvalidInputError):
        WorkspaceBox(x=(0.8, 0.2))


def test_approach_up_is_refused_even_inside_a_wide_cone():
    check_approach((0, 0, -1))
    check_approach((math.sin(0.5), 0, -math.cos(0.5)))  # 29° from down
    with pytest.raises(GraspRefusedError, match="points up"):
        check_approach((0, 0.3, 1.0), max_angle=math.pi)
    with pytest.raises(GraspRefusedError, match="from straight down"):
        check_approach((1, 0, -0.1), max_angle=math.radians(60))  # horizontal-ish
    with pytest.raises(GraspRefusedError):
        check_approach((0, 0, 0))


def test_approach_angle():
    assert approach_angle((0, 0, -2)) == pytest.approx(0)
    assert approach_angle((1, 0, 0)) == pytest.approx(math.pi / 2)
    assert approach_angle((0, 0, 1)) == pytest.approx(math.pi)


def test_width_limit():
    check_width(0.08)
    with pytest.raises(GraspRefusedError, match="exceeds the gripper's maximum opening 8.0 cm"):
        check_width(0.081)
    with pytest.raises(GraspRefusedError):
        check_width(float("nan"))


def test_grasp_limits_checks_pre_grasp_and_lift_points():
    limits = GraspLimits(WorkspaceBox(z=(0.011, 0.3)))
    limits.check(top_down(z=0.05), pre_grasp_offset=0.1, lift_height=0.1)
    with pytest.raises(GraspRefusedError, match="pre-grasp position"):
        limits.check(top_down(z=0.25), pre_grasp_offset=0.1)
    with pytest.raises(GraspRefusedError, match="lift position"):
        GraspLimits(WorkspaceBox(z=(0.011, 0.16))).check(top_down(z=0.05), pre_grasp_offset=0.1, lift_height=0.12)
    with pytest.raises(GraspRefusedError, match="grasp position"):
        limits.check(top_down(z=0.0))  # fingertips would hit the table
