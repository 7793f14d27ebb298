"""Map answers from the frame the model saw to the camera image.

Qwen2.5-VL resizes every image with ``smart_resize`` (both sides multiples of 28, the pixel count
within [min_pixels, max_pixels]) and answers in ABSOLUTE pixels of that resized image, unless its
fine-tuning taught otherwise. Each checkpoint therefore declares a convention:

* ``absolute_resized`` — pixels of the smart-resized input (stock Qwen2.5-VL behaviour).
* ``absolute_original`` — pixels of the original camera image. The official RealVLG-R1 training
  fed 1280×720 images (resized to 1288×728) with labels in original pixels, so this is the
  default for the RealVLG-R1 checkpoints.
* ``relative_1000`` — 0…1000 normalised coordinates (Qwen2-VL, hence UniVG-R1).

Mapping is a plain per-axis scale of continuous coordinates, ``x_cam = x * W / W_model``: a
box edge at the model image's border lands on the camera image's border. A rectangle grasp's
angle and opening width follow the (possibly anisotropic) scaling of its opening direction; its
jaw size stays a drawing convention in pixels.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from realvlg.errors import InvalidInputError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.grounding.backend import Grounding

CONVENTIONS = ("absolute_resized", "absolute_original", "relative_1000")
QWEN_FACTOR = 28
QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 28 * 28 * 1280


def smart_resize(height: int, width: int, factor: int = QWEN_FACTOR, min_pixels: int = QWEN_MIN_PIXELS,
                 max_pixels: int = QWEN_MAX_PIXELS) -> tuple[int, int]:
    """Qwen2-VL / Qwen2.5-VL input size ``(height, width)``: sides rounded to multiples of
    ``factor`` and the area brought within ``[min_pixels, max_pixels]``, aspect ratio kept.
    1280×720 → 1288×728 with the defaults."""
    if height <= 0 or width <= 0:
        raise InvalidInputError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > 200:
        raise InvalidInputError(f"aspect ratio of {width}x{height} exceeds 200, Qwen2.5-VL refuses it")
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


@dataclass(frozen=True)
class CoordinateConvention:
    """How a checkpoint's answers relate to the camera image (see the module docstring)."""

    kind: str = "absolute_resized"
    factor: int = QWEN_FACTOR
    min_pixels: int = QWEN_MIN_PIXELS
    max_pixels: int = QWEN_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.kind not in CONVENTIONS:
            raise InvalidInputError(f"unknown coordinate convention {self.kind!r}; expected one of {CONVENTIONS}")

    def model_frame_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of the frame the answers are expressed in, for a camera image."""
        if self.kind == "absolute_resized":
            h, w = smart_resize(height, width, self.factor, self.min_pixels, self.max_pixels)
            return w, h
        if self.kind == "relative_1000":
            return 1000, 1000
        return width, height

    def to_camera(self, grounding: Grounding, width: int, height: int) -> Grounding:
        """``grounding`` (in the model frame) expressed in the pixels of a ``width``×``height``
        camera image."""
        model_w, model_h = self.model_frame_size(width, height)
        sx, sy = width / model_w, height / model_h
        if sx == 1 and sy == 1:
            return grounding
        changes = {}
        if grounding.box is not None:
            b = grounding.box
            changes["box"] = BoundingBox(b.x_min * sx, b.y_min * sy, b.x_max * sx, b.y_max * sy)
        if grounding.contact is not None:
            c = grounding.contact
            changes["contact"] = ContactPair(c.x1 * sx, c.y1 * sy, c.x2 * sx, c.y2 * sy)
        if grounding.rect is not None:
            r = grounding.rect
            dx, dy = math.cos(r.theta) * r.width * sx, math.sin(r.theta) * r.width * sy
            changes["rect"] = RectGrasp(r.x * sx, r.y * sy, math.atan2(dy, dx), math.hypot(dx, dy), r.jaw)
        return dataclasses.replace(grounding, **changes)
