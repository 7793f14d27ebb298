"""The two evaluation protocols of the RealVLG benchmark, and per-task scoring of whole arrays.

``standard`` — the definitions as written (paper §5.2 and the cited papers):

* bbox: IoU, GIoU, DIoU, CIoU with torchvision's formulas (:mod:`realvlg.metrics.boxes`);
* seg: F_β (β² = 0.3, adaptive threshold) and S_α (α = 0.5) as PySODMetrics, F1, IoU
  (:mod:`realvlg.metrics.masks`);
* grasp: prediction (x, y, θ°, w) → rectangle with a 40 px jaw; the Cornell criterion against
  the ``grasps`` polygons (:func:`realvlg.metrics.grasps.match_grasps`);
* contact: prediction and ``contact_points`` ground truths → rectangles with a 40 px jaw, then
  as grasp;
* validity: the answer parses with :func:`realvlg.grounding.parsing.parse_answer` (answer tag
  required; zero-area or swapped boxes, zero-width grasps, coincident contacts and — with an image
  size — coordinates outside the image are invalid); samples missing the ground truth a task
  needs are left out.

``realvlg-r1`` — what the official evaluation code (lif314/RealVLG-R1 ``evaluation/``, commit
7ecea25, read for facts) computes, so numbers compare with the paper's Table 4:

* bbox: "cIoU" is DIoU (IoU 0 where the union is not positive, on the corners as given); GIoU on
  the spanned boxes;
* seg: "F" is F1 with eps 1e-7, "S" the simplified quadrant variant;
* grasp / contact: correct only if the single best-IoU ground truth also has a close angle;
  angles of magnitude ≤ π read as radians; contact rectangles 80 px wide (both sides);
* validity: "structurally parsable" by the official regular expressions
  (:func:`realvlg_r1_values`): the answer tag is optional, degenerate boxes, zero widths,
  coincident contacts and non-finite grasp numbers (``1e999``) are valid (they score IoU 0; the
  official code crashes on a non-finite θ), nothing is checked against the image;
* every task evaluates only the samples that have grasp annotations (the official loader drops
  the others), seg also needs the mask file and a ground-truth box.

In both, accuracy metrics are means over valid outputs only and ``validity`` is the valid
fraction of all evaluated samples.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from realvlg.geometry.grasps import contact_corners, opening_angle, rect_corners
from realvlg.grounding.backend import InvalidGrounding
from realvlg.grounding.parsing import parse_answer
from realvlg.metrics.boxes import paired_box_metrics, realvlg_r1_box_metrics
from realvlg.metrics.grasps import match_grasps, match_grasps_realvlg_r1

METRIC_KEYS = {
    "bbox": ("iou", "giou", "diou", "ciou", "validity"),
    "seg": ("f_beta", "s_alpha", "f1", "iou", "validity"),
    "grasp": ("miou", "gacc", "validity"),
    "contact": ("miou", "gacc", "validity"),
}


@dataclass(frozen=True)
class Protocol:
    """How answers are validated and scored. ``official`` selects the RealVLG-R1 code's rules."""

    name: str
    official: bool = False
    grasp_jaw_px: float = 40.0
    contact_jaw_px: float = 40.0
    iou_mode: str = "exact"  # standard only: "exact" polygons or GR-ConvNet's "raster"


PROTOCOLS = {
    "standard": Protocol("standard"),
    "realvlg-r1": Protocol("realvlg-r1", official=True, contact_jaw_px=80.0),
}


def get_protocol(name: str, *, jaw_px: float | None = None, iou_mode: str = "exact") -> Protocol:
    """A protocol by name; ``jaw_px`` overrides the standard jaw size, ``iou_mode`` its IoU."""
    base = PROTOCOLS[name]
    if base.official:
        if jaw_px is not None or iou_mode != "exact":
            raise ValueError("the realvlg-r1 protocol is fixed: no jaw or IoU-mode overrides")
        return base
    jaw = base.grasp_jaw_px if jaw_px is None else float(jaw_px)
    return Protocol(base.name, False, jaw, jaw, iou_mode)


# ----------------------------------------------------------------------------------------------
# answers → the task's four numbers, or the reason they are invalid

_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_R1_INT_DEC = r"(-?\d+(?:\.\d+)?)"
_R1_BOX_RE = re.compile(
    rf"\(?\s*{_R1_INT_DEC}\s*[,，]\s*{_R1_INT_DEC}\s*\)?\s*[,，]\s*\(?\s*{_R1_INT_DEC}\s*[,，]\s*{_R1_INT_DEC}\s*\)?")
_R1_PAIR_RE = re.compile(
    rf"\(\s*{_R1_INT_DEC}\s*,\s*{_R1_INT_DEC}\s*\)\s*,\s*\(\s*{_R1_INT_DEC}\s*,\s*{_R1_INT_DEC}\s*\)")
_R1_NUMBER_RE = re.compile(r"-?\d*\.?\d+(?:[eE][-+]?\d+)?")


def realvlg_r1_values(task: str, text: str) -> list[float] | None:
    """The four numbers the official evaluation code reads from an answer, or None where it
    counts the answer invalid. Grammar (from its ``parse_*`` functions): the ``<answer>`` content
    if there is a tag, else the whole text, whitespace runs collapsed; bbox/seg: the first
    ``(x1, y1), (x2, y2)`` with optional parentheses, ``,`` or ``，``, plain decimals; contact: the
    first ``(x1, y1), (x2, y2)`` with parentheses; grasp: exactly four numbers anywhere."""
    if not text:
        return None
    match = _ANSWER_RE.search(text)
    content = re.sub(r"\s+", " ", (match.group(1) if match else text).strip())
    if task in ("bbox", "seg", "contact"):
        found = (_R1_PAIR_RE if task == "contact" else _R1_BOX_RE).search(content)
        return [float(v) for v in found.groups()] if found else None
    numbers = _R1_NUMBER_RE.findall(content)
    return [float(v) for v in numbers] if len(numbers) == 4 else None


def standard_values(task: str, text: str, image_size: tuple[int, int] | None = None) -> list[float] | str:
    """The task's four numbers from a raw answer via the serving parser, or the invalid reason
    code. Grasps come back as (x, y, θ in degrees, width)."""
    result = parse_answer(task, text, image_size)
    if isinstance(result, InvalidGrounding):
        return result.reason.value
    if task in ("bbox", "seg"):
        return result.box.as_array().tolist()
    if task == "contact":
        return result.contact.points.ravel().tolist()
    rect = result.rect
    return [rect.x, rect.y, math.degrees(rect.theta), rect.width]


def check_values(task: str, values, protocol: Protocol,
                 image_size: tuple[int, int] | None = None) -> list[float] | str:
    """Parsed values (a prediction file's ``bbox`` / ``grasp`` / ``contact``) under the
    protocol's validity rules: the four numbers, or the invalid reason code (the same codes as
    :class:`realvlg.grounding.backend.InvalidReason`)."""
    try:
        v = [float(x) for x in values]
    except (TypeError, ValueError):
        return "malformed"
    if len(v) != 4:
        return "wrong_count"
    if not all(math.isfinite(x) for x in v):
        return "non_finite"
    if protocol.official:
        return v
    if image_size is not None:
        w, h = image_size
        xs, ys = (v[:1], v[1:2]) if task == "grasp" else (v[0::2], v[1::2])
        if any(not -1 <= x <= w + 1 for x in xs) or any(not -1 <= y <= h + 1 for y in ys):
            return "out_of_image"
    if task in ("bbox", "seg") and (v[2] <= v[0] or v[3] <= v[1]):
        return "degenerate_box"
    if task == "grasp" and v[3] <= 0:
        return "zero_length_pair"
    if task == "contact" and v[0] == v[2] and v[1] == v[3]:
        return "zero_length_pair"
    return v


# ----------------------------------------------------------------------------------------------
# scoring of valid predictions (arrays over samples)

def score_boxes(pred, gt, protocol: Protocol) -> dict[str, np.ndarray]:
    """Per-sample ``iou``, ``giou``, ``diou``, ``ciou`` of (N, 4) boxes against (N, 4) boxes."""
    if protocol.official:
        r = realvlg_r1_box_metrics(pred, gt)
        return {"iou": r["iou"], "giou": r["giou"], "diou": r["ciou"], "ciou": r["ciou"]}
    return paired_box_metrics(pred, gt)


def score_grasps(pred, gt_polygons, owner, protocol: Protocol) -> dict[str, np.ndarray]:
    """Per-sample ``iou`` (best) and ``correct`` of (N, 4) predictions (x, y, θ°, w) against the
    concatenated ground-truth polygons (K, 8) with ``owner`` (K,) = their prediction's index."""
    pred = np.asarray(pred, dtype=float).reshape(-1, 4)
    gt = np.asarray(gt_polygons, dtype=float).reshape(-1, 4, 2)
    with np.errstate(invalid="ignore"):  # a non-finite θ (valid under realvlg-r1) gives NaN corners: IoU 0
        corners = rect_corners(pred[:, 0], pred[:, 1], np.radians(pred[:, 2]), pred[:, 3], protocol.grasp_jaw_px)
    if protocol.official:
        edge = gt[:, 1] - gt[:, 0]
        match = match_grasps_realvlg_r1(corners, pred[:, 2], gt, np.degrees(np.arctan2(edge[:, 1], edge[:, 0])), owner)
    else:
        match = match_grasps(corners, np.radians(pred[:, 2]), gt, opening_angle(gt), owner, iou_mode=protocol.iou_mode)
    return {"iou": match.best_iou, "correct": match.correct.astype(float)}


def score_contacts(pred, gt_points, owner, protocol: Protocol) -> dict[str, np.ndarray]:
    """Per-sample ``iou`` and ``correct`` of (N, 4) contact pairs against the concatenated
    ground-truth pairs (K, 4); both become rectangles of ``protocol.contact_jaw_px``."""
    pred = np.asarray(pred, dtype=float).reshape(-1, 4)
    gt = np.asarray(gt_points, dtype=float).reshape(-1, 4)
    pc, gc = contact_corners(pred, protocol.contact_jaw_px), contact_corners(gt, protocol.contact_jaw_px)
    pt = np.arctan2(pred[:, 3] - pred[:, 1], pred[:, 2] - pred[:, 0])
    gtt = np.arctan2(gt[:, 3] - gt[:, 1], gt[:, 2] - gt[:, 0])
    if protocol.official:
        match = match_grasps_realvlg_r1(pc, np.degrees(pt), gc, np.degrees(gtt), owner)
    else:
        match = match_grasps(pc, pt, gc, gtt, owner, iou_mode=protocol.iou_mode)
    return {"iou": match.best_iou, "correct": match.correct.astype(float)}
