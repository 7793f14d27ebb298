"""Mask metrics against PySODMetrics (random and real masks) and the official RealVLG-R1 variants."""

import warnings

import numpy as np
import pytest
from PIL import Image

from realvlg.errors import InvalidInputError
from realvlg.metrics.masks import f_measure, mask_scores, realvlg_r1_mask_scores, s_measure

sod = pytest.importorskip("py_sod_metrics", reason="pysodmetrics is a test reference (scripts/setup.sh)")


def reference(pred, gt):
    """PySODMetrics S_α and adaptive F_β of a uint8/bool prediction and a bool ground truth."""
    p = pred.astype(np.uint8) * 255 if pred.dtype == bool else pred
    s, f = sod.Smeasure(), sod.Fmeasure()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.step(p, gt.astype(np.uint8) * 255)
        f.step(p, gt.astype(np.uint8) * 255)
    return float(s.get_results()["sm"]), float(f.get_results()["fm"]["adp"])


def split_on_border(gt):
    """PySODMetrics' block split lands on the last row/column: it yields NaN there (see masks)."""
    h, w = gt.shape
    if not gt.any():
        return False
    cy, cx = np.argwhere(gt).mean(axis=0).round()
    return int(cy) + 1 >= h or int(cx) + 1 >= w


def single_pixel_statistics(gt):
    """Cases where PySODMetrics 1.4 takes a ddof = 1 statistic of ONE pixel (NaN); 1.6 — which
    realvlg follows — uses std 0 and N − 1 + eps there."""
    h, w = gt.shape
    if np.count_nonzero(gt) in (1, gt.size - 1):
        return True
    if not gt.any():
        return False
    cy, cx = (int(v) + 1 for v in np.argwhere(gt).mean(axis=0).round())
    return 1 in (cy * cx, cy * (w - cx), (h - cy) * cx, (h - cy) * (w - cx))


def assert_matches_reference(pred, gt):
    s_ref, f_ref = reference(pred, gt)
    fast = mask_scores(pred, gt)
    assert fast["s_alpha"] == pytest.approx(s_ref, abs=1e-12)
    assert fast["f_beta"] == pytest.approx(f_ref, abs=1e-12)
    assert s_measure(pred, gt) == pytest.approx(s_ref, abs=1e-12)
    assert f_measure(pred, gt) == pytest.approx(f_ref, abs=1e-12)


def random_case(rng):
    h, w = rng.integers(4, 80, 2)
    if rng.random() < 0.5:
        gt = rng.random((h, w)) < rng.random()
    else:
        gt = np.zeros((h, w), bool)
        y, x = rng.integers(0, h), rng.integers(0, w)
        gt[y:y + rng.integers(1, h), x:x + rng.integers(1, w)] = True
    kind = rng.integers(4)
    if kind == 0:
        pred = rng.random((h, w)) < rng.random()
    elif kind == 1:
        pred = (rng.random((h, w)) * 256).astype(np.uint8)    # a saliency map (dense path)
    elif kind == 2:
        pred = gt.copy()
        pred[rng.integers(0, h):, :rng.integers(0, w)] ^= True
    else:
        pred = np.zeros((h, w), bool) if rng.random() < 0.5 else np.ones((h, w), bool)
    return pred, gt


def test_random_masks_match_pysodmetrics():
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 300:
        pred, gt = random_case(rng)
        if split_on_border(gt) or single_pixel_statistics(gt):
            continue
        assert_matches_reference(pred, gt)
        checked += 1


def test_empty_and_full_ground_truth_match_pysodmetrics():
    gt_empty, gt_full = np.zeros((20, 30), bool), np.ones((20, 30), bool)
    pred = np.zeros((20, 30), bool)
    pred[3:9, 4:20] = True
    for gt in (gt_empty, gt_full):
        for p in (pred, np.zeros_like(pred), np.ones_like(pred)):
            assert_matches_reference(p, gt)


def test_empty_prediction_takes_the_whole_image_at_the_adaptive_threshold():
    gt = np.zeros((10, 10), bool)
    gt[:5] = True
    # t = min(2·0, 1) = 0: every pixel passes, precision = |G| / N = 0.5, recall 1
    assert mask_scores(np.zeros_like(gt), gt)["f_beta"] == pytest.approx(1.3 * 0.5 / (0.3 * 0.5 + 1))
    assert mask_scores(np.zeros_like(gt), gt)["f1"] == 0.0


def test_split_on_the_last_column_is_finite_where_pysodmetrics_is_not():
    gt = np.zeros((10, 10), bool)
    gt[4:6, 9] = True                    # centroid column 9 → split after the last column
    pred = gt.copy()
    assert split_on_border(gt)
    s_ref, _ = reference(pred, gt)       # PySODMetrics: NaN region score (0 after max(0, ·) in 1.4)
    s = mask_scores(pred, gt)["s_alpha"]
    assert np.isfinite(s) and s == pytest.approx(s_measure(pred, gt)) and s > 0.9
    assert not s_ref > 0.9


def test_f1_iou_by_hand():
    gt = np.zeros((8, 8), bool)
    gt[:4, :4] = True                    # 16 px
    pred = np.zeros((8, 8), bool)
    pred[:4, 2:6] = True                 # 16 px, 8 shared
    r = mask_scores(pred, gt)
    assert r["iou"] == pytest.approx(8 / 24) and r["f1"] == pytest.approx(16 / 32)
    both_empty = mask_scores(np.zeros((4, 4), bool), np.zeros((4, 4), bool))
    assert both_empty["iou"] == both_empty["f1"] == 1.0


def test_official_variants_by_hand():
    gt = np.zeros((4, 4), bool)
    gt[:2, :2] = True
    r1 = realvlg_r1_mask_scores(gt, gt)  # a PERFECT prediction
    # S_o = .5·4/16 + .5·12/16 = .5; quadrants: 1, 0, 0, 0 (empty ones score 0) → S_r = .25
    assert r1["s_alpha"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.25, abs=1e-6)
    assert r1["f_beta"] == pytest.approx(1.0, abs=1e-6)
    std = mask_scores(gt, gt)
    assert std["s_alpha"] == pytest.approx(1.0) and std["f_beta"] == pytest.approx(1.0)


def test_official_f_is_f1_not_f_beta():
    gt = np.zeros((10, 10), bool)
    gt[:, :5] = True
    pred = np.zeros((10, 10), bool)
    pred[:, :8] = True                   # precision 5/8, recall 1
    p, r = 50 / (80 + 1e-7), 50 / (50 + 1e-7)
    assert realvlg_r1_mask_scores(pred, gt)["f_beta"] == pytest.approx(2 * p * r / (p + r + 1e-7))
    assert mask_scores(pred, gt)["f_beta"] == pytest.approx(1.3 * 0.625 / (0.3 * 0.625 + 1))


def test_official_s_matches_its_dense_definition_on_random_masks():
    rng = np.random.default_rng(3)
    for _ in range(50):
        h, w = rng.integers(3, 50, 2)
        pred, gt = rng.random((h, w)) < 0.3, rng.random((h, w)) < 0.2
        p, g = pred.astype(np.float64), gt.astype(np.float64)
        so = 0.5 * (p * g).mean() + 0.5 * ((1 - p) * (1 - g)).mean()
        hm, wm = h // 2, w // 2
        sr = np.mean([2 * p[a].mean() * g[a].mean() / (p[a].mean() ** 2 + g[a].mean() ** 2 + 1e-7)
                      for a in ((slice(0, hm), slice(0, wm)), (slice(0, hm), slice(wm, w)),
                                (slice(hm, h), slice(0, wm)), (slice(hm, h), slice(wm, w)))])
        assert realvlg_r1_mask_scores(pred, gt)["s_alpha"] == pytest.approx(0.5 * so + 0.5 * sr, abs=1e-9)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(InvalidInputError):
        mask_scores(np.zeros((4, 5), bool), np.zeros((5, 4), bool))


@pytest.mark.realdata
def test_real_masks_match_pysodmetrics(realdata):
    g = realdata / "graspnet_example"
    depth = np.asarray(Image.open(g / "depth.png")).astype(np.float64)
    workspace = np.asarray(Image.open(g / "workspace_mask.png").convert("L")) > 0
    valid = depth > 0
    near = valid & (depth < np.median(depth[valid]))
    nearer = valid & (depth < np.percentile(depth[valid], 30))
    pairs = [(workspace, near), (nearer, near), (near, workspace), (workspace & nearer, workspace), (valid, near)]
    for stem in ("pcd0100", "pcd0102", "pcd0104"):
        gray = np.asarray(Image.open(realdata / "cornell" / f"{stem}r.png").convert("L"))
        dist = np.asarray(Image.open(realdata / "cornell" / f"{stem}d.tiff"), dtype=np.float64)
        dark = gray < 120
        close = dist < np.percentile(dist, 20)
        pairs += [(dark, close), (close, dark), (gray, dark)]      # gray: a uint8 "saliency" map
    for pred, gt in pairs:
        assert not split_on_border(gt)
        assert_matches_reference(pred, gt)
