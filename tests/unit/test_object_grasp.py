"""Coarse grasps from an object's cloud: known answers on analytic tabletops."""

import numpy as np
import pytest

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError
from realvlg.geometry.boxes import BoundingBox
from realvlg.planning.object_grasp import ObjectGraspConfig, object_grasp, principal_axis_grasp

from tabletop import INTRINSICS, TABLE_DEPTH, Cuboid, box_around, render


@pytest.mark.parametrize("yaw", [0.0, 0.6, -1.2])
def test_box_prompt_grasps_across_the_short_side_from_above(yaw):
    obj = Cuboid(0.02, -0.01, length=0.10, width=0.04, height=0.05, yaw=yaw)
    _, depth, (mask,) = render([obj])
    grasp = object_grasp(depth, INTRINSICS, box=box_around(mask))
    np.testing.assert_allclose(grasp.approach, [0, 0, 1], atol=0.02)        # down into the table
    long_axis = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    assert abs(grasp.closing @ long_axis) < 0.05                              # closes across it
    assert grasp.width == pytest.approx(0.04, abs=0.006)
    assert grasp.extras["object_height"] == pytest.approx(0.05, abs=0.004)
    top = TABLE_DEPTH - 0.05
    np.testing.assert_allclose(grasp.position, [0.02, -0.01, top + 0.02], atol=0.004)


def test_mask_prompt_uses_the_object_alone():
    obj = Cuboid(-0.03, 0.02, length=0.07, width=0.03, height=0.08, yaw=0.3)
    _, depth, masks = render([obj, Cuboid(0.08, 0.0, 0.05, 0.05, 0.03)])
    grasp = object_grasp(depth, INTRINSICS, mask=masks[0])
    assert grasp.width == pytest.approx(0.03, abs=0.004)
    np.testing.assert_allclose(grasp.position[:2], [-0.03, 0.02], atol=0.003)


def test_clutter_box_picks_the_largest_standing_cluster():
    target = Cuboid(0.0, 0.0, 0.09, 0.035, 0.06)
    _, depth, masks = render([target, Cuboid(0.055, 0.0, 0.012, 0.012, 0.02)])
    grasp = object_grasp(depth, INTRINSICS, box=box_around(masks[0] | masks[1], margin=6))
    np.testing.assert_allclose(grasp.position[:2], [0.0, 0.0], atol=0.004)


def test_a_pixel_on_the_object_picks_its_cluster_over_a_larger_neighbour():
    """A box around a small object in clutter holds more of a bigger neighbour: the largest cluster is
    the neighbour, the one imaged closest to a pixel on the object is the object."""
    from realvlg.planning.object_grasp import object_points

    small, big = Cuboid(-0.03, 0.0, 0.05, 0.018, 0.03), Cuboid(0.035, 0.0, 0.08, 0.045, 0.06)
    _, depth, masks = render([small, big])
    box = box_around(masks[0] | masks[1], margin=6)
    largest, _ = object_points(depth, INTRINSICS, box=box)
    ys, xs = np.nonzero(masks[0])
    on_small = (xs.mean(), ys.mean())
    chosen, _ = object_points(depth, INTRINSICS, box=box, near=on_small)
    np.testing.assert_allclose(largest[:, :2].mean(axis=0), [big.x, big.y], atol=0.005)
    np.testing.assert_allclose(chosen[:, :2].mean(axis=0), [small.x, small.y], atol=0.005)
    assert len(chosen) < len(largest)


def test_errors_are_typed_and_clear():
    _, depth, (mask,) = render([Cuboid(0, 0, 0.2, 0.12, 0.05)])
    with pytest.raises(GraspRefusedError, match="wider than the gripper"):
        object_grasp(depth, INTRINSICS, mask=mask)
    with pytest.raises(DepthError):
        object_grasp(np.zeros_like(depth), INTRINSICS, mask=mask)
    flat = np.full_like(depth, TABLE_DEPTH)
    with pytest.raises(DepthError, match="support plane"):
        object_grasp(flat, INTRINSICS, box=BoundingBox(100, 80, 200, 160))
    with pytest.raises(InvalidInputError, match="no pixel"):
        object_grasp(depth, INTRINSICS, mask=np.zeros_like(mask))
    with pytest.raises(InvalidInputError, match="exactly one"):
        object_grasp(depth, INTRINSICS)
    with pytest.raises(InvalidInputError):
        principal_axis_grasp(np.full((5, 3), np.nan))


def test_config_limits_the_gripper():
    _, depth, (mask,) = render([Cuboid(0, 0, 0.1, 0.05, 0.05)])
    with pytest.raises(GraspRefusedError):
        object_grasp(depth, INTRINSICS, mask=mask, config=ObjectGraspConfig(max_width=0.04))
