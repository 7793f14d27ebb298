"""One parser for model answers, shared by serving, evaluation and training.

A RealVLG-R1 / UniVG-R1 answer is ``<think>…</think>`` then ``<answer>…</answer>``. Inside the
answer tag:

* ``bbox`` / ``seg``: ``(x_min,y_min), (x_max,y_max)``
* ``contact``: ``(x1,y1),(x2,y2)``
* ``grasp``: ``(x, y, theta, width)`` — θ in DEGREES, atan2(dy, dx) of the opening direction in
  image axes; ``width`` the opening in pixels.

Accepted, as the official RealVLG-R1 evaluation accepts: integers or floats (signs, decimals,
exponents), any whitespace, the full-width comma ``，`` as a separator, and the parentheses
optional (``x1, y1, x2, y2`` and ``(x1, y1, x2, y2)`` parse like ``(x1,y1),(x2,y2)``). Anything
else inside the tag — other brackets, words, units, a different grouping — is structurally
different and comes back as :attr:`InvalidReason.MALFORMED`. Coordinates are returned in the
pixels of the image the model saw; :mod:`realvlg.grounding.coords` maps them to the camera image.
"""

from __future__ import annotations

import math
import re

from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.grounding.backend import TASKS, Grounding, GroundingResult, InvalidGrounding, InvalidReason

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
_NUM_RE = re.compile(_NUM, re.IGNORECASE)
_ITEM = rf"\(\s*(?:{_NUM})(?:\s*,\s*(?:{_NUM}))*\s*\)|(?:{_NUM})"
_CONTENT_RE = re.compile(rf"\s*(?:{_ITEM})(?:\s*,\s*(?:{_ITEM}))*\s*", re.IGNORECASE)
_GROUP_RE = re.compile(rf"\([^()]*\)|{_NUM}", re.IGNORECASE)
_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_THINK_ANSWER_RE = re.compile(r"<think>.*?</think>\s*<answer>(.*?)</answer>", re.DOTALL)

# Allowed groupings of the values per task: sizes of the parenthesised groups (a bare number is 1).
_LAYOUTS = {
    "bbox": {(2, 2), (4,), (1, 1, 1, 1)},
    "contact": {(2, 2), (4,), (1, 1, 1, 1)},
    "grasp": {(4,), (1, 1, 1, 1)},
}
_LAYOUTS["seg"] = _LAYOUTS["bbox"]
_EXPECTED = {"bbox": "(x_min,y_min), (x_max,y_max)", "seg": "(x_min,y_min), (x_max,y_max)",
             "contact": "(x1,y1),(x2,y2)", "grasp": "(x, y, theta, width)"}
OUT_OF_IMAGE_TOLERANCE_PX = 1.0


def extract_answer(text: str) -> str | None:
    """The text inside the first ``<answer>…</answer>``, or None."""
    match = _ANSWER_RE.search(text)
    return match.group(1) if match else None


def parse_values(task: str, content: str) -> list[float] | InvalidReason:
    """The four numbers of an answer tag's content, or why there are not four usable ones."""
    content = content.replace("，", ",")
    if not content.strip():
        return InvalidReason.EMPTY
    if not _CONTENT_RE.fullmatch(content):
        return InvalidReason.MALFORMED
    groups = _GROUP_RE.findall(content)
    layout = tuple(len(_NUM_RE.findall(g)) for g in groups)
    values = [float(v) for v in _NUM_RE.findall(content)]
    if len(values) != 4:
        return InvalidReason.WRONG_COUNT
    if layout not in _LAYOUTS[task]:
        return InvalidReason.MALFORMED
    if not all(math.isfinite(v) for v in values):
        return InvalidReason.NON_FINITE
    return values


def parse_answer(task: str, text: str, image_size: tuple[int, int] | None = None, *,
                 require_answer_tag: bool = True) -> GroundingResult:
    """Parse a model answer for ``task`` into a :class:`Grounding`, or an :class:`InvalidGrounding`
    with the reason. Never raises for any ``text``.

    ``image_size`` is ``(width, height)`` of the image the model saw: coordinates more than
    1 px outside ``[0, width] × [0, height]`` are :attr:`InvalidReason.OUT_OF_IMAGE`.
    ``require_answer_tag=False`` falls back to the whole text when there is no answer tag (the
    official evaluation code's leniency, used by its protocol only).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")

    def invalid(reason: InvalidReason, message: str) -> InvalidGrounding:
        return InvalidGrounding(task, reason, message, raw_answer=text)

    if not text or not text.strip():
        return invalid(InvalidReason.EMPTY, "the model answered nothing")
    content = extract_answer(text)
    if content is None:
        if require_answer_tag:
            return invalid(InvalidReason.NO_ANSWER_TAG, "the answer has no <answer>…</answer> tag")
        content = text
    values = parse_values(task, content)
    if isinstance(values, InvalidReason):
        messages = {
            InvalidReason.EMPTY: "the <answer> tag is empty",
            InvalidReason.MALFORMED: f"the answer is not of the form {_EXPECTED[task]}",
            InvalidReason.WRONG_COUNT: f"the answer needs 4 numbers, {_EXPECTED[task]}",
            InvalidReason.NON_FINITE: "the answer holds a non-finite number",
        }
        return invalid(values, f"{messages[values]}: {content.strip()[:80]!r}")

    if image_size is not None:
        width, height = image_size
        # grasp: only the centre is a position; the others: two points
        xs, ys = (values[:1], values[1:2]) if task == "grasp" else (values[0::2], values[1::2])
        tol = OUT_OF_IMAGE_TOLERANCE_PX
        if any(not -tol <= x <= width + tol for x in xs) or any(not -tol <= y <= height + tol for y in ys):
            return invalid(InvalidReason.OUT_OF_IMAGE,
                           f"the answer {values} lies outside the {width}x{height} image")

    if task in ("bbox", "seg"):
        x1, y1, x2, y2 = values
        if x2 <= x1 or y2 <= y1:
            return invalid(InvalidReason.DEGENERATE_BOX,
                           f"the box {values} has zero area or swapped corners")
        return Grounding(task, box=BoundingBox(x1, y1, x2, y2), raw_answer=text)
    if task == "contact":
        pair = ContactPair(*values)
        if pair.length == 0:
            return invalid(InvalidReason.ZERO_LENGTH_PAIR, "both contact points are the same pixel")
        return Grounding(task, contact=pair, raw_answer=text)
    x, y, theta_deg, width_px = values
    if width_px <= 0:
        return invalid(InvalidReason.ZERO_LENGTH_PAIR, f"the grasp width {width_px} is not positive")
    return Grounding(task, rect=RectGrasp.from_degrees(x, y, theta_deg, width_px), raw_answer=text)


def check_format(task: str, text: str) -> bool:
    """The strict format the RL format reward checks: ``<think>…</think>`` then one
    ``<answer>…</answer>`` whose content parses for ``task``, nothing around them."""
    match = _THINK_ANSWER_RE.fullmatch(text.strip())
    return bool(match) and not isinstance(parse_values(task, match.group(1)), InvalidReason)
