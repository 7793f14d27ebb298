"""Self-consistency over k sampled answers: keep the usable ones, return the medoid.

Of ``k`` answers (already in camera pixels) the invalid ones are dropped, and for ``grasp`` /
``contact`` so are those whose grasp line — the segment between the two contacts — has no valid
depth pixel (given a depth image). Among the kept answers the **medoid** is the one with the
smallest summed distance to the others:

* ``bbox`` / ``seg``: distance ``1 − IoU`` of the boxes;
* ``grasp``: ``1 − IoU`` of the rotated rectangles (:func:`realvlg.geometry.grasps.rect_iou`);
* ``contact``: the mean distance in pixels between matched contacts (the pair is unordered: the
  better of the two matchings), divided by the medoid candidate's pair length.

The **agreement** of the medoid ``m`` is ``|{kept answers a : agrees(a, m)}| / k`` — the fraction
of ALL k samples (invalid and no-depth ones count as disagreeing) that agree with the medoid,
the medoid included, so it lies in ``[1/k, 1]`` when anything is kept. ``agrees`` is:

* ``bbox`` / ``seg``: IoU ≥ ``box_iou`` (0.5, the referring-detection criterion);
* ``grasp``: rectangle IoU ≥ ``grasp_iou`` (0.25) and angle difference (mod π) ≤
  ``grasp_angle_deg`` (30°) — the Jacquard / Cornell grasp criterion;
* ``contact``: both matched contacts within ``contact_tolerance`` × the medoid's pair length.

When nothing is kept the most frequent invalid reason is returned (ties: the first seen), with
``samples = k``.
"""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass

import numpy as np

from realvlg.geometry.grasps import angle_diff_pi, rect_iou
from realvlg.grounding.backend import Grounding, GroundingResult, InvalidGrounding, InvalidReason


@dataclass(frozen=True)
class ConsistencyConfig:
    """Thresholds of the agreement criterion (see the module docstring)."""

    box_iou: float = 0.5
    grasp_iou: float = 0.25
    grasp_angle_deg: float = 30.0
    contact_tolerance: float = 0.2


def grasp_line_has_depth(grounding: Grounding, depth: np.ndarray) -> bool:
    """Whether the segment between the two contacts (contact pair, or a rectangle's
    :meth:`~realvlg.geometry.grasps.RectGrasp.contacts`) crosses at least one valid depth pixel
    (finite and > 0). Sampled at ≤ 1 px spacing, rounded to the nearest pixel, clipped to the image."""
    pair = grounding.contact if grounding.contact is not None else grounding.rect.contacts()
    p = pair.points
    n = int(np.ceil(np.linalg.norm(p[1] - p[0]))) + 1
    t = np.linspace(0.0, 1.0, n)[:, None]
    pts = np.rint(p[0] + t * (p[1] - p[0])).astype(int)
    h, w = depth.shape[:2]
    pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)]
    values = np.asarray(depth[pts[:, 1], pts[:, 0]], dtype=float)
    return bool(np.any(np.isfinite(values) & (values > 0)))


def _box_iou_matrix(groundings: list[Grounding]) -> np.ndarray:
    b = np.array([g.box.as_array() for g in groundings], dtype=float)
    x1 = np.maximum(b[:, None, 0], b[None, :, 0])
    y1 = np.maximum(b[:, None, 1], b[None, :, 1])
    x2 = np.minimum(b[:, None, 2], b[None, :, 2])
    y2 = np.minimum(b[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area[:, None] + area[None, :] - inter)


def _rect_iou_matrix(groundings: list[Grounding]) -> np.ndarray:
    corners = np.array([g.rect.corners() for g in groundings], dtype=float)
    return rect_iou(corners[:, None], corners[None, :])


def _contact_error_matrix(groundings: list[Grounding]) -> tuple[np.ndarray, np.ndarray]:
    """(mean, max) matched-contact distances in px, shape (n, n), best of both orderings by mean."""
    p = np.array([g.contact.points for g in groundings], dtype=float)        # (n, 2, 2)
    straight = np.linalg.norm(p[:, None] - p[None, :], axis=-1)              # (n, n, 2)
    swapped = np.linalg.norm(p[:, None] - p[None, :, ::-1], axis=-1)
    use_swapped = swapped.mean(-1) < straight.mean(-1)
    best = np.where(use_swapped[..., None], swapped, straight)
    return best.mean(-1), best.max(-1)


def _distance_and_agreement(task: str, kept: list[Grounding],
                            config: ConsistencyConfig) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise distance (n, n) and agreement (n, n) boolean matrices of the kept answers.
    Row ``i`` of the agreement matrix: which answers agree with candidate ``i``."""
    if task in ("bbox", "seg"):
        iou = _box_iou_matrix(kept)
        return 1.0 - iou, iou >= config.box_iou
    if task == "grasp":
        iou = _rect_iou_matrix(kept)
        theta = np.array([g.rect.theta for g in kept])
        close = np.abs(angle_diff_pi(theta[:, None], theta[None, :])) <= np.radians(config.grasp_angle_deg)
        return 1.0 - iou, (iou >= config.grasp_iou) & close
    mean, worst = _contact_error_matrix(kept)
    length = np.array([g.contact.length for g in kept])[:, None]
    return mean / length, worst <= config.contact_tolerance * length


def select_consensus(results: list[GroundingResult], depth: np.ndarray | None = None,
                     config: ConsistencyConfig = ConsistencyConfig()) -> GroundingResult:
    """The medoid of the usable answers among ``results`` with its agreement (module docstring).

    ``depth``: float metres or integer units, HxW like the image the answers are in (0 / NaN
    invalid); when given, ``grasp`` / ``contact`` answers whose grasp line has no valid depth are
    dropped as :attr:`InvalidReason.NO_DEPTH`."""
    if not results:
        raise ValueError("select_consensus needs at least one result")
    k = len(results)
    task = results[0].task
    checked: list[GroundingResult] = []
    for r in results:
        if r.valid and depth is not None and task in ("grasp", "contact") \
                and not grasp_line_has_depth(r, depth):
            r = InvalidGrounding(task, InvalidReason.NO_DEPTH,
                                 "the grasp line crosses no valid depth pixel", raw_answer=r.raw_answer,
                                 backend=r.backend, model=r.model)
        checked.append(r)
    kept = [r for r in checked if r.valid]
    if not kept:
        reasons = collections.Counter(r.reason for r in checked)
        reason = reasons.most_common(1)[0][0]
        first = next(r for r in checked if r.reason == reason)
        counts = ", ".join(f"{n}× {why.value}" for why, n in reasons.items())
        return dataclasses.replace(first, samples=k,
                                   message=f"no usable answer among {k} samples ({counts}); "
                                           f"e.g. {first.message}")
    distance, agrees = _distance_and_agreement(task, kept, config)
    medoid = int(np.argmin(distance.sum(axis=1)))
    agreement = float(agrees[medoid].sum()) / k
    return dataclasses.replace(kept[medoid], agreement=agreement, samples=k)
