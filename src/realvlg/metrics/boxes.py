"""Axis-aligned box metrics with torchvision.ops' definitions, in numpy.

Every function takes boxes in ``(x1, y1, x2, y2)`` format with ``0 <= x1 < x2`` and
``0 <= y1 < y2`` (pixels, x right, y down — the layout of :class:`realvlg.geometry.boxes.BoundingBox`),
as ``torchvision.ops.box_iou`` and friends do. The ``*_box_*`` functions return the N×M matrix for
every pair of ``boxes1`` (N, 4) and ``boxes2`` (M, 4); :func:`paired_box_metrics` scores N
predictions against N ground truths element-wise (the evaluation case) with the same formulas.

Definitions (A, B boxes; C the smallest box enclosing both; ρ the distance of the centres;
c the diagonal of C; w, h widths and heights; eps = 1e-7 where torchvision has one):

* IoU  = |A∩B| / |A∪B|
* GIoU = IoU − (|C| − |A∪B|) / |C|                              (``generalized_box_iou``, no eps)
* DIoU = IoU − ρ² / (c² + eps)                                   (``distance_box_iou``)
* CIoU = DIoU − α·v, v = 4/π² (atan(w_A/h_A) − atan(w_B/h_B))², α = v / (1 − IoU + v + eps)
                                                                  (``complete_box_iou``)

torchvision does not import on these machines; these are re-implementations of its formulas, tested
on hand-computed cases. Degenerate inputs behave as in torchvision (0/0 gives NaN); the evaluation
marks zero-area predictions invalid before it gets here.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def _terms(a: np.ndarray, b: np.ndarray, eps: float) -> dict[str, np.ndarray]:
    """IoU, GIoU, DIoU, CIoU of broadcast box arrays a (..., 4) and b (..., 4)."""
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    lt = np.maximum(a[..., :2], b[..., :2])
    rb = np.minimum(a[..., 2:], b[..., 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
        enclose = np.clip(np.maximum(a[..., 2:], b[..., 2:]) - np.minimum(a[..., :2], b[..., :2]), 0, None)
        area_c = enclose[..., 0] * enclose[..., 1]
        giou = iou - (area_c - union) / area_c
        diag2 = enclose[..., 0] ** 2 + enclose[..., 1] ** 2 + eps
        centre2 = (((a[..., 0] + a[..., 2]) - (b[..., 0] + b[..., 2])) / 2) ** 2 \
            + (((a[..., 1] + a[..., 3]) - (b[..., 1] + b[..., 3])) / 2) ** 2
        diou = iou - centre2 / diag2
        v = (4 / np.pi ** 2) * (np.arctan((a[..., 2] - a[..., 0]) / (a[..., 3] - a[..., 1]))
                                - np.arctan((b[..., 2] - b[..., 0]) / (b[..., 3] - b[..., 1]))) ** 2
        alpha = v / (1 - iou + v + eps)
    return {"iou": iou, "giou": giou, "diou": diou, "ciou": diou - alpha * v}


def _pairs(boxes1, boxes2) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(boxes1, dtype=float).reshape(-1, 4)
    b = np.asarray(boxes2, dtype=float).reshape(-1, 4)
    return a[:, None, :], b[None, :, :]


def box_iou(boxes1, boxes2) -> np.ndarray:
    """N×M IoU of (x1, y1, x2, y2) boxes, as ``torchvision.ops.box_iou``."""
    return _terms(*_pairs(boxes1, boxes2), EPS)["iou"]


def generalized_box_iou(boxes1, boxes2) -> np.ndarray:
    """N×M generalised IoU of (x1, y1, x2, y2) boxes, as ``torchvision.ops.generalized_box_iou``."""
    return _terms(*_pairs(boxes1, boxes2), EPS)["giou"]


def distance_box_iou(boxes1, boxes2, eps: float = EPS) -> np.ndarray:
    """N×M distance IoU of (x1, y1, x2, y2) boxes, as ``torchvision.ops.distance_box_iou``."""
    return _terms(*_pairs(boxes1, boxes2), eps)["diou"]


def complete_box_iou(boxes1, boxes2, eps: float = EPS) -> np.ndarray:
    """N×M complete IoU of (x1, y1, x2, y2) boxes, as ``torchvision.ops.complete_box_iou``."""
    return _terms(*_pairs(boxes1, boxes2), eps)["ciou"]


def paired_box_metrics(pred, gt, eps: float = EPS) -> dict[str, np.ndarray]:
    """IoU, GIoU, DIoU and CIoU of ``pred[i]`` against ``gt[i]`` (both (N, 4) x1, y1, x2, y2):
    the diagonal of the N×N matrices above, computed in O(N)."""
    a = np.asarray(pred, dtype=float).reshape(-1, 4)
    b = np.asarray(gt, dtype=float).reshape(-1, 4)
    return _terms(a, b, eps)


def realvlg_r1_box_metrics(pred, gt) -> dict[str, np.ndarray]:
    """The official RealVLG-R1 evaluation's box numbers for ``pred[i]`` against ``gt[i]``
    (``evaluation/eval_bbox.py`` and ``eval_sam.py`` of lif314/RealVLG-R1, read for facts):

    * ``giou``: GIoU of the boxes spanned by the two corners (shapely ``box`` normalises swapped
      corners), no eps; IoU is 0 where the union is empty;
    * ``ciou``: what that code calls cIoU is DIoU on the corners *as given*, with eps 1e-7 in the
      diagonal only and IoU 0 where the union is not positive;
    * ``iou``: the IoU of the spanned boxes (the code prints none; given for reference).
    """
    a = np.asarray(pred, dtype=float).reshape(-1, 4)
    b = np.asarray(gt, dtype=float).reshape(-1, 4)
    # giou / iou: the spanned boxes
    sa, sb = (np.concatenate([np.minimum(x[:, :2], x[:, 2:]), np.maximum(x[:, :2], x[:, 2:])], axis=1) for x in (a, b))
    iou_spanned = _safe_iou(sa, sb)
    enclose = np.maximum(sa[:, 2:], sb[:, 2:]) - np.minimum(sa[:, :2], sb[:, :2])
    area_c = enclose[:, 0] * enclose[:, 1]
    union = _area(sa) + _area(sb) - _intersection(sa, sb)
    with np.errstate(divide="ignore", invalid="ignore"):
        giou = iou_spanned - (area_c - union) / area_c
    # "ciou": DIoU on the raw corners
    diag2 = (np.maximum(a[:, 2:], b[:, 2:]) - np.minimum(a[:, :2], b[:, :2])) ** 2
    centre2 = (((a[:, :2] + a[:, 2:]) - (b[:, :2] + b[:, 2:])) / 2) ** 2
    ciou = _safe_iou(a, b) - centre2.sum(axis=1) / (diag2.sum(axis=1) + EPS)
    return {"iou": iou_spanned, "giou": giou, "ciou": ciou}


def _area(x: np.ndarray) -> np.ndarray:
    return (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    wh = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    return wh[:, 0] * wh[:, 1]


def _safe_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """inter / union where the union is positive, else 0 (the official code's guard)."""
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
