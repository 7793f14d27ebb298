"""The SIMULATION ORACLE: exact answers read from the simulator's ground truth.

It tests the pipeline (capture → lift → execute) in simulation without a model: the instruction
is resolved against the objects of the scene by name, synonym, colour word and part name, and the
answer comes from the simulator — the object's segmentation for ``bbox``/``seg`` and the object's
ground-truth part grasp (:func:`realvlg.objects.ground_truth_grasp`), projected into the
image, for ``contact``/``grasp``. It never looks at pixels, so it says nothing about how a model
would do, and it exists only where a simulator does: never a real-robot backend.

Resolution: every object of the scene whose name or synonym occurs in the instruction is a
candidate; colour words narrow candidates down; a part name (``handle``, ``cap``, …) picks that
part's grasp. No candidate → ``not_found``; several left → ``not_found`` saying the instruction is
ambiguous; the object out of view → ``not_found``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict

import numpy as np

from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair
from realvlg.geometry.projection import project_points
from realvlg.grounding.backend import Grounding, GroundingResult, InvalidGrounding, InvalidReason
from realvlg.objects import OBJECTS, ObjectSpec, ground_truth_grasp
from realvlg.observation import RGBDFrame

MIN_VISIBLE_PIXELS = 20


def _mentions(text: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase.lower())}s?\b", text) is not None


class SimOracle:
    """Ground an instruction on a simulator's rendered frame (see the module doc)."""

    name = "sim_oracle"

    def __init__(self, objects: dict[str, ObjectSpec] = OBJECTS):
        self.objects = objects

    def resolve(self, instruction: str, present: tuple[str, ...]) -> tuple[str, str | None] | str:
        """``(object, part or None)`` named by ``instruction`` among ``present``, or the reason why
        there is none."""
        text = instruction.lower()
        candidates = [n for n in present if any(_mentions(text, w) for w in self.objects[n].words)]
        if not candidates:
            return f"nothing in the scene ({', '.join(present)}) matches {instruction!r}"
        coloured = [n for n in candidates if any(_mentions(text, c) for c in self.objects[n].colors)]
        if coloured:
            candidates = coloured
        if len(candidates) > 1:
            return f"{instruction!r} is ambiguous: it names {', '.join(candidates)}"
        name = candidates[0]
        parts = [g.part for g in self.objects[name].grasps]
        part = next((p for p in sorted(parts) if _mentions(text, p)), None)
        if part is None and "body" in parts:
            part = "body"  # no part named: the object as a whole
        return name, part

    def ground(self, task: str, frame: RGBDFrame, object_poses: dict[str, np.ndarray], instruction: str,
               present: tuple[str, ...] | None = None) -> GroundingResult:
        """The answer for ``instruction`` on a rendered ``frame`` (its labels and camera pose) and the
        ``object_poses`` (base←object) of the same instant; ``present`` are the objects of the scene
        (default: all of the frame's; a world with parked objects passes its active ones)."""
        def not_found(message: str) -> InvalidGrounding:
            return InvalidGrounding(task, InvalidReason.NOT_FOUND, message, backend=self.name)

        resolved = self.resolve(instruction, frame.labels.object_names if present is None else present)
        if isinstance(resolved, str):
            return not_found(resolved)
        name, part = resolved
        mask = frame.labels.object_mask(name)
        if np.count_nonzero(mask) < MIN_VISIBLE_PIXELS:
            return not_found(f"the {name} is not in the camera's view")
        ys, xs = np.nonzero(mask)
        box = BoundingBox(xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5)
        if task in ("bbox", "seg"):
            return Grounding(task, box=box, mask=mask if task == "seg" else None, backend=self.name, model="ground-truth")
        grasp = ground_truth_grasp(self.objects[name], object_poses[name], part)
        camera_from_base = np.linalg.inv(frame.base_from_camera.matrix)
        ends = grasp.position + np.outer([-0.5, 0.5], grasp.closing) * grasp.width
        ends_camera = ends @ camera_from_base[:3, :3].T + camera_from_base[:3, 3]
        if not (ends_camera[:, 2] > 0).all():
            return not_found(f"the {name}'s grasp is behind the camera")
        (u1, v1), (u2, v2) = project_points(ends_camera, frame.intrinsics)
        if not frame.intrinsics.contains([u1, u2], [v1, v2]).all():
            return not_found(f"the {name}'s grasp lies outside the image")
        pair = ContactPair(u1, v1, u2, v2)
        if task == "contact":
            return Grounding(task, box=box, contact=pair, backend=self.name, model="ground-truth")
        return Grounding(task, box=box, rect=pair.to_rect(), backend=self.name, model="ground-truth")


def image_key(rgb: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(rgb).tobytes(), digest_size=16).hexdigest()


class RecentFrames:
    """The simulator's last ``size`` renders (frame + object poses of the same instant) by image
    content: the oracle answers for exactly the image it is asked about, or not at all."""

    def __init__(self, size: int = 30):
        self.size = size
        self._frames: OrderedDict[str, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, frame: RGBDFrame, object_poses: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._frames[image_key(frame.color)] = frame, object_poses
            while len(self._frames) > self.size:
                self._frames.popitem(last=False)

    def get(self, rgb: np.ndarray) -> tuple[RGBDFrame, dict[str, np.ndarray]] | None:
        with self._lock:
            return self._frames.get(image_key(rgb))
