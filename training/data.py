"""Annotations → TRL conversational datasets with an image column.

Sources:

* RealVLG-11B annotations (:func:`realvlg.data.realvlg11b.load_annotations`: one JSON list, or a
  dataset root in the official ``metadata/<camera>/scene_*/0000.json`` layout).
* RefCOCO-style JSON: a list of ``{"image" | "file_name", "bbox": [x, y, w, h] (COCO, px),
  "sentences": [...] | "caption" | "expression", "id"?}`` records — boxes become
  ``[x1, y1, x2, y2]``, each sentence one sample (bbox/seg tasks only).

Every row (see :func:`build_rows`) holds

* ``prompt``: one user turn ``[{"type": "image"}, {"type": "text", "text": <paper prompt>}]``
  (:func:`realvlg.grounding.prompts.build_prompt`, §8 prompts),
* ``image``: the image path (cast to ``datasets.Image`` when the dataset is built),
* ``task`` and ``annotation``: the ground truth as JSON text (``bbox``, ``grasps``,
  ``contact_points``, ``mask_path``, ``image_size`` [W, H], ``root``) for the rewards,
* ``completion``: the reference answer ``<think>…</think>\\n<answer>…</answer>`` for SFT.

Subsampling is deterministic and order-free: a sample is kept when the SHA-256 of
``seed:image_name:object_id`` falls below ``fraction`` (the paper trains on 10 %). The data hash
in a model's manifest is the SHA-256 of the rows' canonical JSON (prompts, paths, annotations) —
images are named by path, not hashed byte by byte.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from dataclasses import dataclass

import numpy as np

from realvlg.data.realvlg11b import Sample, load_annotations
from realvlg.errors import InvalidInputError
from realvlg.grounding.backend import TASKS
from realvlg.grounding.prompts import build_prompt
from training.rewards import grasp_parameters

SOURCES = ("realvlg11b", "refcoco")
DEFAULT_THINK = "The instruction names one object; I locate it in the image."


@dataclass(frozen=True)
class DataConfig:
    """Where the annotations are and which part of them to use."""

    annotations: str
    source: str = "realvlg11b"
    root: str = ""              # images and masks are relative to this (default: the annotations' folder)
    fraction: float = 0.1
    seed: int = 0
    prompt_style: str = "realvlg-r1"
    max_samples: int = 0        # 0 = all kept samples
    think: str = DEFAULT_THINK  # the <think> text of the SFT reference answers

    @classmethod
    def from_dict(cls, data: dict) -> "DataConfig":
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInputError(f"unknown data settings {sorted(unknown)}")
        return cls(**data)


def keep(key: str, fraction: float, seed: int) -> bool:
    """Deterministic membership of ``key`` in a ``fraction`` subsample."""
    if fraction >= 1.0:
        return True
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < fraction


def _fmt(v: float) -> str:
    return str(int(round(v)))


def reference_answer(task: str, sample: Sample, think: str = DEFAULT_THINK) -> str | None:
    """The first ground truth written as the task's answer (integer pixels, θ in degrees), or
    None when the sample has none for the task."""
    if task in ("bbox", "seg"):
        if sample.bbox is None:
            return None
        x1, y1, x2, y2 = sample.bbox
        content = f"({_fmt(x1)},{_fmt(y1)}), ({_fmt(x2)},{_fmt(y2)})"
    elif task == "grasp":
        if not len(sample.grasps):
            return None
        x, y, theta, width = grasp_parameters(sample.grasps[:1].reshape(1, 8))[0]
        content = f"({_fmt(x)}, {_fmt(y)}, {_fmt(theta)}, {_fmt(width)})"
    else:
        if not len(sample.contact_points):
            return None
        x1, y1, x2, y2 = sample.contact_points[0]
        content = f"({_fmt(x1)},{_fmt(y1)}),({_fmt(x2)},{_fmt(y2)})"
    return f"<think> {think} </think>\n<answer>{content}</answer>"


def _has_truth(task: str, sample: Sample) -> bool:
    if task in ("bbox", "seg"):
        return sample.bbox is not None and (task == "bbox" or bool(sample.mask_path))
    return bool(len(sample.grasps) if task == "grasp" else len(sample.contact_points))


def refcoco_samples(path: pathlib.Path) -> list[Sample]:
    """RefCOCO-style records → samples (one per referring sentence)."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None
    if not isinstance(records, list):
        raise InvalidInputError(f"{path}: expected a JSON list of records")
    samples = []
    for i, r in enumerate(records):
        image = r.get("image") or r.get("file_name")
        box = r.get("bbox")
        if not image or not box or len(box) != 4:
            raise InvalidInputError(f"{path} item {i}: needs image/file_name and bbox [x, y, w, h]")
        sentences = r.get("sentences") or [r.get("caption") or r.get("expression") or ""]
        x, y, w, h = map(float, box)
        for j, sentence in enumerate(sentences):
            text = sentence.get("sent", "") if isinstance(sentence, dict) else str(sentence)
            samples.append(Sample(image_name=str(image), object_id=f"{r.get('id', i)}-{j}", image_path=str(image),
                                  description=text, mask_path=str(r.get("mask_path") or ""),
                                  bbox=np.array([x, y, x + w, y + h])))
    return samples


def load_samples(config: DataConfig) -> list[Sample]:
    path = pathlib.Path(config.annotations)
    if config.source == "realvlg11b":
        return load_annotations(path)
    if config.source == "refcoco":
        return refcoco_samples(path)
    raise InvalidInputError(f"unknown data source {config.source!r}; expected one of {SOURCES}")


def _image_size(path: pathlib.Path) -> list[int]:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return list(image.size)
    except OSError as exc:
        raise InvalidInputError(f"cannot read the image {path}: {exc}") from None


def build_rows(task: str, config: DataConfig) -> list[dict]:
    """The rows for ``task`` (see the module docstring), deterministic for a given config."""
    if task not in TASKS:
        raise InvalidInputError(f"unknown task {task!r}; expected one of {TASKS}")
    root = pathlib.Path(config.root) if config.root else pathlib.Path(config.annotations).resolve().parent
    rows = []
    for s in load_samples(config):
        if not (_has_truth(task, s) and s.description and keep(f"{s.image_name}:{s.object_id}", config.fraction,
                                                                config.seed)):
            continue
        image_path = root / (s.image_path or s.image_name)
        annotation = {"bbox": None if s.bbox is None else s.bbox.tolist(),
                      "grasps": s.grasps.reshape(-1, 8).tolist(), "contact_points": s.contact_points.tolist(),
                      "mask_path": s.mask_path, "image_size": _image_size(image_path), "root": str(root)}
        rows.append({"prompt": [{"role": "user", "content": [
                         {"type": "image"}, {"type": "text", "text": build_prompt(task, s.description,
                                                                                  config.prompt_style)}]}],
                     "completion": [{"role": "assistant", "content": [
                         {"type": "text", "text": reference_answer(task, s, config.think)}]}],
                     "image": str(image_path), "task": task, "annotation": json.dumps(annotation)})
        if config.max_samples and len(rows) >= config.max_samples:
            break
    if not rows:
        raise InvalidInputError(f"no {task} samples in {config.annotations} (fraction {config.fraction})")
    return rows


def data_hash(rows: list[dict]) -> str:
    """SHA-256 of the rows' canonical JSON."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def to_dataset(rows: list[dict]):
    """A ``datasets.Dataset`` with ``image`` decoded as PIL images (TRL's image column)."""
    from datasets import Dataset, Image

    return Dataset.from_list(rows).cast_column("image", Image())
