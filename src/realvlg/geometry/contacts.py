"""Finger contact points from a rectangle grasp and an object mask (the paper's §3.3 rule).

The rule, exactly as implemented by :func:`contacts_from_rect`
------------------------------------------------------------------
Let ``c`` be the rectangle centre, ``d`` its unit opening (closing) direction and
``p1 = c - d·w/2``, ``p2 = c + d·w/2`` the ends of its opening segment (:meth:`RectGrasp.contacts`).
"Inside the mask" means the nearest pixel (coordinates rounded) lies on the image and is True.

1. Midpoint. If ``c`` is outside the mask, it is projected onto the mask boundary: ``c'`` is the
   mask pixel nearest to ``c`` (Euclidean; ties → the first in row-major order), and the whole
   segment is translated by ``c' - c`` (same direction, same length). Otherwise nothing moves.
2. Contacts. For each end ``p_i`` of the (translated) segment that is outside the mask, ``p_i``
   is moved along the closing direction towards the midpoint until it reaches the object: the
   new contact is the first mask pixel met when walking from ``p_i`` to the midpoint in steps of
   at most half a pixel (the point on the segment, not the pixel centre). The paper states this
   for one contact outside; realvlg applies the same move to both when both are outside
   (a rectangle wider than the object on both sides). Contacts inside the mask stay where they are
   (a rectangle narrower than the object keeps its width). Because the midpoint is in the mask
   after step 1, every walk ends at the latest at the midpoint.

Edge cases: an empty mask, a mask that is not 2-D, or a rectangle with non-finite numbers raise
:class:`InvalidInputError`. A segment of zero length returns the midpoint twice (the lift refuses
it). Rectangles reaching outside the image are fine: off-image pixels count as outside the mask.
"""

from __future__ import annotations

import math

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import ContactPair, RectGrasp


def _in_mask(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Whether each (x, y) point's nearest pixel is on the image and set in the mask."""
    col = np.rint(points[..., 0]).astype(np.intp)
    row = np.rint(points[..., 1]).astype(np.intp)
    h, w = mask.shape
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    hit = np.zeros(points.shape[:-1], bool)
    hit[inside] = mask[row[inside], col[inside]]
    return hit


def nearest_mask_point(mask: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The (x, y) centre of the mask pixel nearest to ``point`` (a boundary pixel when ``point``
    is outside the mask)."""
    rows, cols = np.nonzero(mask)
    k = int(np.argmin((cols - point[0]) ** 2 + (rows - point[1]) ** 2))
    return np.array([cols[k], rows[k]], dtype=float)


def _walk_to_mask(mask: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """First point of the segment start→end whose pixel is in the mask (end must be in it)."""
    length = float(np.hypot(*(end - start)))
    steps = max(int(math.ceil(length / 0.5)), 1)
    t = np.linspace(0.0, 1.0, steps + 1)
    samples = start[None, :] + t[:, None] * (end - start)[None, :]
    return samples[int(np.argmax(_in_mask(mask, samples)))]


def contacts_from_rect(rect: RectGrasp, mask) -> ContactPair:
    """Contact points of ``rect`` on the object ``mask`` (H, W, bool) after the paper's §3.3 rule
    (see the module docstring for the exact steps and edge cases)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise InvalidInputError(f"an object mask must be 2-D (H, W), got shape {mask.shape}")
    mask = mask.astype(bool, copy=False)
    if not mask.any():
        raise InvalidInputError("the object mask is empty: no contact points can be placed on it")
    ends = rect.contacts().points
    centre = rect.center
    if not _in_mask(mask, centre):
        shift = nearest_mask_point(mask, centre) - centre
        centre, ends = centre + shift, ends + shift
    inside = _in_mask(mask, ends)
    moved = [end if ok else _walk_to_mask(mask, end, centre) for end, ok in zip(ends, inside)]
    return ContactPair(*moved[0], *moved[1])
