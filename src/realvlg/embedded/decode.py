"""Output maps of the embedded model → a grounding in ORIGINAL image pixels.

1. ``confidence`` = sigmoid of the confidence head; below ``confidence_threshold`` (or with no
   mask pixel above ``mask_threshold``) the target is *not found*.
2. The target: the connected component (8-connectivity, scipy.ndimage) of the thresholded mask
   that contains the heat-map peak, else the one closest to it.
3. Mask: that component's mask probabilities upsampled bilinearly to the original image and
   thresholded; box = the outer edges of its pixels ``(x_min − 0.5, y_min − 0.5, x_max + 0.5,
   y_max + 0.5)`` (pixel centres at integers, as the data generator's boxes), clipped to the
   image's pixel centres ``[0, W − 1] × [0, H − 1]``.
4. Grasp: the argmax of the Gaussian-smoothed (σ = 1 map px) quality inside the component
   (dilated by 2 map px); θ = ½·atan2(sin 2θ, cos 2θ) (the opening direction, corner0→corner1,
   modulo π), width = width map × ``width_scale`` / input scale, centre mapped back with
   :class:`~realvlg.embedded.targets.MapGeometry`. The jaw is the caller's (e.g. the finger width
   projected at the grasp depth). The contact pair is the rectangle's opening segment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from realvlg.embedded.targets import MapGeometry
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import DEFAULT_JAW_PX, ContactPair, RectGrasp


@dataclass(frozen=True)
class DecodeConfig:
    confidence_threshold: float = 0.5
    mask_threshold: float = 0.5
    width_scale: float = 80.0
    input_width: int = 320

    @classmethod
    def from_dict(cls, data: dict) -> "DecodeConfig":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Decoded:
    """``found`` and, when found, the target's box / mask (bool H×W) / rect / contact pair."""

    found: bool
    confidence: float
    box: BoundingBox | None = None
    mask: np.ndarray | None = None
    rect: RectGrasp | None = None
    contact: ContactPair | None = None


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def target_component(mask_prob: np.ndarray, heat: np.ndarray, threshold: float) -> np.ndarray | None:
    """The thresholded mask's component at (or nearest to) the heat peak; None when empty."""
    labels, count = ndimage.label(mask_prob > threshold, structure=np.ones((3, 3)))
    if count == 0:
        return None
    py, px = np.unravel_index(np.argmax(heat), heat.shape)
    chosen = labels[py, px]
    if chosen == 0:
        ys, xs = np.nonzero(labels)
        chosen = labels[ys, xs][np.argmin((ys - py) ** 2 + (xs - px) ** 2)]
    return labels == chosen


def decode(maps: dict[str, np.ndarray], confidence_logit: float, image_size: tuple[int, int],
           config: DecodeConfig = DecodeConfig(), jaw: float | None = None) -> Decoded:
    """``maps``: the network's (h, w) outputs for one image (logits for heat/mask/quality, raw
    cos/sin/width); ``image_size`` = (W, H) of the original image; ``jaw`` [original px]."""
    confidence = float(sigmoid(confidence_logit))
    if confidence < config.confidence_threshold:
        return Decoded(False, confidence)
    mask_prob = sigmoid(maps["mask"])
    component = target_component(mask_prob, maps["heat"], config.mask_threshold)
    if component is None:
        return Decoded(False, confidence)
    width, height = image_size
    geo = MapGeometry(width, height, config.input_width)
    mh, mw = component.shape
    w_in, h_in = geo.input_size
    # map px (h, w) → input px (2h, 2w) cropped to the input → original pixels
    up = cv2.resize((mask_prob * component).astype(np.float32), (2 * mw, 2 * mh), interpolation=cv2.INTER_LINEAR)
    full = cv2.resize(up[:h_in, :w_in], (width, height), interpolation=cv2.INTER_LINEAR) > config.mask_threshold
    if not full.any():  # a one-pixel component can vanish in the interpolation: keep its centre
        u, v = geo.to_original(np.argwhere(component)[0][::-1])
        full[int(np.clip(round(v), 0, height - 1)), int(np.clip(round(u), 0, width - 1))] = True
    ys, xs = np.nonzero(full)
    box = BoundingBox(max(xs.min() - 0.5, 0.0), max(ys.min() - 0.5, 0.0),
                      min(xs.max() + 0.5, width - 1.0), min(ys.max() + 0.5, height - 1.0))

    quality = ndimage.gaussian_filter(sigmoid(maps["quality"]), 1.0)
    region = ndimage.binary_dilation(component, iterations=2)
    py, px = np.unravel_index(np.argmax(np.where(region, quality, -1.0)), quality.shape)
    theta = 0.5 * math.atan2(float(maps["sin"][py, px]), float(maps["cos"][py, px]))
    opening = max(float(maps["width"][py, px]) * config.width_scale / geo.input_scale, 1.0)
    cx, cy = geo.to_original([px, py])
    jaw = float(jaw) if jaw is not None else DEFAULT_JAW_PX * width / 640
    rect = RectGrasp(float(cx), float(cy), theta, opening, jaw)
    return Decoded(True, confidence, box, full, rect, rect.contacts())
