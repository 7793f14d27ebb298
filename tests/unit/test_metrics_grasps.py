"""Rotated-rectangle IoU back ends and the grasp criteria (standard and official)."""

import math

import numpy as np
import pytest
import shapely

from realvlg.geometry.grasps import (
    ContactPair,
    RectGrasp,
    contact_corners,
    convex_quad_iou,
    is_convex_quad,
    opening_angle,
    rasterised_rect_iou,
    rect_corners,
    rect_iou,
)
from realvlg.metrics.grasps import match_grasps, match_grasps_realvlg_r1, pair_iou, realvlg_r1_angle_diff_deg


def square(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def test_batched_corners_match_the_types():
    g = RectGrasp(40.0, 30.0, 0.7, 50.0, 20.0)
    np.testing.assert_allclose(rect_corners(g.x, g.y, g.theta, g.width, g.jaw), g.corners())
    pair = ContactPair(10.0, 20.0, 60.0, 45.0)
    np.testing.assert_allclose(contact_corners([[10, 20, 60, 45]], 30)[0], pair.to_rect(30).corners())
    assert opening_angle(g.corners()) == pytest.approx(g.theta)


def test_vectorised_convex_iou_equals_shapely():
    rng = np.random.default_rng(0)
    n = 4000
    a = rect_corners(rng.normal(50, 8, n), rng.normal(50, 8, n), rng.uniform(-4, 4, n), rng.uniform(1, 60, n),
                     rng.uniform(1, 40, n))
    b = rect_corners(rng.normal(50, 8, n), rng.normal(50, 8, n), rng.uniform(-4, 4, n), rng.uniform(1, 60, n),
                     rng.uniform(1, 40, n))
    b[:100] = a[:100]                       # identical
    b[100:200] = a[100:200, ::-1]           # identical, other orientation
    b[200:300] = a[200:300] * 0.5 + 25      # scaled copies (containment for many)
    special = [(square(0, 0, 10, 10), square(10, 0, 20, 10), 0.0),       # shared edge
               (square(0, 0, 10, 10), square(5, 0, 15, 10), 1 / 3),      # collinear edges overlap
               (square(0, 0, 10, 10), square(2, 2, 5, 5), 0.09),         # contained
               (square(0, 0, 10, 10), square(0, 5, 10, 15), 1 / 3),
               (square(0, 0, 10, 10), square(20, 20, 30, 30), 0.0)]
    a = np.concatenate([a, [s[0] for s in special]])
    b = np.concatenate([b, [s[1] for s in special]])
    assert is_convex_quad(a).all() and is_convex_quad(b).all()
    fast = convex_quad_iou(a, b)
    np.testing.assert_allclose(fast, rect_iou(a, b), atol=1e-6)   # rect_iou snaps to a 1e-6 px grid
    np.testing.assert_allclose(fast[-5:], [s[2] for s in special], atol=1e-12)


def test_vectorised_convex_iou_of_a_grasp_and_its_flip_is_one():
    """θ and θ + π are the same rectangle with the corners in another order (nearly coincident
    edges: the case floating-point overlays get wrong)."""
    rng = np.random.default_rng(2)
    n = 2000
    x, y, t = rng.uniform(0, 1000, n), rng.uniform(0, 700, n), rng.uniform(-4, 4, n)
    w, j = rng.uniform(1, 100, n), rng.uniform(1, 50, n)
    np.testing.assert_allclose(convex_quad_iou(rect_corners(x, y, t, w, j), rect_corners(x, y, t + math.pi, w, j)),
                               1.0, atol=1e-12)


def test_rasterised_iou_approximates_the_exact_one():
    rng = np.random.default_rng(1)
    a, b = (rect_corners(rng.normal(100, 5, 60), rng.normal(100, 5, 60), rng.uniform(-3, 3, 60),
                         rng.uniform(40, 80, 60), 30) for _ in range(2))
    assert np.abs(rasterised_rect_iou(a, b) - rect_iou(a, b)).max() < 0.05
    assert rasterised_rect_iou(square(0, 0, 3, 3)[None], square(0, 0, 3, 3)[None])[0] == 1.0


def test_cornell_needs_some_ground_truth_with_both_conditions():
    pred = RectGrasp(50, 50, 0.0, 40, 20)
    overlap_far_angle = RectGrasp(50, 50, math.radians(60), 40, 20)   # IoU > .25, 60° off
    near_angle_low_iou = RectGrasp(75, 50, math.radians(10), 40, 20)  # 10° off, small IoU
    gts = np.stack([overlap_far_angle.corners(), near_angle_low_iou.corners()])
    owner = np.zeros(2, dtype=np.intp)
    iou = pair_iou(pred.corners()[None], gts, owner)
    assert iou[0] > 0.25 and iou[1] < 0.25
    m = match_grasps(pred.corners()[None], [pred.theta], gts, opening_angle(gts), owner)
    assert not m.correct[0] and m.best_iou[0] == pytest.approx(iou.max())
    # a third ground truth that satisfies both makes it correct, wherever it is in the list
    good = RectGrasp(52, 50, math.radians(-20), 40, 20).corners()
    for order in ((0, 1, 2), (2, 0, 1)):
        g = np.stack([gts[0], gts[1], good])[list(order)]
        assert match_grasps(pred.corners()[None], [pred.theta], g, opening_angle(g), np.zeros(3, np.intp)).correct[0]


def test_angles_compare_modulo_180_and_the_threshold_is_strict():
    pred = RectGrasp(50, 50, math.radians(178), 40, 20)
    gt = RectGrasp(50, 50, math.radians(-1), 40, 20).corners()[None]
    assert match_grasps(pred.corners()[None], [pred.theta], gt, opening_angle(gt), [0]).correct[0]   # 3° apart
    gt0 = RectGrasp(50, 50, 0.0, 40, 20).corners()[None]
    for mode in ("exact", "raster"):
        for deg, expected in ((29.9, True), (30.1, False), (-29.9, True), (150.1, True), (149.9, False)):
            p = RectGrasp(50, 50, math.radians(deg), 40, 20)
            assert match_grasps(p.corners()[None], [p.theta], gt0, [0.0], [0], iou_mode=mode).correct[0] == expected


def test_official_rule_uses_only_the_best_iou_ground_truth():
    pred = RectGrasp(50, 50, 0.0, 40, 20)
    best_far_angle = RectGrasp(50, 50, math.radians(90), 20, 40).corners()  # same polygon, opens across
    good_lower_iou = RectGrasp(55, 50, math.radians(-20), 40, 20).corners()
    gts = np.stack([best_far_angle, good_lower_iou])
    iou = pair_iou(pred.corners()[None], gts, [0, 0])
    assert iou[0] > iou[1] > 0.25
    std = match_grasps(pred.corners()[None], [pred.theta], gts, opening_angle(gts), [0, 0])
    edge_deg = np.degrees(np.arctan2(*(gts[:, 1] - gts[:, 0])[:, ::-1].T))
    r1 = match_grasps_realvlg_r1(pred.corners()[None], [0.0], gts, edge_deg, [0, 0])
    assert std.correct[0] and not r1.correct[0]
    assert r1.best_iou[0] == std.best_iou[0] and r1.best_angle_deg[0] == pytest.approx(90)


def test_official_angle_reads_small_degrees_as_radians():
    assert realvlg_r1_angle_diff_deg(2.0, 1.0) == pytest.approx(math.degrees(1.0))   # 57.3°, not 1°
    assert realvlg_r1_angle_diff_deg(2.0, 4.0) == pytest.approx(2.0)                 # 4 > π: degrees
    assert realvlg_r1_angle_diff_deg(0.0, 3.0) == pytest.approx(180 - math.degrees(3.0))
    assert realvlg_r1_angle_diff_deg(179.0, -179.0) == pytest.approx(2.0)


def test_no_overlap_means_wrong_and_zero_iou_in_both():
    pred = RectGrasp(10, 10, 0.0, 10, 5)
    gt = RectGrasp(100, 100, 0.0, 10, 5).corners()[None]
    std = match_grasps(pred.corners()[None], [0.0], gt, [0.0], [0])
    r1 = match_grasps_realvlg_r1(pred.corners()[None], [0.0], gt, [0.0], [0])
    assert std.best_iou[0] == r1.best_iou[0] == 0 and not std.correct[0] and not r1.correct[0]
    assert np.isnan(r1.best_angle_deg[0])


def test_degenerate_and_self_intersecting_polygons_score_zero():
    pred = RectGrasp(50, 50, 0.0, 40, 20).corners()
    bowtie = pred[[0, 2, 1, 3]]
    flat = rect_corners(50, 50, 0.0, 0.0, 20)
    gts = np.stack([bowtie, flat, pred])
    np.testing.assert_allclose(pair_iou(pred[None], gts, [0, 0, 0]), [0, 0, 1])


def test_many_samples_at_once_keep_their_own_ground_truths():
    rng = np.random.default_rng(5)
    preds = rect_corners(rng.uniform(0, 500, 50), rng.uniform(0, 500, 50), rng.uniform(-3, 3, 50), 40, 20)
    owner = np.repeat(np.arange(50), 3)
    gts = preds[owner] + rng.normal(0, 3, (150, 1, 2))
    m = match_grasps(preds, rng.uniform(-3, 3, 50), gts, opening_angle(gts), owner)
    for i in range(50):
        expected = rect_iou(np.repeat(preds[i:i + 1], 3, axis=0), gts[3 * i:3 * i + 3]).max()
        assert m.best_iou[i] == pytest.approx(expected)


def official_selection(pred, gt_corners, owner):
    """The official RealVLG-R1 grasp rule as a plain loop (the reference for ties): per prediction
    (x, y, θ°, w), shapely IoU against each ground truth in file order, the best kept only on a
    strictly larger IoU, then IoU > .25 and the angle to THAT ground truth < 30°. Returns
    (best IoU, correct) per prediction."""
    best_ious, correct = [], []
    for i, (x, y, theta, width) in enumerate(pred):
        p = shapely.Polygon(rect_corners(x, y, math.radians(theta), width, 40.0))
        best_iou, best_angle = 0.0, 999.0
        for g in gt_corners[owner == i]:
            q = shapely.Polygon(g)
            union = p.union(q).area
            iou = p.intersection(q).area / union if union > 0 else 0.0
            if iou > best_iou:
                edge = g[1] - g[0]
                best_iou = iou
                best_angle = float(realvlg_r1_angle_diff_deg(theta, math.degrees(math.atan2(edge[1], edge[0]))))
        best_ious.append(best_iou)
        correct.append(best_iou > 0.25 and best_angle < 30)
    return np.array(best_ious), np.array(correct)


def repeated_rectangles(n: int, seed: int):
    """``n`` predictions (x, y, θ°, w) near a ground-truth rectangle that the annotation lists 2–4
    times with its corners rotated (each rotation by one corner turns its corner0→corner1 angle by
    90°), plus one other rectangle nearby: (pred (n, 4), gt corners (K, 4, 2), owner (K,))."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(100, 1100, n), rng.uniform(100, 600, n)
    theta, width = rng.uniform(-180, 180, n), rng.uniform(20, 120, n)
    pred = np.stack([x + rng.normal(0, 8, n), y + rng.normal(0, 8, n), theta + rng.normal(0, 40, n),
                     width * rng.uniform(0.7, 1.3, n)], axis=1)
    gts, owner = [], []
    for i in range(n):
        rect = rect_corners(x[i], y[i], math.radians(theta[i]), width[i], 40.0)
        for shift in rng.permutation(4)[:rng.integers(2, 5)]:
            gts.append(np.roll(rect, -shift, axis=0))
            owner.append(i)
        gts.append(rect_corners(x[i] + rng.normal(0, 15), y[i] + rng.normal(0, 15), rng.uniform(-3, 3), width[i], 40.0))
        owner.append(i)
    return pred, np.array(gts), np.array(owner)


def test_official_rule_keeps_the_first_copy_of_a_repeated_rectangle():
    pred = RectGrasp(50, 50, 0.0, 40, 40)
    rect = pred.corners()
    across, along = np.roll(rect, -1, axis=0), rect     # the same polygon, opening at 90° and 0°
    for gts, expected in ((np.stack([across, along]), False), (np.stack([along, across]), True)):
        edge_deg = np.degrees(np.arctan2(*(gts[:, 1] - gts[:, 0])[:, ::-1].T))
        m = match_grasps_realvlg_r1(rect[None], [0.0], gts, edge_deg, [0, 0])
        assert m.best_iou[0] == pytest.approx(1.0) and m.correct[0] == expected


def test_official_rule_on_repeated_rectangles_equals_the_official_selection():
    """Copies of one rectangle get IoUs that differ in the last bits with the corner order; the
    official code (shapely) sees equal IoUs and keeps the first copy."""
    pred, gts, owner = repeated_rectangles(400, seed=20)
    corners = rect_corners(pred[:, 0], pred[:, 1], np.radians(pred[:, 2]), pred[:, 3], 40.0)
    iou = pair_iou(corners, gts, owner)
    first_copy = np.unique(owner, return_index=True)[1]
    copy_beats_first = [iou[first_copy[i] + 1:first_copy[i] + (owner == i).sum() - 1].max() > iou[first_copy[i]]
                        for i in range(len(pred))]
    assert sum(copy_beats_first) > 10        # the case arises: a later copy wins on the last bits
    edge = gts[:, 1] - gts[:, 0]
    m = match_grasps_realvlg_r1(corners, pred[:, 2], gts, np.degrees(np.arctan2(edge[:, 1], edge[:, 0])), owner)
    best_iou, correct = official_selection(pred, gts, owner)
    np.testing.assert_array_equal(m.correct, correct)
    np.testing.assert_allclose(m.best_iou, best_iou, atol=1e-12)
