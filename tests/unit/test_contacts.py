"""Contact points from a rectangle and a mask, after the paper's §3.3 rule."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realvlg.errors import InvalidInputError
from realvlg.geometry.contacts import contacts_from_rect
from realvlg.geometry.grasps import RectGrasp


def _box_mask(x0, x1, y0, y1, shape=(100, 120)):
    mask = np.zeros(shape, bool)
    mask[y0:y1 + 1, x0:x1 + 1] = True
    return mask


MASK = _box_mask(40, 70, 30, 60)  # columns 40..70, rows 30..60


def test_both_contacts_inside_are_kept():
    rect = RectGrasp(55, 45, 0.0, 20)
    assert contacts_from_rect(rect, MASK) == rect.contacts()


def test_outside_contact_moves_along_the_closing_direction_to_the_boundary():
    rect = RectGrasp(60, 45, 0.0, 40)  # ends at x = 40 (inside) and x = 80 (outside)
    pair = contacts_from_rect(rect, MASK)
    assert (pair.x1, pair.y1) == (40, 45)
    assert pair.y2 == 45 and 70 <= pair.x2 <= 70.5  # first point whose pixel is column 70


def test_both_outside_move_inwards_and_stay_on_the_closing_line():
    theta = math.radians(30)
    rect = RectGrasp(55, 45, theta, 80)
    pair = contacts_from_rect(rect, MASK)
    for x, y in pair.points:
        assert MASK[round(y), round(x)]
        # on the original line through the centre with direction theta
        assert abs(-(x - 55) * math.sin(theta) + (y - 45) * math.cos(theta)) < 1e-9
    # just outside each contact (half a pixel further out) is off the mask
    d = np.array([math.cos(theta), math.sin(theta)])
    for point, sign in ((pair.points[0], -1), (pair.points[1], 1)):
        outside = point + sign * 0.75 * d
        assert not MASK[round(outside[1]), round(outside[0])]


def test_midpoint_outside_is_projected_to_the_nearest_boundary_pixel_and_segment_follows():
    rect = RectGrasp(90, 45, math.pi / 2, 10)  # vertical segment right of the box, centre at x = 90
    pair = contacts_from_rect(rect, MASK)
    # centre → (70, 45); the segment keeps its direction and length, both ends inside
    np.testing.assert_allclose(pair.points, [[70, 40], [70, 50]])


def test_midpoint_outside_then_outside_contacts_walk_in():
    rect = RectGrasp(55, 20, math.pi / 2, 30)  # centre above the box (row 20); nearest mask pixel (55, 30)
    pair = contacts_from_rect(rect, MASK)
    assert pair.x1 == pair.x2 == 55
    assert 29.5 <= pair.y1 <= 30  # the end at row 15 walks down to the box top
    assert pair.y2 == 45


def test_rect_reaching_off_the_image_is_fine():
    mask = _box_mask(0, 10, 0, 10, shape=(20, 20))
    pair = contacts_from_rect(RectGrasp(5, 5, 0.0, 60), mask)
    assert -0.5 <= pair.x1 <= 0 and 10 <= pair.x2 <= 10.5  # pixel 0 spans [-0.5, 0.5]


def test_errors():
    with pytest.raises(InvalidInputError, match="empty"):
        contacts_from_rect(RectGrasp(5, 5, 0, 5), np.zeros((10, 10), bool))
    with pytest.raises(InvalidInputError, match="2-D"):
        contacts_from_rect(RectGrasp(5, 5, 0, 5), np.ones((10, 10, 3), bool))
    with pytest.raises(InvalidInputError):
        RectGrasp(float("nan"), 5, 0, 5)


finite = dict(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(box=st.tuples(st.integers(0, 79), st.integers(0, 79), st.integers(0, 59), st.integers(0, 59)),
       rect=st.builds(RectGrasp, st.floats(-20, 100, **finite), st.floats(-20, 80, **finite),
                      st.floats(-math.pi, math.pi, **finite), st.floats(0.5, 120, **finite)))
def test_contacts_lie_on_the_mask_along_the_closing_direction(box, rect):
    x0, x1 = sorted(box[:2])
    y0, y1 = sorted(box[2:])
    mask = _box_mask(x0, x1, y0, y1, shape=(60, 80))
    pair = contacts_from_rect(rect, mask)
    for x, y in pair.points:
        assert mask[int(np.rint(y)), int(np.rint(x))]
    step = pair.points[1] - pair.points[0]
    # the pair keeps the rectangle's closing direction and never grows
    assert abs(step[0] * rect.direction[1] - step[1] * rect.direction[0]) < 1e-6
    assert step @ rect.direction >= -1e-9
    assert np.hypot(*step) <= rect.width + 1e-9
