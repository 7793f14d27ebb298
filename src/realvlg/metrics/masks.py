"""Mask metrics: S-measure, adaptive F-measure, F1 and IoU, and the official RealVLG-R1 variants.

Inputs: ``pred`` is a bool mask or a float map in [0, 1] (HxW); ``gt`` a bool mask of the same
shape. Like PySODMetrics, a non-constant float ``pred`` is min–max normalised first (PySODMetrics
does ``pred / 255`` then ``mapminmax``; pass a uint8 map through :func:`normalise_prediction`).

Standard definitions (P prediction, G ground truth, N = H·W; TP = |P∩G|, FP, FN as usual):

* **S-measure** S_α = α·S_o + (1 − α)·S_r, α = 0.5 (Fan et al., ICCV 2017), exactly as
  PySODMetrics ``Smeasure`` 1.6: S = 1 − mean(P) when G is empty, mean(P) when G is full;
  S_o = μ·O(P on G) + (1 − μ)·O(1 − P off G) with O(x) = 2·x̄ / (x̄² + 1 + σ_x + eps) (σ with
  ddof = 1; 0 for a single pixel), μ = |G|/N; S_r splits the image at the rounded centroid of G
  (+1, as the MATLAB code) into four blocks weighted by area and scores each with
  SSIM = 4·x̄·ȳ·σ_xy / ((x̄² + ȳ²)(σ_x² + σ_y²) + eps) (1 when numerator and denominator are 0,
  0 when only the numerator is); the result is clipped at 0. eps = ``np.spacing(1)``.
  (One deviation: a zero-area block, which PySODMetrics turns into NaN, contributes 0 — its
  weight is 0.)
* **F-measure** F_β with β² = 0.3 at the adaptive threshold t = min(2·mean(P), 1):
  B = P ≥ t, F = (1 + β²)·prec·rec / (β²·prec + rec), 0 when B∩G is empty (PySODMetrics
  ``Fmeasure`` "adp"). Note t = 0 for an empty prediction, so B is the whole image.
* **F1** = 2·TP / (2·TP + FP + FN), **IoU** = TP / (TP + FP + FN) of P ≥ 0.5; both 1 when P and
  G are both empty.

The official RealVLG-R1 code (``evaluation/eval_sam.py`` of lif314/RealVLG-R1, read for facts)
reports instead, on binary masks:

* "F-measure": F1 with eps — prec = TP/(TP+FP+1e-7), rec = TP/(TP+FN+1e-7),
  F = 2·prec·rec/(prec+rec+1e-7) (β = 1, no adaptive threshold);
* "S-measure": a simplified quadrant variant — S_o = α·mean(P·G) + (1−α)·mean((1−P)(1−G)),
  S_r = mean over the four image quadrants (split at H//2, W//2) of
  2·p̄·ḡ / (p̄² + ḡ² + 1e-7), S = α·S_o + (1−α)·S_r. Quadrants where both masks are empty
  score 0, which caps the value near 0.5 for small objects (the ≈ 45 % of the paper's Table 4).

Speed: for binary predictions every number above is a function of a few pixel counts, and all of
them vanish outside the bounding box of P ∪ G, so :func:`mask_scores` only touches that crop.
"""

from __future__ import annotations

import numpy as np

from realvlg.errors import InvalidInputError

SOD_EPS = float(np.spacing(1))
OFFICIAL_EPS = 1e-7


def normalise_prediction(pred) -> np.ndarray:
    """A prediction map as PySODMetrics prepares it: bool → {0, 1}; uint8 → /255; then a
    non-constant map is min–max normalised to [0, 1]. Returns float64 HxW."""
    p = np.asarray(pred)
    if p.dtype == bool:
        return p.astype(np.float64)
    p = p / 255.0 if p.dtype == np.uint8 else p.astype(np.float64)
    lo, hi = p.min(), p.max()
    return (p - lo) / (hi - lo) if hi != lo else p


def _check(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.ndim != 2 or pred.shape != gt.shape:
        raise InvalidInputError(f"prediction {pred.shape} and ground-truth {gt.shape} masks must be the same HxW")


# --------------------------------------------------------------------------------------------
# dense definitions (any float prediction)

def s_measure(pred, gt, alpha: float = 0.5) -> float:
    """S-measure of a prediction map against a bool mask (PySODMetrics ``Smeasure``)."""
    gt = np.asarray(gt, dtype=bool)
    pred = normalise_prediction(pred)
    _check(pred, gt)
    mu = gt.mean()
    if mu == 0:
        return float(1 - pred.mean())
    if mu == 1:
        return float(pred.mean())

    def s_object(x: np.ndarray) -> float:
        std = np.std(x, ddof=1) if x.size > 1 else 0.0
        m = x.mean()
        return 2 * m / (m * m + 1 + std + SOD_EPS)

    object_score = mu * s_object(pred[gt]) + (1 - mu) * s_object(1 - pred[~gt])
    h, w = gt.shape
    cy, cx = _split_point(gt)
    region = 0.0
    for rows, cols in (((0, cy), (0, cx)), ((0, cy), (cx, w)), ((cy, h), (0, cx)), ((cy, h), (cx, w))):
        n = (rows[1] - rows[0]) * (cols[1] - cols[0])
        if n == 0:
            continue
        p = pred[rows[0]:rows[1], cols[0]:cols[1]]
        g = gt[rows[0]:rows[1], cols[0]:cols[1]].astype(np.float64)
        x, y = p.mean(), g.mean()
        sx = np.sum((p - x) ** 2) / (n - 1 + SOD_EPS)
        sy = np.sum((g - y) ** 2) / (n - 1 + SOD_EPS)
        sxy = np.sum((p - x) * (g - y)) / (n - 1 + SOD_EPS)
        region += n / (h * w) * _ssim(x, y, sx, sy, sxy)
    return float(max(0.0, alpha * object_score + (1 - alpha) * region))


def f_measure(pred, gt, beta2: float = 0.3) -> float:
    """F-measure at the adaptive threshold (PySODMetrics ``Fmeasure`` "adp"); ``beta2`` = β²."""
    gt = np.asarray(gt, dtype=bool)
    pred = normalise_prediction(pred)
    _check(pred, gt)
    binary = pred >= min(2 * pred.mean(), 1)
    tp = np.count_nonzero(binary & gt)
    if tp == 0:
        return 0.0
    prec, rec = tp / np.count_nonzero(binary), tp / np.count_nonzero(gt)
    return float((1 + beta2) * prec * rec / (beta2 * prec + rec))


def _split_point(gt: np.ndarray) -> tuple[int, int]:
    """PySODMetrics' block split: the centroid of G rounded half-to-even, plus one (MATLAB)."""
    if not gt.any():
        h, w = gt.shape
        return int(np.round(h / 2)) + 1, int(np.round(w / 2)) + 1
    rows, cols = gt.sum(axis=1), gt.sum(axis=0)
    n = rows.sum()
    cy = np.round(float(rows @ np.arange(rows.size)) / n)
    cx = np.round(float(cols @ np.arange(cols.size)) / n)
    return int(cy) + 1, int(cx) + 1


def _ssim(x, y, sx, sy, sxy):
    """The S-measure block similarity (array-friendly)."""
    a = 4 * x * y * sxy
    b = (x * x + y * y) * (sx + sy)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a != 0, a / (b + SOD_EPS), np.where(b == 0, 1.0, 0.0))


# --------------------------------------------------------------------------------------------
# binary predictions: counts on the crop of P ∪ G

def mask_scores(pred, gt, alpha: float = 0.5, beta2: float = 0.3) -> dict[str, float]:
    """Standard ``f_beta``, ``s_alpha``, ``f1``, ``iou`` of a prediction against a bool mask.

    Binary predictions (bool, or a map whose values are only its min and max) take the count-based
    path on the crop of P ∪ G; other maps fall back to the dense :func:`s_measure` /
    :func:`f_measure` and threshold at 0.5 for F1 and IoU.
    """
    gt = np.asarray(gt, dtype=bool)
    p = np.asarray(pred)
    if p.dtype != bool:
        p = normalise_prediction(p)
        if np.count_nonzero((p != 0) & (p != 1)):
            _check(p, gt)
            return {"f_beta": f_measure(p, gt, beta2), "s_alpha": s_measure(p, gt, alpha),
                    **_f1_iou(*_counts(p >= 0.5, gt)[:3])}
        p = p == 1
    _check(p, gt)
    return _binary_scores(p, gt, alpha, beta2)


def _counts(p: np.ndarray, g: np.ndarray) -> tuple[int, int, int]:
    tp = np.count_nonzero(p & g)
    return tp, np.count_nonzero(p) - tp, np.count_nonzero(g) - tp


def _f1_iou(tp: int, fp: int, fn: int) -> dict[str, float]:
    if tp + fp + fn == 0:
        return {"f1": 1.0, "iou": 1.0}
    return {"f1": 2 * tp / (2 * tp + fp + fn), "iou": tp / (tp + fp + fn)}


def _crop(p: np.ndarray, g: np.ndarray) -> tuple[int, int, int, int] | None:
    """Row and column bounds [r0, r1) × [c0, c1) of P ∪ G, or None when both are empty."""
    rows = np.flatnonzero(p.any(axis=1) | g.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(p[rows[0]:rows[-1] + 1].any(axis=0) | g[rows[0]:rows[-1] + 1].any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _binary_scores(p: np.ndarray, g: np.ndarray, alpha: float, beta2: float) -> dict[str, float]:
    h, w = g.shape
    n_img = h * w
    box = _crop(p, g)
    if box is None:  # both empty: G empty → S = 1 − mean(P) = 1; F: B = whole image, B∩G = ∅ → 0
        return {"f_beta": 0.0, "s_alpha": 1.0, "f1": 1.0, "iou": 1.0}
    r0, r1, c0, c1 = box
    pc, gc = p[r0:r1, c0:c1], g[r0:r1, c0:c1]
    tp, fp, fn = _counts(pc, gc)
    n_p, n_g = tp + fp, tp + fn
    scores = _f1_iou(tp, fp, fn)

    # adaptive F-measure: t = min(2·mean, 1) keeps B = P unless P is empty (then B = image)
    b_count, b_tp = (n_p, tp) if n_p else (n_img, n_g)
    if b_tp == 0:
        scores["f_beta"] = 0.0
    else:
        prec, rec = b_tp / b_count, b_tp / n_g
        scores["f_beta"] = (1 + beta2) * prec * rec / (beta2 * prec + rec)

    # S-measure
    mu = n_g / n_img
    if n_g == 0:
        scores["s_alpha"] = 1 - n_p / n_img
        return scores
    if n_g == n_img:
        scores["s_alpha"] = n_p / n_img
        return scores
    tn = n_img - tp - fp - fn
    object_score = mu * _s_object_binary(tp, n_g) + (1 - mu) * _s_object_binary(tn, n_img - n_g)
    rows, cols = gc.sum(axis=1), gc.sum(axis=0)
    cy = int(np.round(float(rows @ np.arange(r0, r1)) / n_g)) + 1
    cx = int(np.round(float(cols @ np.arange(c0, c1)) / n_g)) + 1
    ys, xs = min(max(cy - r0, 0), r1 - r0), min(max(cx - c0, 0), c1 - c0)  # split inside the crop
    pg = pc & gc
    blocks = [(slice(None, ys), slice(None, xs)), (slice(None, ys), slice(xs, None)),
              (slice(ys, None), slice(None, xs)), (slice(ys, None), slice(xs, None))]
    cnt = np.array([[np.count_nonzero(a[s]) for s in blocks] for a in (pc, gc, pg)], dtype=np.float64)
    n = np.array([cy * cx, cy * (w - cx), (h - cy) * cx, (h - cy) * (w - cx)], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        x, y = cnt[0] / n, cnt[1] / n
        sx = (cnt[0] - cnt[0] * x) / (n - 1 + SOD_EPS)  # Σ(p − x̄)² = Σp − n·x̄² for p ∈ {0, 1}
        sy = (cnt[1] - cnt[1] * y) / (n - 1 + SOD_EPS)
        sxy = (cnt[2] - cnt[0] * y) / (n - 1 + SOD_EPS)
        region = np.where(n > 0, n / n_img * _ssim(x, y, sx, sy, sxy), 0.0).sum()
    scores["s_alpha"] = float(max(0.0, alpha * object_score + (1 - alpha) * region))
    return scores


def _s_object_binary(ones: int, size: int) -> float:
    """O(x) of a {0, 1} vector of ``size`` elements with ``ones`` ones (std with ddof = 1)."""
    m = ones / size
    std = np.sqrt(size * m * (1 - m) / (size - 1)) if size > 1 else 0.0
    return 2 * m / (m * m + 1 + std + SOD_EPS)


# --------------------------------------------------------------------------------------------
# the official RealVLG-R1 variants

def realvlg_r1_mask_scores(pred, gt, alpha: float = 0.5) -> dict[str, float]:
    """``f_beta`` (= its F1 with eps), ``s_alpha`` (its quadrant S), ``f1`` and ``iou`` (standard)
    as the official RealVLG-R1 evaluation computes them on binary masks; ``pred`` is binarised at
    0.5 after :func:`normalise_prediction`. See the module docstring for the formulas."""
    gt = np.asarray(gt, dtype=bool)
    p = np.asarray(pred)
    p = p if p.dtype == bool else normalise_prediction(p) >= 0.5
    _check(p, gt)
    h, w = gt.shape
    n_img = h * w
    hm, wm = h // 2, w // 2
    box = _crop(p, gt)
    if box is None:
        tp = fp = fn = 0
        quad = np.zeros((3, 4))
    else:
        r0, r1, c0, c1 = box
        pc, gc = p[r0:r1, c0:c1], gt[r0:r1, c0:c1]
        tp, fp, fn = _counts(pc, gc)
        ys, xs = min(max(hm - r0, 0), r1 - r0), min(max(wm - c0, 0), c1 - c0)
        blocks = [(slice(None, ys), slice(None, xs)), (slice(None, ys), slice(xs, None)),
                  (slice(ys, None), slice(None, xs)), (slice(ys, None), slice(xs, None))]
        quad = np.array([[np.count_nonzero(a[s]) for s in blocks] for a in (pc, gc)], dtype=np.float64)
    n = np.array([hm * wm, hm * (w - wm), (h - hm) * wm, (h - hm) * (w - wm)], dtype=np.float64)
    tn = n_img - tp - fp - fn
    so = alpha * tp / n_img + (1 - alpha) * tn / n_img
    with np.errstate(divide="ignore", invalid="ignore"):
        u, g = quad[0] / n, quad[1] / n
        sr = np.mean(2 * u * g / (u * u + g * g + OFFICIAL_EPS))
    prec = tp / (tp + fp + OFFICIAL_EPS)
    rec = tp / (tp + fn + OFFICIAL_EPS)
    return {"f_beta": float(2 * prec * rec / (prec + rec + OFFICIAL_EPS)),
            "s_alpha": float(alpha * so + (1 - alpha) * sr), **_f1_iou(tp, fp, fn)}
