"""RealVLG-11B annotations: loading and the Seen / Similar / Novel split.

An annotation file is a JSON list of objects (one per object instance in an image)::

    {"image_name", "image_path", "object_id", "mask_path", "description", "label",
     "bbox": [x1, y1, x2, y2],
     "grasps": [[x0, y0, x1, y1, x2, y2, x3, y3], ...],
     "contact_points": [[x1, y1, x2, y2], ...]}

in pixels of the original image (x right, y down). A grasp polygon opens along corner0→corner1
(see :mod:`realvlg.geometry.grasps`). Paths are relative to the dataset root. An optional
``depth_path`` (an aligned depth PNG, uint16 millimetres — realvlg's generated data has one) is
handed to the backend as the capture's depth during ``realvlg eval --backend``.

Splits follow the official evaluation code (lif314/RealVLG-R1 ``evaluation/dataset.py``):
GraspNet scenes 100–129 are *seen*, 130–159 *similar*, 160–189 *novel*; the scene number is read
from ``scene_NNNN`` in the image path (or name, or mask path). Samples outside every range get
the split ``"other"``; they count in the overall figures only. The official code reads one frame
per scene, ``<root>/metadata/<camera>/scene_NNNN/0000.json``; :func:`load_annotations` accepts
that layout (a dataset root) as well as a single JSON file.
"""

from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass, field

import numpy as np

from realvlg.errors import InvalidInputError

DEFAULT_SPLITS: dict[str, range] = {
    "seen": range(100, 130),
    "similar": range(130, 160),
    "novel": range(160, 190),
}
OTHER_SPLIT = "other"
_SCENE_RE = re.compile(r"scene_(\d+)")


@dataclass(frozen=True)
class Sample:
    """One annotated object instance. ``grasps`` (K, 4, 2) and ``contact_points`` (M, 4) are
    float arrays (possibly empty); ``bbox`` is (4,) or None when absent."""

    image_name: str
    object_id: str
    image_path: str = ""
    mask_path: str = ""
    depth_path: str = ""
    description: str = ""
    label: str = ""
    bbox: np.ndarray | None = None
    grasps: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 2)))
    contact_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    scene: int | None = None
    split: str = OTHER_SPLIT

    @property
    def key(self) -> tuple[str, str]:
        return self.image_name, self.object_id


def parse_splits(text: str) -> dict[str, range]:
    """``"seen=100-129,similar=130-159,novel=160-189"`` → split ranges (inclusive bounds)."""
    splits = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"([A-Za-z_][\w-]*)=(\d+)-(\d+)", part)
        if not match:
            raise InvalidInputError(f"split {part!r} is not NAME=FIRST-LAST (scene numbers)")
        name, lo, hi = match.group(1), int(match.group(2)), int(match.group(3))
        if hi < lo:
            raise InvalidInputError(f"split {part!r} has its last scene before its first")
        splits[name] = range(lo, hi + 1)
    if not splits:
        raise InvalidInputError("no split given")
    return splits


def scene_of(record: dict) -> int | None:
    """The GraspNet scene number of an annotation record, or None."""
    for key in ("image_path", "image_name", "mask_path"):
        match = _SCENE_RE.search(str(record.get(key) or ""))
        if match:
            return int(match.group(1))
    return None


def split_of(scene: int | None, splits: dict[str, range]) -> str:
    if scene is not None:
        for name, scenes in splits.items():
            if scene in scenes:
                return name
    return OTHER_SPLIT


def _array(record: dict, key: str, width: int, where: str) -> np.ndarray:
    rows = record.get(key) or []
    try:
        a = np.asarray(rows, dtype=float).reshape(-1, width)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where}: {key} must be a list of {width}-number lists ({exc})") from None
    return a


def sample_from_record(record: dict, splits: dict[str, range] = DEFAULT_SPLITS, where: str = "") -> Sample:
    """One :class:`Sample` from one annotation record."""
    if not isinstance(record, dict) or "image_name" not in record or "object_id" not in record:
        raise InvalidInputError(f"{where}: an annotation needs at least image_name and object_id")
    bbox = record.get("bbox")
    if bbox is not None and len(bbox) == 0:
        bbox = None
    if bbox is not None:
        bbox = _array({"b": bbox}, "b", 4, where)[0] if len(bbox) == 4 else None
    scene = scene_of(record)
    return Sample(
        image_name=str(record["image_name"]), object_id=str(record["object_id"]),
        image_path=str(record.get("image_path") or ""), mask_path=str(record.get("mask_path") or ""),
        depth_path=str(record.get("depth_path") or ""),
        description=str(record.get("description") or ""), label=str(record.get("label") or ""),
        bbox=bbox, grasps=_array(record, "grasps", 8, where).reshape(-1, 4, 2),
        contact_points=_array(record, "contact_points", 4, where), scene=scene, split=split_of(scene, splits))


def annotation_files(root: pathlib.Path, camera: str = "kinect", frame: str = "0000") -> list[pathlib.Path]:
    """The official layout's files: ``root/metadata/<camera>/scene_NNNN/<frame>.json``, by scene."""
    return sorted((root / "metadata" / camera).glob(f"scene_*/{frame}.json"))


def load_annotations(path, splits: dict[str, range] = DEFAULT_SPLITS, *, camera: str = "kinect",
                     frame: str = "0000") -> list[Sample]:
    """Samples from a JSON annotation file, or from a dataset root in the official layout."""
    path = pathlib.Path(path)
    if path.is_dir():
        files = annotation_files(path, camera, frame)
        if not files:
            raise InvalidInputError(f"{path} holds no metadata/{camera}/scene_*/{frame}.json")
    elif path.is_file():
        files = [path]
    else:
        raise InvalidInputError(f"annotations not found: {path}")
    samples = []
    for file in files:
        try:
            records = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"cannot read annotations {file}: {exc}") from None
        if not isinstance(records, list):
            raise InvalidInputError(f"{file}: annotations must be a JSON list of objects")
        samples.extend(sample_from_record(r, splits, f"{file} item {i}") for i, r in enumerate(records))
    return samples
