"""Rectangle-grasp metrics: best IoU against a set of ground truths and the Cornell criterion.

Conventions (the official RealVLG-R1 code's, see :mod:`realvlg.geometry.grasps`): a predicted
grasp ``(x, y, θ, w)`` has θ in DEGREES = atan2(dy, dx) of the opening direction in image axes
(x right, y down) and w the opening in pixels; it becomes a rectangle with a jaw (finger) size of
40 px unless configured. A ground-truth polygon ``[x0, y0, …, x3, y3]`` opens along
corner0→corner1; its opening width is the distance of the midpoints of edges 0–3 and 1–2. A
contact pair ``(x1, y1, x2, y2)`` becomes the rectangle whose opening segment is the pair.

All functions are batched over a whole benchmark: N predictions, and the ground truths of every
sample concatenated into K rectangles with ``owner[k]`` = the index of the prediction they belong
to. Pairs whose axis-aligned bounds do not overlap have IoU 0 and are never intersected; convex
pairs (every rectangle) go through the vectorised :func:`realvlg.geometry.grasps.convex_quad_iou`,
anything else through :func:`realvlg.geometry.grasps.rect_iou` (shapely/GEOS) when it is a valid
polygon, and is 0 when it is not (self-intersecting or zero-area, as the official code does).

Standard rule (Jiang et al. 2011, the "Cornell" rectangle metric):

* a prediction is **correct** when SOME ground truth has IoU > 0.25 AND an angle difference
  < 30°, angles compared modulo 180° (θ and θ + 180° are the same grasp);
* ``best_iou`` = the largest IoU against the sample's ground truths (0 when there are none);
  mIoU is its mean over valid predictions.

:func:`match_grasps_realvlg_r1` reproduces the official evaluation code instead (see its
docstring); ``iou_mode="raster"`` gives GR-ConvNet's pixel-count IoU with its angle gate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from realvlg.geometry.grasps import angle_diff_pi, convex_quad_iou, is_convex_quad, rasterised_rect_iou, rect_iou

IOU_THRESHOLD = 0.25
ANGLE_THRESHOLD_DEG = 30.0
TIE_TOLERANCE = 1e-9  # IoUs this close are the same IoU when picking the best ground truth


@dataclass(frozen=True)
class GraspMatch:
    """Per-prediction outcome: ``best_iou`` (N,), ``correct`` (N,) bool, and ``best_angle_deg``
    (N,), the angle difference to the ground truth of best IoU (NaN where there is none)."""

    best_iou: np.ndarray
    correct: np.ndarray
    best_angle_deg: np.ndarray


def pair_iou(pred_corners, gt_corners, owner, iou_mode: str = "exact") -> np.ndarray:
    """IoU of every ground truth ``k`` with the prediction ``owner[k]``: shape (K,).

    ``pred_corners`` (N, 4, 2), ``gt_corners`` (K, 4, 2) [px]. Invalid (self-intersecting or
    zero-area) polygons on either side give 0. ``iou_mode``: ``"exact"`` polygon areas
    (numpy for convex pairs, shapely otherwise) or ``"raster"`` pixel counts
    (:func:`realvlg.geometry.grasps.rasterised_rect_iou`, GR-ConvNet's rule).
    """
    pred_corners = np.asarray(pred_corners, dtype=float).reshape(-1, 4, 2)
    gt_corners = np.asarray(gt_corners, dtype=float).reshape(-1, 4, 2)
    owner = np.asarray(owner, dtype=np.intp)
    a = pred_corners[owner]
    lo_a, hi_a = a.min(axis=1), a.max(axis=1)
    lo_b, hi_b = gt_corners.min(axis=1), gt_corners.max(axis=1)
    overlap = np.all((lo_a < hi_b) & (lo_b < hi_a), axis=1)
    overlap &= np.all(np.isfinite(a), axis=(1, 2)) & np.all(np.isfinite(gt_corners), axis=(1, 2))
    out = np.zeros(owner.shape[0])
    idx = np.flatnonzero(overlap)
    if idx.size == 0:
        return out
    if iou_mode == "raster":
        valid = shapely.is_valid(shapely.polygons(a[idx])) & shapely.is_valid(shapely.polygons(gt_corners[idx]))
        out[idx[valid]] = rasterised_rect_iou(a[idx[valid]], gt_corners[idx[valid]])
        return out
    if iou_mode != "exact":
        raise ValueError(f"iou_mode must be 'exact' or 'raster', got {iou_mode!r}")
    convex = is_convex_quad(pred_corners)[owner[idx]] & is_convex_quad(gt_corners[idx])
    fast, slow = idx[convex], idx[~convex]  # strictly convex quads are valid polygons
    out[fast] = convex_quad_iou(a[fast], gt_corners[fast])
    if slow.size:
        valid = shapely.is_valid(shapely.polygons(a[slow])) & shapely.is_valid(shapely.polygons(gt_corners[slow]))
        out[slow[valid]] = rect_iou(a[slow[valid]], gt_corners[slow[valid]])
    return out


def _group_max(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    np.maximum.at(out, owner, values)
    return out


def match_grasps(pred_corners, pred_theta, gt_corners, gt_theta, owner, *,
                 iou_threshold: float = IOU_THRESHOLD, angle_threshold_deg: float = ANGLE_THRESHOLD_DEG,
                 iou_mode: str = "exact") -> GraspMatch:
    """The standard Cornell criterion for N predictions against their ground truths.

    ``pred_theta`` (N,) and ``gt_theta`` (K,) are opening directions in RADIANS, compared
    modulo π. With ``iou_mode="raster"`` the rule is GR-ConvNet's: IoU counted as 0 for an angle
    difference above the threshold, correct when the best such IoU exceeds ``iou_threshold``;
    ``best_iou`` is then the best raster IoU regardless of angle.
    """
    pred_theta = np.asarray(pred_theta, dtype=float).reshape(-1)
    owner = np.asarray(owner, dtype=np.intp)
    n = pred_theta.shape[0]
    iou = pair_iou(pred_corners, gt_corners, owner, iou_mode)
    diff = np.degrees(angle_diff_pi(pred_theta[owner], gt_theta))
    close = diff <= angle_threshold_deg if iou_mode == "raster" else diff < angle_threshold_deg
    best = _group_max(iou, owner, n)
    hit = (iou > iou_threshold) & close
    correct = np.zeros(n, dtype=bool)
    correct[owner[hit]] = True
    first = _first_argmax(iou, owner, n)
    best_angle = np.full(n, np.nan)
    has = first >= 0
    best_angle[has] = diff[first[has]]
    return GraspMatch(best, correct, best_angle)


def _first_argmax(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Per owner, the first index k (in input order) of a positive value within
    :data:`TIE_TOLERANCE` of that owner's largest; -1 where every value is 0. This is the
    official code's strict ``iou > best_iou`` scan from 0 with IoUs that agree to rounding
    counted as equal: shapely gives one rectangle listed again with its corners in another order
    bit-identical IoUs, so that scan keeps the first copy, while the numpy IoU differs in the last
    bits with the corner order."""
    best = _group_max(values, owner, n)
    k = np.flatnonzero((values >= best[owner] - TIE_TOLERANCE) & (values > 0))
    first = np.full(n, -1, dtype=np.intp)
    owners, pos = np.unique(owner[k], return_index=True)  # owner[k] in input order → first hit
    first[owners] = k[pos]
    return first


def realvlg_r1_angle_diff_deg(pred_deg, gt_deg) -> np.ndarray:
    """The official code's ``angular_diff``: both values are read as RADIANS when both have
    magnitude ≤ π (although they are degrees), else as degrees; the difference is
    arccos(cos Δ) folded into [0°, 90°]."""
    p = np.asarray(pred_deg, dtype=float)
    g = np.asarray(gt_deg, dtype=float)
    as_rad = (np.abs(p) <= math.pi) & (np.abs(g) <= math.pi)
    p = np.where(as_rad, p, np.radians(p))
    g = np.where(as_rad, g, np.radians(g))
    d = np.degrees(np.arccos(np.clip(np.cos(p) * np.cos(g) + np.sin(p) * np.sin(g), -1.0, 1.0)))
    return np.where(d > 90, 180 - d, d)


def match_grasps_realvlg_r1(pred_corners, pred_theta_deg, gt_corners, gt_theta_deg, owner) -> GraspMatch:
    """The official RealVLG-R1 rule (``evaluation/eval_grasp.py`` / ``eval_contact.py`` of
    lif314/RealVLG-R1, read for facts):

    * ``best_iou`` = the IoU of the best ground truth: the first in file order whose IoU is the
      largest, IoUs within :data:`TIE_TOLERANCE` counting as equal (:func:`_first_argmax`);
    * correct only when THAT ground truth also has an angle difference < 30° (another ground
      truth with IoU > 0.25 and a close angle does not count) and the IoU is > 0.25;
    * angles are compared with :func:`realvlg_r1_angle_diff_deg` (degrees of magnitude ≤ π are
      read as radians); ground-truth θ is the corner0→corner1 edge direction in degrees;
    * when every IoU is 0 there is no best ground truth and the prediction is wrong.
    """
    pred_theta_deg = np.asarray(pred_theta_deg, dtype=float).reshape(-1)
    owner = np.asarray(owner, dtype=np.intp)
    n = pred_theta_deg.shape[0]
    iou = pair_iou(pred_corners, gt_corners, owner)
    first = _first_argmax(iou, owner, n)
    best = np.zeros(n)
    angle = np.full(n, np.nan)
    has = first >= 0
    best[has] = iou[first[has]]
    angle[has] = realvlg_r1_angle_diff_deg(pred_theta_deg[has], np.asarray(gt_theta_deg, dtype=float)[first[has]])
    correct = has & (best > IOU_THRESHOLD) & (angle < ANGLE_THRESHOLD_DEG)
    return GraspMatch(best, correct, angle)
