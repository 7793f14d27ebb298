"""The ROS-free grounding-backend interface every model backend implements.

A backend takes a task, an RGB image and an instruction and answers with a :class:`Grounding`
(valid, in the pixel coordinates of the image it was given) or an :class:`InvalidGrounding` that
says why the answer cannot be used. Transport failures (a dead or slow server, a missing
checkpoint) are raised as :class:`BackendError`, never returned as results.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair, RectGrasp

TASKS = ("bbox", "seg", "grasp", "contact")


class InvalidReason(str, enum.Enum):
    """Why an answer cannot be used. The value is a stable code for logs and metrics."""

    EMPTY = "empty"                        # nothing generated
    NO_ANSWER_TAG = "no_answer_tag"        # no <answer>…</answer>
    MALFORMED = "malformed"                # the answer is not the task's (…), (…) layout
    WRONG_COUNT = "wrong_count"            # not the number of values the task needs
    NON_FINITE = "non_finite"              # nan / inf / unparsable number
    OUT_OF_IMAGE = "out_of_image"          # coordinates outside the image
    DEGENERATE_BOX = "degenerate_box"      # zero-area box
    ZERO_LENGTH_PAIR = "zero_length_pair"  # both contacts equal, or a zero-width grasp
    NOT_FOUND = "not_found"                # the backend found nothing the instruction names
    NO_DEPTH = "no_depth"                  # the grasp lands on missing depth (self-consistency filter)


@dataclass(frozen=True)
class Grounding:
    """A usable answer. Which fields are set depends on ``task``: ``bbox`` → box; ``seg`` → box
    and ``mask`` (bool HxW); ``grasp`` → rect; ``contact`` → contact (backends may fill more)."""

    task: str
    box: BoundingBox | None = None
    mask: np.ndarray | None = None
    rect: RectGrasp | None = None
    contact: ContactPair | None = None
    raw_answer: str = ""
    agreement: float = 1.0   # self-consistency agreement in [0, 1]
    samples: int = 1
    latency: float = 0.0     # seconds in the backend
    backend: str = ""
    model: str = ""

    valid = True

    def as_dict(self) -> dict:
        """JSON-ready summary (the mask as its pixel count)."""
        d = {"task": self.task, "valid": True, "raw_answer": self.raw_answer, "agreement": self.agreement,
             "samples": self.samples, "latency": self.latency, "backend": self.backend, "model": self.model}
        if self.box is not None:
            d["bbox"] = self.box.as_array().tolist()
        if self.mask is not None:
            d["mask_pixels"] = int(np.count_nonzero(self.mask))
        if self.rect is not None:
            r = self.rect
            d["rect"] = {"x": r.x, "y": r.y, "theta": r.theta, "width": r.width, "jaw": r.jaw}
        if self.contact is not None:
            d["contact"] = self.contact.points.ravel().tolist()
        return d


@dataclass(frozen=True)
class InvalidGrounding:
    """An answer that cannot be used, with the reason code and a sentence for people."""

    task: str
    reason: InvalidReason
    message: str
    raw_answer: str = ""
    samples: int = 1
    latency: float = 0.0
    backend: str = ""
    model: str = ""

    valid = False

    def as_dict(self) -> dict:
        return {"task": self.task, "valid": False, "reason": self.reason.value, "message": self.message,
                "raw_answer": self.raw_answer, "samples": self.samples, "latency": self.latency,
                "backend": self.backend, "model": self.model}


GroundingResult = Grounding | InvalidGrounding


class BackendError(RealVLGError):
    """The backend could not be asked: server dead, timed out, or answered an HTTP error;
    checkpoint missing or unreadable."""


class GroundingBackend(ABC):
    """Task + image + instruction → :data:`GroundingResult`."""

    name: str = "backend"
    tasks: tuple[str, ...] = TASKS  # the tasks this backend (its model) answers

    @abstractmethod
    def ground(self, task: str, image: np.ndarray, instruction: str, *, samples: int = 1,
               depth: np.ndarray | None = None,
               intrinsics: CameraIntrinsics | None = None,
               reference: np.ndarray | None = None) -> GroundingResult:
        """Ground ``instruction`` on ``image`` (RGB uint8 HxWx3) for ``task`` (one of TASKS).

        ``depth`` (float metres, HxW, 0/NaN invalid) and ``intrinsics`` are optional; backends that
        sample several answers use them to drop grasps that land on missing depth. ``reference``
        (RGB uint8, any size): a photo of the object (UniVG-R1's multi-image form); backends that
        take one image refuse it (:func:`refuse_reference`).
        """


def grounding_from_fields(msg) -> GroundingResult:
    """A ``realvlg_interfaces/Grounding`` message → Grounding / InvalidGrounding, from its fields
    alone (an rclpy message or one rosbags deserialised; an all-zero bbox / rect / contact means
    absent, the mask is mono8 with 255 = object). Raises :class:`~realvlg.errors.InvalidInputError`
    on a malformed message."""
    common = dict(task=msg.task, raw_answer=msg.raw_answer, samples=int(msg.samples),
                  latency=float(msg.latency), backend=msg.backend, model=msg.model)
    if not msg.valid:
        code, sep, sentence = msg.invalid_reason.partition(": ")
        known = {r.value: r for r in InvalidReason}
        if sep and code in known:
            return InvalidGrounding(reason=known[code], message=sentence, **common)
        raise InvalidInputError(f"invalid Grounding message whose invalid_reason does not start with a "
                                f"reason code ({', '.join(known)}): {msg.invalid_reason!r}")
    bbox, rect, contact = (np.asarray(v, dtype=float) for v in (msg.bbox, msg.rect, msg.contact))
    mask = None
    if len(msg.mask.data):
        m = msg.mask
        if m.encoding != "mono8" or m.step < m.width or len(m.data) < m.step * m.height:
            raise InvalidInputError(f"a grounding mask must be mono8 {m.width}x{m.height}, got {m.encoding!r} "
                                    f"with step {m.step} and {len(m.data)} bytes")
        mask = np.frombuffer(bytes(m.data), np.uint8)[: m.step * m.height].reshape(m.height, m.step)[:, : m.width] > 0
    return Grounding(
        box=BoundingBox(*bbox) if bbox.any() else None,
        mask=mask,
        rect=RectGrasp(*rect, jaw=float(msg.rect_jaw)) if rect.any() else None,
        contact=ContactPair(*contact) if contact.any() else None,
        agreement=float(msg.agreement), **common)


def refuse_reference(backend_name: str, reference: np.ndarray | None) -> None:
    """:class:`~realvlg.errors.InvalidInputError` when a backend that takes one image gets a
    ``reference``: the request cannot be answered as asked (nothing is guessed)."""
    if reference is not None:
        raise InvalidInputError(f"the {backend_name} grounding backend takes one image: it cannot ground with a "
                                "reference image (UniVG-R1's multi-image form needs a VLM backend, openai or "
                                "transformers)")
