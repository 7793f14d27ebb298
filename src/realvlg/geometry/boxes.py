"""Axis-aligned boxes on an image.

A :class:`BoundingBox` is ``(x_min, y_min, x_max, y_max)`` in pixels with x right and y down —
the ``xyxy`` layout of torchvision.ops and of the paper's answers ``(x_min,y_min), (x_max,y_max)``.
Its area is ``(x_max - x_min) * (y_max - y_min)`` (continuous coordinates, no +1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from realvlg.errors import InvalidInputError


@dataclass(frozen=True)
class BoundingBox:
    x_min: float
    y_min: float
    x_max: float
    y_max: float

    def __post_init__(self) -> None:
        values = (self.x_min, self.y_min, self.x_max, self.y_max)
        if not all(math.isfinite(float(v)) for v in values):
            raise InvalidInputError(f"box needs finite numbers, got {values}")
        if self.x_max < self.x_min or self.y_max < self.y_min:
            raise InvalidInputError(f"box corners are swapped: {values}")

    @classmethod
    def from_points(cls, x1: float, y1: float, x2: float, y2: float) -> "BoundingBox":
        """From two opposite corners in any order."""
        return cls(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))

    def as_array(self) -> np.ndarray:
        return np.array([self.x_min, self.y_min, self.x_max, self.y_max], dtype=float)

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.x_min + self.x_max) / 2, (self.y_min + self.y_max) / 2])

    def to_mask(self, height: int, width: int) -> np.ndarray:
        """Boolean HxW mask of the pixels whose centres lie inside the box."""
        ys, xs = np.arange(height)[:, None], np.arange(width)[None, :]
        return (xs >= self.x_min) & (xs <= self.x_max) & (ys >= self.y_min) & (ys <= self.y_max)
