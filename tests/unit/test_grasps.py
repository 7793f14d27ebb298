"""Grasp types: rect ↔ corners ↔ contacts round trips, rotated-rectangle IoU, Grasp6D frames."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import (
    ContactPair,
    Grasp6D,
    RectGrasp,
    angle_diff_pi,
    from_graspnet_rotation,
    rect_iou,
    to_graspnet_rotation,
    wrap_angle_pi,
)

finite = dict(allow_nan=False, allow_infinity=False)
coords = st.floats(-500, 1500, **finite)
angles = st.floats(-4 * math.pi, 4 * math.pi, **finite)
lengths = st.floats(1.0, 300.0, **finite)
rects = st.builds(RectGrasp, coords, coords, angles, lengths, lengths)


@settings(max_examples=200, deadline=None)
@given(rects)
def test_rect_corners_round_trip(rect):
    back = RectGrasp.from_corners(rect.corners())
    assert back.is_equivalent(rect, tol=1e-6)
    # corner0→corner1 is the opening direction, its length the width
    c = rect.corners()
    assert np.hypot(*(c[1] - c[0])) == pytest.approx(rect.width)
    assert np.hypot(*(c[2] - c[1])) == pytest.approx(rect.jaw)


@settings(max_examples=200, deadline=None)
@given(rects)
def test_rect_contacts_rect_round_trip(rect):
    pair = rect.contacts()
    assert pair.length == pytest.approx(rect.width)
    np.testing.assert_allclose(pair.points.mean(axis=0), rect.center, atol=1e-9)
    assert pair.to_rect(rect.jaw).is_equivalent(rect, tol=1e-6)


@settings(max_examples=200, deadline=None)
@given(coords, coords, coords, coords)
def test_contacts_rect_contacts_round_trip(x1, y1, x2, y2):
    pair = ContactPair(x1, y1, x2, y2)
    assume(pair.length > 1e-3)
    np.testing.assert_allclose(pair.to_rect().contacts().points, pair.points, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(rects, rects)
def test_iou_symmetric_and_bounded(a, b):
    ab, ba = a.iou(b), b.iou(a)
    assert ab == pytest.approx(ba, abs=1e-9)
    assert 0.0 <= ab <= 1.0 + 1e-12


@settings(max_examples=100, deadline=None)
@given(rects)
def test_iou_identity_and_180_degree_rotation(rect):
    assert rect.iou(rect) == pytest.approx(1.0)
    flipped = RectGrasp(rect.x, rect.y, rect.theta + math.pi, rect.width, rect.jaw)
    assert flipped.is_equivalent(rect)
    assert rect.iou(flipped) == pytest.approx(1.0)
    np.testing.assert_allclose(np.sort(flipped.corners(), axis=0), np.sort(rect.corners(), axis=0), atol=1e-6)


def test_iou_known_values_and_batch():
    a = RectGrasp(0, 0, 0, 4, 2)
    assert a.iou(RectGrasp(2, 0, 0, 4, 2)) == pytest.approx(1 / 3)  # half overlap: 4 / (8 + 8 - 4)
    assert a.iou(RectGrasp(100, 0, 0, 4, 2)) == 0.0
    square = RectGrasp(0, 0, 0, 2, 2)
    rotated = RectGrasp(0, 0, math.pi / 4, 2, 2)
    inter = 8 * (math.sqrt(2) - 1)  # regular octagon inside two unit-half-side squares
    assert square.iou(rotated) == pytest.approx(inter / (8 - inter))
    batch = rect_iou(np.stack([a.corners(), square.corners()]), a.corners()[None])
    np.testing.assert_allclose(batch, [1.0, a.iou(square)])
    assert rect_iou(np.zeros((1, 4, 2)), np.zeros((1, 4, 2)))[0] == 0.0


def test_angles_modulo_pi():
    np.testing.assert_allclose(wrap_angle_pi([0, math.pi, -math.pi / 2, math.pi / 2]),
                               [0, 0, -math.pi / 2, -math.pi / 2], atol=1e-12)
    assert angle_diff_pi(math.radians(179), math.radians(1)) == pytest.approx(math.radians(2))
    assert RectGrasp.from_degrees(1, 2, 90, 3).theta == pytest.approx(math.pi / 2)


def test_invalid_grasps():
    with pytest.raises(InvalidInputError):
        RectGrasp(0, 0, 0, -1)
    with pytest.raises(InvalidInputError):
        RectGrasp(0, 0, float("nan"), 1)
    with pytest.raises(InvalidInputError, match="closing direction"):
        ContactPair(1, 1, 1, 1).to_rect()


@settings(max_examples=100, deadline=None)
@given(st.builds(lambda q: Rotation.from_quat(q) if np.linalg.norm(q) > 1e-3 else Rotation.identity(),
                 st.lists(st.floats(-1, 1, **finite), min_size=4, max_size=4)))
def test_grasp6d_axes_homogeneous_and_graspnet_conversion(rotation):
    g = Grasp6D.from_axes([0.1, -0.2, 0.5], rotation.as_matrix()[:, 2], rotation.as_matrix()[:, 1], 0.05)
    np.testing.assert_allclose(g.matrix, rotation.as_matrix(), atol=1e-9)
    np.testing.assert_allclose(np.cross(g.closing, g.approach), g.matrix[:, 0], atol=1e-9)
    gn = to_graspnet_rotation(g.matrix)
    np.testing.assert_allclose(gn[:, 0], g.approach, atol=1e-12)  # graspnetAPI: x = approach
    np.testing.assert_allclose(np.linalg.det(gn), 1.0, atol=1e-9)
    np.testing.assert_allclose(from_graspnet_rotation(gn), g.matrix, atol=1e-12)
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    T[:3, 3] = [1, 2, 3]
    moved = g.transformed(T, "base")
    np.testing.assert_allclose(moved.homogeneous(), T @ g.homogeneous(), atol=1e-12)
    assert moved.frame == "base" and moved.width == g.width
    assert g.quaternion_xyzw[3] >= 0
