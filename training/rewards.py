"""Verifiable rewards for RealVLG-R1 training — plain functions, no trainer in sight.

Every reward is ``R = α·R_format + β·R_task`` with α = 0.1, β = 0.9 (paper eq. 17; the official
code's ``format_weight = 0.1``). ``R_format`` is 1 when the completion is exactly
``<think>…</think><answer>…</answer>`` with an answer that parses for the task
(:func:`realvlg.grounding.parsing.check_format`, the server's parser), else 0. ``R_task`` reads the
answer through :func:`realvlg.grounding.parsing.parse_answer` (an unparsable answer scores 0) and
compares it with the sample's annotation (RealVLG-11B format: ``bbox``, ``grasps``,
``contact_points``, ``mask_path``) using :mod:`realvlg.metrics`. Every ``R_task`` lies in [0, 1].

Two variants (``RewardConfig.variant``):

``paper`` — eq. 8–12 as written, each brought to [0, 1]:

* bbox: ``1(IoU(B_p, B_gt) ≥ τ)`` — already 0/1.
* seg: ``(1(IoU(B_p, B_gt) ≥ τ) + S_α(M_p, M_gt)) / 2`` — the sum of two [0, 1] terms, halved.
* grasp: ``exp(−Σ Huber_δ(v_p − v_gt))`` over v ∈ (x, y, cos θ, sin θ, w) — eq. 11 is −Σ Huber ≤ 0;
  exp maps it monotonically onto (0, 1]. With several ground-truth grasps the closest one
  (smallest loss) counts.
* contact: ``(1(IoU(G_p, G_gt) ≥ τ) + max(0, 1 − Σ_i ‖P_i^p − P_i^gt‖ / D)) / 2`` with D the
  image diagonal [px] — the distance term of eq. 12 made relative to the image and clipped to
  [0, 1]; the points are matched in the order that fits best (a pair is unordered); G are the
  pairs' rectangles (``contact_jaw_px`` fingers); the best ground-truth pair counts.

``official`` — what lif314/RealVLG-R1 ``train_scripts/reward_function`` computes:

* bbox: the continuous IoU.
* seg: ``0.7·IoU(B_p, B_gt) + 0.3·S_α(M_p, M_gt)``.
* grasp: ``max_gt 1 / (1 + Σ Huber_{δ=1})`` over (x, y, cos θ, sin θ, w).
* contact: ``max_gt IoU`` of the pairs as rectangles 80 px wide (``contact_jaw_px``).

Conventions: pixels of the image the model saw (x right, y down); grasp θ in DEGREES in the
answer, atan2(dy, dx) of the opening direction; a ground-truth grasp polygon opens along
corner0→corner1, its centre is the corners' mean and its width the distance of the midpoints of
edges 0–3 and 1–2. ``M_p`` is the segmenter's mask of the predicted box (SAM2 in the paper);
without a segmenter the filled box is the mask. ``S_α`` is :func:`realvlg.metrics.masks.s_measure`
(PySODMetrics' S-measure, α = 0.5, what the official reward uses).
"""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import contact_corners, rect_corners
from realvlg.grounding.backend import TASKS, Grounding
from realvlg.grounding.parsing import check_format, parse_answer
from realvlg.metrics.boxes import paired_box_metrics
from realvlg.metrics.grasps import pair_iou
from realvlg.metrics.masks import s_measure

VARIANTS = ("paper", "official")
OFFICIAL_SEG_WEIGHTS = (0.7, 0.3)  # IoU, S-measure

# box → mask: (image RGB or None, box [x1, y1, x2, y2] px, (H, W)) → bool HxW
Segmenter = Callable[[np.ndarray | None, np.ndarray, tuple[int, int]], np.ndarray]


@dataclass(frozen=True)
class RewardConfig:
    """Which reward, and its constants. ``iou_threshold`` is the paper's τ (paper variant only);
    ``huber_delta`` the Huber δ; ``contact_jaw_px`` the finger size of a contact pair's rectangle."""

    variant: str = "official"
    format_weight: float = 0.1
    iou_threshold: float = 0.5
    huber_delta: float = 1.0
    contact_jaw_px: float = 80.0
    s_alpha: float = 0.5

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise InvalidInputError(f"unknown reward variant {self.variant!r}; expected one of {VARIANTS}")
        if not 0.0 <= self.format_weight <= 1.0:
            raise InvalidInputError(f"format_weight must lie in [0, 1], got {self.format_weight}")

    @classmethod
    def from_dict(cls, data: dict | None) -> "RewardConfig":
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInputError(f"unknown reward settings {sorted(unknown)}")
        return cls(**data)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RewardBreakdown:
    """``total = format_weight·format + (1 − format_weight)·task``; ``parts`` the task term's
    ingredients (IoU, S-measure, Huber loss, …) for logging; ``valid`` whether the answer parsed."""

    total: float
    format: float
    task: float
    valid: bool
    parts: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"total": self.total, "format": self.format, "task": self.task, "valid": self.valid, **self.parts}


# ----------------------------------------------------------------------------------------------
# ground truth from an annotation record

def _gt_array(sample: dict, key: str, width: int) -> np.ndarray:
    try:
        return np.asarray(sample.get(key) or [], dtype=float).reshape(-1, width)
    except (TypeError, ValueError):
        raise InvalidInputError(f"sample {key} must be a list of {width}-number lists") from None


def _gt_box(sample: dict) -> np.ndarray:
    box = _gt_array(sample, "bbox", 4)
    if len(box) != 1:
        raise InvalidInputError("the sample has no bbox [x1, y1, x2, y2]")
    return box[0]


def grasp_parameters(polygons) -> np.ndarray:
    """(K, 8) ground-truth grasp polygons → (K, 4) ``(x, y, θ [deg], width)``: centre = corner
    mean, θ = atan2 of corner0→corner1, width = distance of the midpoints of edges 0–3 and 1–2."""
    p = np.asarray(polygons, dtype=float).reshape(-1, 4, 2)
    centre = p.mean(axis=1)
    edge = p[:, 1] - p[:, 0]
    opening = (p[:, 1] + p[:, 2] - p[:, 0] - p[:, 3]) / 2
    theta = np.degrees(np.arctan2(edge[:, 1], edge[:, 0]))
    return np.column_stack([centre, theta, np.hypot(opening[:, 0], opening[:, 1])])


def _pose_vector(params: np.ndarray) -> np.ndarray:
    """(K, 4) (x, y, θ deg, w) → (K, 5) (x, y, cos θ, sin θ, w)."""
    t = np.radians(params[:, 2])
    return np.column_stack([params[:, 0], params[:, 1], np.cos(t), np.sin(t), params[:, 3]])


def huber(diff, delta: float = 1.0) -> np.ndarray:
    """Elementwise Huber loss: ½·d² for |d| ≤ δ, δ·(|d| − ½δ) beyond (PyTorch ``huber_loss``)."""
    a = np.abs(np.asarray(diff, dtype=float))
    return np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))


def load_mask(path: str | pathlib.Path) -> np.ndarray:
    """A ground-truth mask image → bool HxW (grey > 127, the official reward's threshold)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L")) > 127
    except OSError as exc:
        raise InvalidInputError(f"cannot read the mask {path}: {exc}") from None


def box_mask(box, shape: tuple[int, int]) -> np.ndarray:
    """The pixels whose centres lie in ``box`` [x1, y1, x2, y2] (pixel (0, 0) centred at 0, 0)."""
    h, w = shape
    xs, ys = np.arange(w), np.arange(h)
    return ((ys >= box[1]) & (ys <= box[3]))[:, None] & ((xs >= box[0]) & (xs <= box[2]))[None, :]


# ----------------------------------------------------------------------------------------------
# task terms

def _box_term(pred: np.ndarray, sample: dict, config: RewardConfig) -> tuple[float, dict]:
    iou = float(paired_box_metrics(pred[None], _gt_box(sample)[None])["iou"][0])
    score = float(iou >= config.iou_threshold) if config.variant == "paper" else iou
    return score, {"iou": iou}


def _seg_term(pred: np.ndarray, sample: dict, config: RewardConfig, gt_mask: np.ndarray | None,
              segmenter: Segmenter | None, image: np.ndarray | None) -> tuple[float, dict]:
    iou = float(paired_box_metrics(pred[None], _gt_box(sample)[None])["iou"][0])
    if gt_mask is None:
        if not sample.get("mask_path"):
            raise InvalidInputError("the seg reward needs the sample's mask_path")
        gt_mask = load_mask(pathlib.Path(sample.get("root") or ".") / sample["mask_path"])
    pred_mask = segmenter(image, pred, gt_mask.shape) if segmenter else box_mask(pred, gt_mask.shape)
    sm = float(np.clip(s_measure(np.asarray(pred_mask, dtype=bool), gt_mask, config.s_alpha), 0.0, 1.0))
    if config.variant == "paper":
        score = (float(iou >= config.iou_threshold) + sm) / 2
    else:
        score = OFFICIAL_SEG_WEIGHTS[0] * iou + OFFICIAL_SEG_WEIGHTS[1] * sm
    return score, {"iou": iou, "s_measure": sm}


def _grasp_term(pred: np.ndarray, sample: dict, config: RewardConfig) -> tuple[float, dict]:
    gt = _gt_array(sample, "grasps", 8)
    if len(gt) == 0:
        return 0.0, {"huber": math.inf}
    loss = huber(_pose_vector(pred[None]) - _pose_vector(grasp_parameters(gt)), config.huber_delta).sum(axis=1)
    best = float(loss.min())
    score = math.exp(-best) if config.variant == "paper" else 1.0 / (1.0 + best)
    corners = rect_corners(pred[0], pred[1], math.radians(pred[2]), pred[3])
    iou = float(pair_iou(corners[None], gt.reshape(-1, 4, 2), np.zeros(len(gt), dtype=np.intp)).max())
    return score, {"huber": best, "iou": iou}


def _contact_term(pred: np.ndarray, sample: dict, config: RewardConfig,
                  image_size: tuple[int, int] | None) -> tuple[float, dict]:
    gt = _gt_array(sample, "contact_points", 4)
    if len(gt) == 0:
        return 0.0, {"iou": 0.0}
    jaw = config.contact_jaw_px
    iou = pair_iou(contact_corners(pred, jaw), contact_corners(gt, jaw), np.zeros(len(gt), dtype=np.intp))
    if config.variant == "official":
        return float(iou.max()), {"iou": float(iou.max())}
    p = pred.reshape(2, 2)
    g = gt.reshape(-1, 2, 2)
    straight = np.linalg.norm(g - p, axis=2).sum(axis=1)
    swapped = np.linalg.norm(g - p[::-1], axis=2).sum(axis=1)
    distance = np.minimum(straight, swapped)
    width, height = image_size or _image_size(sample)
    closeness = np.clip(1.0 - distance / math.hypot(width, height), 0.0, 1.0)
    per_gt = ((iou >= config.iou_threshold).astype(float) + closeness) / 2
    k = int(per_gt.argmax())
    return float(per_gt[k]), {"iou": float(iou[k]), "distance_px": float(distance[k])}


def _image_size(sample: dict) -> tuple[int, int]:
    size = sample.get("image_size")
    if not size or len(size) != 2:
        raise InvalidInputError("the paper contact reward needs the image size: give the sample "
                                "an image_size [width, height]")
    return int(size[0]), int(size[1])


# ----------------------------------------------------------------------------------------------
# the reward

def compute_reward(task: str, completion: str, sample: dict, config: RewardConfig = RewardConfig(), *,
                   gt_mask: np.ndarray | None = None, segmenter: Segmenter | None = None,
                   image: np.ndarray | None = None) -> RewardBreakdown:
    """The reward of one completion for one annotated sample (see the module docstring).

    ``sample``: an annotation record (``bbox``, ``grasps``, ``contact_points``, ``mask_path``,
    optional ``image_size`` [W, H] of the image the model saw and ``root`` for relative mask paths).
    ``gt_mask`` skips reading ``mask_path``; ``segmenter`` turns the predicted box into a mask
    (default: the filled box). Bad *samples* raise :class:`InvalidInputError`; bad *completions*
    score 0 on the task.
    """
    if task not in TASKS:
        raise InvalidInputError(f"unknown task {task!r}; expected one of {TASKS}")
    image_size = tuple(sample["image_size"]) if sample.get("image_size") else None
    fmt = float(check_format(task, completion))
    parsed = parse_answer(task, completion, image_size)
    if not isinstance(parsed, Grounding):
        return RewardBreakdown(config.format_weight * fmt, fmt, 0.0, False, {"invalid": parsed.reason.value})
    if task in ("bbox", "seg"):
        b = parsed.box
        pred = np.array([b.x_min, b.y_min, b.x_max, b.y_max])
        score, parts = (_box_term(pred, sample, config) if task == "bbox"
                        else _seg_term(pred, sample, config, gt_mask, segmenter, image))
    elif task == "grasp":
        r = parsed.rect
        score, parts = _grasp_term(np.array([r.x, r.y, math.degrees(r.theta), r.width]), sample, config)
    else:
        score, parts = _contact_term(parsed.contact.points.ravel(), sample, config, image_size)
    total = config.format_weight * fmt + (1.0 - config.format_weight) * score
    return RewardBreakdown(total, fmt, score, True, parts)


def sam2_segmenter(checkpoint: str | pathlib.Path, device: str = "auto") -> Segmenter:
    """The seg reward's ``segmenter`` from a local SAM2 checkpoint (:mod:`realvlg.grounding.sam2`),
    as the paper's frozen SAM2. It needs the image the model saw."""
    from realvlg.geometry.boxes import BoundingBox
    from realvlg.grounding.sam2 import Sam2Config, Sam2Segmenter

    sam2 = Sam2Segmenter(Sam2Config(checkpoint, device=device))

    def segment(image: np.ndarray | None, box: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        if image is None:
            raise InvalidInputError("the SAM2 seg reward needs the sample's image")
        image = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image, dtype=np.uint8)
        if image.shape[:2] != tuple(shape):
            raise InvalidInputError(f"image {image.shape[:2]} and mask {tuple(shape)} sizes differ")
        return sam2.segment(image, BoundingBox(*map(float, box)))

    return segment


def parse_sample(text: str) -> dict:
    """A sample given as JSON text (the CLI's ``--sample``) → dict."""
    try:
        sample = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"--sample is not valid JSON: {exc}") from None
    if not isinstance(sample, dict):
        raise InvalidInputError("--sample must be one JSON object in the annotation format")
    return sample
