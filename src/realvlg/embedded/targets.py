"""Training label maps of the embedded model, from one annotation record (see EMBEDDED_SPEC).

Geometry: an image W×H (original pixels) is resized to the model input width ``input_width``
(height ``round(H·input_width/W)``); the maps are at 1/2 of that, ``(ceil(H_in/2), W_in/2)``.
Pixel centres are at integer coordinates at every resolution (x right, y down), so an original
coordinate ``x`` sits at ``(x + 0.5)·f − 0.5`` on the maps, ``f = W_in / (2W)`` (:class:`MapGeometry`).

Maps (float32, map resolution):

* ``mask`` — the target's mask (area-downsampled, > 0.5), or its box when there is no mask image;
* ``heat`` — a Gaussian at the target box centre, σ = max(1, box side / 8 on the maps);
* ``quality`` — 1 in the centre third (along the opening) of every grasp rectangle, across the
  whole jaw (GR-ConvNet's rule); later rectangles overwrite earlier ones where they overlap;
* ``cos``/``sin`` — cos 2θ, sin 2θ of the opening direction θ where quality is 1, else 0;
* ``width`` — the opening at model-input resolution / ``width_scale`` where quality is 1, else 0;
* ``confidence`` — 1 when the instruction names something present (``label`` non-empty), else 0.

An absent target (``label == ""``) gives all-zero maps and confidence 0. The angle and width
losses are weighted by ``quality`` (the validity weights: they are defined only there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from realvlg.geometry.grasps import RectGrasp

MAP_KEYS = ("heat", "mask", "quality", "cos", "sin", "width")


@dataclass(frozen=True)
class MapGeometry:
    """Original image size → model input size → map size, and the coordinate maps between them."""

    width: int
    height: int
    input_width: int = 320

    @property
    def input_size(self) -> tuple[int, int]:
        """(W_in, H_in) of the resized model input."""
        return self.input_width, max(1, round(self.height * self.input_width / self.width))

    @property
    def map_size(self) -> tuple[int, int]:
        """(w, h) of the output maps."""
        w_in, h_in = self.input_size
        return (w_in + 1) // 2, (h_in + 1) // 2

    @property
    def scale(self) -> np.ndarray:
        """(fx, fy): map pixels per original pixel."""
        w_in, h_in = self.input_size
        return np.array([w_in / (2 * self.width), h_in / (2 * self.height)])

    def to_map(self, xy) -> np.ndarray:
        return (np.asarray(xy, dtype=float) + 0.5) * self.scale - 0.5

    def to_original(self, uv) -> np.ndarray:
        return (np.asarray(uv, dtype=float) + 0.5) / self.scale - 0.5

    @property
    def input_scale(self) -> float:
        """Model-input pixels per original pixel (along x)."""
        return self.input_width / self.width


def rect_maps(rects: list[RectGrasp], shape: tuple[int, int], width_scale: float) -> dict[str, np.ndarray]:
    """quality / cos / sin / width maps of ``rects`` given in MAP pixels (width at map scale)."""
    h, w = shape
    out = {k: np.zeros((h, w), np.float32) for k in ("quality", "cos", "sin", "width")}
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for r in rects:
        dx, dy = xs - r.x, ys - r.y
        along = dx * math.cos(r.theta) + dy * math.sin(r.theta)
        across = -dx * math.sin(r.theta) + dy * math.cos(r.theta)
        inside = (np.abs(along) <= max(r.width / 6, 0.5)) & (np.abs(across) <= max(r.jaw / 2, 0.5))
        out["quality"][inside] = 1.0
        out["cos"][inside] = math.cos(2 * r.theta)
        out["sin"][inside] = math.sin(2 * r.theta)
        out["width"][inside] = 2 * r.width / width_scale  # map px → input px
    return out


def label_maps(record: dict, width: int, height: int, mask: np.ndarray | None = None, *,
               input_width: int = 320, width_scale: float = 80.0) -> dict[str, np.ndarray | float]:
    """The training targets of ``record`` for an original image of ``width``×``height``;
    ``mask`` (H×W, nonzero = target) is the record's mask image when it has one."""
    geo = MapGeometry(width, height, input_width)
    mw, mh = geo.map_size
    maps: dict = {k: np.zeros((mh, mw), np.float32) for k in MAP_KEYS}
    present = bool(record.get("label"))
    maps["confidence"] = float(present)
    if not present:
        return maps
    box = record.get("bbox")
    if mask is not None and np.any(mask):
        small = cv2.resize((mask > 0).astype(np.float32), (mw, mh), interpolation=cv2.INTER_AREA)
        maps["mask"] = (small > 0.5).astype(np.float32)
        if not maps["mask"].any():  # a sliver thinner than a map pixel: keep its densest pixel
            maps["mask"].flat[np.argmax(small)] = 1.0
    elif box is not None:
        (u0, v0), (u1, v1) = geo.to_map(np.reshape(box, (2, 2)))
        ys, xs = np.mgrid[0:mh, 0:mw]
        maps["mask"] = ((xs >= np.floor(u0)) & (xs <= np.ceil(u1)) & (ys >= np.floor(v0))
                        & (ys <= np.ceil(v1))).astype(np.float32)
    if box is not None:
        (u0, v0), (u1, v1) = geo.to_map(np.reshape(box, (2, 2)))
        sigma = max(1.0, min(u1 - u0, v1 - v0) / 8)
        ys, xs = np.mgrid[0:mh, 0:mw].astype(np.float32)
        maps["heat"] = np.exp(-((xs - (u0 + u1) / 2) ** 2 + (ys - (v0 + v1) / 2) ** 2) / (2 * sigma**2)).astype(np.float32)
    rects = [RectGrasp.from_corners(geo.to_map(np.reshape(g, (4, 2)))) for g in record.get("grasps") or []]
    maps.update(rect_maps(rects, (mh, mw), width_scale))
    return maps
