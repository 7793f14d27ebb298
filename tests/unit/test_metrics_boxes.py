"""Box metrics against hand-computed values (torchvision's definitions) and the official variant."""

import math

import numpy as np
import pytest

from realvlg.metrics.boxes import (
    EPS,
    box_iou,
    complete_box_iou,
    distance_box_iou,
    generalized_box_iou,
    paired_box_metrics,
    realvlg_r1_box_metrics,
)

A = [0, 0, 2, 2]
B = [1, 1, 3, 3]      # overlaps A in a unit square
C = [2, 0, 3, 1]      # touches nothing of D
D = [0, 0, 1, 1]
WIDE = [0, 0, 4, 2]   # aspect 2 vs SQUARE's 1
SQUARE = [0, 0, 2, 2]


def test_overlapping_squares_by_hand():
    iou = 1 / 7                                 # inter 1, union 4 + 4 - 1
    assert box_iou([A], [B])[0, 0] == pytest.approx(iou)
    assert generalized_box_iou([A], [B])[0, 0] == pytest.approx(iou - (9 - 7) / 9)   # hull 3x3
    diou = iou - 2 / (18 + EPS)                 # centres (1,1),(2,2); hull diagonal² 18
    assert distance_box_iou([A], [B])[0, 0] == pytest.approx(diou)
    assert complete_box_iou([A], [B])[0, 0] == pytest.approx(diou)   # same aspect: v = 0


def test_disjoint_boxes_by_hand():
    assert box_iou([D], [C])[0, 0] == 0
    assert generalized_box_iou([D], [C])[0, 0] == pytest.approx(-1 / 3)   # hull 3, union 2
    assert distance_box_iou([D], [C])[0, 0] == pytest.approx(-4 / (10 + EPS))


def test_complete_iou_aspect_term_by_hand():
    iou = 0.5
    diou = iou - 1 / (20 + EPS)
    v = 4 / math.pi ** 2 * (math.atan(2) - math.atan(1)) ** 2
    alpha = v / (1 - iou + v + EPS)
    assert complete_box_iou([WIDE], [SQUARE])[0, 0] == pytest.approx(diou - alpha * v)
    assert complete_box_iou([WIDE], [SQUARE])[0, 0] < distance_box_iou([WIDE], [SQUARE])[0, 0]


def test_identical_boxes_score_one_everywhere():
    for f in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        assert f([A], [A])[0, 0] == pytest.approx(1.0)


def test_matrix_shape_and_paired_is_its_diagonal():
    rng = np.random.default_rng(1)
    lo = rng.uniform(0, 100, (7, 2))
    a = np.concatenate([lo, lo + rng.uniform(1, 50, (7, 2))], axis=1)
    lo = rng.uniform(0, 100, (7, 2))
    b = np.concatenate([lo, lo + rng.uniform(1, 50, (7, 2))], axis=1)
    assert box_iou(a, b[:5]).shape == (7, 5)
    paired = paired_box_metrics(a, b)
    for key, f in (("iou", box_iou), ("giou", generalized_box_iou), ("diou", distance_box_iou),
                   ("ciou", complete_box_iou)):
        np.testing.assert_allclose(paired[key], np.diag(f(a, b)), rtol=1e-12)
    assert np.all(paired["giou"] <= paired["iou"]) and np.all(paired["ciou"] <= paired["diou"])


def test_official_ciou_is_diou():
    r = realvlg_r1_box_metrics([WIDE, A, D], [SQUARE, B, C])
    np.testing.assert_allclose(r["ciou"], paired_box_metrics([WIDE, A, D], [SQUARE, B, C])["diou"])
    assert r["ciou"][0] > complete_box_iou([WIDE], [SQUARE])[0, 0]   # the aspect penalty is missing


def test_official_swapped_corners_span_for_giou_but_not_for_ciou():
    r = realvlg_r1_box_metrics([[2, 2, 0, 0]], [A])
    assert r["giou"][0] == pytest.approx(1.0)    # shapely box() spans the same square
    assert r["ciou"][0] == pytest.approx(0.0)    # raw corners: no intersection, same centre
