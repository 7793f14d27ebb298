"""Evaluate a predictions file against RealVLG-11B annotations (the ``realvlg eval`` core).

Predictions are JSON lines, one per sample::

    {"image_name": ..., "object_id": ..., "answer": "<think>…</think><answer>…</answer>"}
    {"image_name": ..., "object_id": ..., "bbox": [x1, y1, x2, y2]}          # or parsed values:
    {"image_name": ..., "object_id": ..., "grasp": [x, y, theta_deg, width]}
    {"image_name": ..., "object_id": ..., "contact": [x1, y1, x2, y2]}
    {"image_name": ..., "object_id": ..., "answer": ..., "mask_path": "masks/0001.png"}  # seg

in pixels of the original image. ``"answer"`` wins over parsed values when both are present. Seg
needs a ``mask_path`` (a PNG, relative to the predictions file, thresholded as PySODMetrics
prepares maps) — the box→SAM2 step happens before evaluation. Where image names repeat across
scenes, predictions also carry ``"image_path"`` to tell them apart.

A sample without a prediction counts as invalid (reason ``missing``); predictions that match no
sample are counted and reported, not scored.
"""

from __future__ import annotations

import json
import pathlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from tqdm import tqdm

from realvlg.data.realvlg11b import OTHER_SPLIT, Sample
from realvlg.errors import InvalidInputError
from realvlg.metrics.masks import mask_scores, realvlg_r1_mask_scores
from realvlg.metrics.protocols import (
    METRIC_KEYS,
    Protocol,
    check_values,
    realvlg_r1_values,
    score_boxes,
    score_contacts,
    score_grasps,
    standard_values,
)

VALUE_FIELD = {"bbox": "bbox", "seg": "bbox", "grasp": "grasp", "contact": "contact"}


def load_predictions(path) -> list[dict]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    path = pathlib.Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read predictions {path}: {exc}") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or "image_name" not in record or "object_id" not in record:
            raise InvalidInputError(f"{path}:{number}: a prediction needs image_name and object_id")
        problem = _field_type_problem(record)
        if problem:
            raise InvalidInputError(f"{path}:{number}: {problem}")
        out.append(record)
    return out


_NUMBERS = {"bbox": 4, "grasp": 4, "contact": 4}


def _field_type_problem(record: dict) -> str:
    """Why a prediction's fields have the wrong types ("" when they are right)."""
    if not isinstance(record["image_name"], str):
        return f"image_name must be a string, got {type(record['image_name']).__name__}"
    if isinstance(record["object_id"], bool) or not isinstance(record["object_id"], (str, int)):
        return f"object_id must be a string or an integer, got {type(record['object_id']).__name__}"
    for key in ("answer", "mask_path"):
        if key in record and record[key] is not None and not isinstance(record[key], str):
            return f"{key} must be a string, got {type(record[key]).__name__}"
    for key, n in _NUMBERS.items():
        value = record.get(key)
        if value is not None and (not isinstance(value, list) or len(value) != n or
                                  not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            return f"{key} must be a list of {n} numbers, got {value!r}"
    return ""


def needed_ground_truth(task: str, sample: Sample, protocol: Protocol, data_root: pathlib.Path | None) -> bool:
    """Whether the sample enters the task's evaluation under the protocol (see protocols)."""
    if protocol.official and len(sample.grasps) == 0:
        return False
    if task == "bbox":
        return sample.bbox is not None
    if task == "seg":
        if not sample.mask_path or (protocol.official and sample.bbox is None):  # the official code wants both
            return False
        return data_root is None or (data_root / sample.mask_path).is_file()
    if task == "grasp":
        return len(sample.grasps) > 0
    return protocol.official or len(sample.contact_points) > 0


@dataclass
class Evaluation:
    """Per-sample outcome of one task: ``splits`` (N,) names, ``valid`` (N,) bool, ``reasons``
    (N,) invalid codes ("" when valid), and ``scores`` {key: (N,) float, NaN where invalid}."""

    task: str
    protocol: Protocol
    samples: list[Sample]
    splits: np.ndarray
    valid: np.ndarray
    reasons: np.ndarray
    scores: dict[str, np.ndarray]
    skipped: int = 0
    unmatched_predictions: int = 0
    duplicate_predictions: int = 0
    extras: dict = field(default_factory=dict)

    def summary(self, idx: np.ndarray | None = None) -> dict[str, float | None]:
        """The task's metrics over ``idx`` (all samples by default): means over valid outputs."""
        sel = np.arange(len(self.samples)) if idx is None else idx
        valid = self.valid[sel]
        out: dict[str, float | None] = {}
        for key in METRIC_KEYS[self.task]:
            if key == "validity":
                out[key] = float(valid.mean()) if sel.size else None
                continue
            values = self.scores[_SCORE_OF.get(key, key)][sel][valid]
            out[key] = float(values.mean()) if values.size else self._nothing_valid(sel.size)
        return out

    def _nothing_valid(self, n: int) -> float | None:
        """A metric's value over ``n`` samples of which none is valid: None (no value) under
        standard. Under realvlg-r1, 0 as the official grasp, contact and seg code reports, but
        None for bbox when ``n > 0``: the official bbox code averages the empty list of valid
        scores (its guard tests the list of all results), which gives NaN, written as null."""
        if self.protocol.official and not (self.task == "bbox" and n > 0):
            return 0.0
        return None

    def _notes(self, counts: dict[str, dict[str, int]]) -> list[str]:
        """Sentences for people on figures that need explaining: the realvlg-r1 bbox figures that
        are null because no answer of the group (``counts``: n and valid per group) is valid."""
        if not (self.protocol.official and self.task == "bbox"):
            return []
        return [f"{name}: no valid answer, so the bbox metrics are null (NaN in the official code, "
                "which averages the empty list of valid scores)"
                for name, c in counts.items() if c["n"] and not c["valid"]]

    def results(self) -> dict:
        """The ``results.json`` document."""
        names = [s for s in dict.fromkeys(self.splits.tolist())]
        order = [s for s in ("seen", "similar", "novel") if s in names] + \
            sorted(s for s in names if s not in ("seen", "similar", "novel", OTHER_SPLIT)) + \
            ([OTHER_SPLIT] if OTHER_SPLIT in names else [])
        counts = {"overall": {"n": len(self.samples), "valid": int(self.valid.sum())}}
        splits = {}
        for name in order:
            idx = np.flatnonzero(self.splits == name)
            splits[name] = self.summary(idx)
            counts[name] = {"n": int(idx.size), "valid": int(self.valid[idx].sum())}
        return {
            "task": self.task, "protocol": self.protocol.name, "n": len(self.samples),
            "overall": self.summary(), "splits": splits, "counts": counts,
            "invalid_reasons": dict(Counter(r for r in self.reasons.tolist() if r)),
            "skipped_without_ground_truth": self.skipped,
            "unmatched_predictions": self.unmatched_predictions,
            "duplicate_predictions": self.duplicate_predictions,
            "notes": self._notes(counts),
            **self.extras,
        }


    def per_sample(self):
        """One JSON-ready record per evaluated sample: its key, split, validity, invalid reason and
        scores (None where invalid)."""
        for i, s in enumerate(self.samples):
            yield {"image_name": s.image_name, "image_path": s.image_path, "object_id": s.object_id,
                   "split": self.splits[i], "valid": bool(self.valid[i]), "reason": self.reasons[i] or None,
                   **{k: (float(v[i]) if self.valid[i] else None) for k, v in self.scores.items()}}


_SCORE_OF = {"miou": "iou", "gacc": "correct"}


def _index(samples: list[Sample]) -> tuple[dict, dict, set]:
    by_name, by_path, ambiguous = {}, {}, set()
    for i, s in enumerate(samples):
        if s.key in by_name:
            ambiguous.add(s.key)
        by_name[s.key] = i
        by_path[(s.image_path, s.object_id)] = i
    return by_name, by_path, ambiguous


def match_predictions(samples: list[Sample], predictions: list[dict]) -> tuple[list[dict | None], int, int]:
    """The prediction of each sample (None when missing), the number of predictions that match
    no sample, and the number of repeated predictions (the last one wins)."""
    by_name, by_path, ambiguous = _index(samples)
    out: list[dict | None] = [None] * len(samples)
    unmatched = duplicates = 0
    for p in predictions:
        key = (str(p["image_name"]), str(p["object_id"]))
        i = by_path.get((str(p["image_path"]), key[1])) if "image_path" in p else None
        if i is None:
            if key in ambiguous:
                raise InvalidInputError(f"image_name/object_id {key} names several samples; "
                                        "give the predictions their image_path too")
            i = by_name.get(key)
        if i is None:
            unmatched += 1
            continue
        duplicates += out[i] is not None
        out[i] = p
    return out, unmatched, duplicates


def prediction_values(task: str, record: dict | None, protocol: Protocol,
                      image_size: tuple[int, int] | None) -> list[float] | str:
    """The four numbers of one prediction under the protocol, or its invalid reason code."""
    if record is None:
        return "missing"
    if "answer" in record:
        text = record["answer"] if isinstance(record["answer"], str) else ""
        if protocol.official:
            values = realvlg_r1_values(task, text)
            return "malformed" if values is None else values
        return standard_values(task, text, image_size)
    field_name = VALUE_FIELD[task]
    if field_name not in record:
        if task == "seg" and "mask_path" in record:
            return []  # a mask alone is a valid seg output
        return "no_answer"
    return check_values(task, record[field_name], protocol, image_size)


def read_mask(path: pathlib.Path) -> np.ndarray:
    """A mask PNG as grayscale uint8 (``PIL.Image.convert("L")``)."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def evaluate(task: str, samples: list[Sample], predictions: list[dict], protocol: Protocol, *,
             data_root=None, predictions_dir=None, image_size: tuple[int, int] | None = None,
             progress: bool = True) -> Evaluation:
    """Score ``predictions`` for ``task`` against ``samples`` under ``protocol``.

    ``data_root`` resolves the annotations' ``mask_path``; ``predictions_dir`` the predictions'
    ``mask_path``; ``image_size`` (W, H) enables the out-of-image check (standard protocol).
    """
    if task not in METRIC_KEYS:
        raise InvalidInputError(f"unknown task {task!r}; expected one of {tuple(METRIC_KEYS)}")
    data_root = pathlib.Path(data_root) if data_root is not None else None
    kept = [s for s in samples if needed_ground_truth(task, s, protocol, data_root)]
    skipped = len(samples) - len(kept)
    matched, unmatched, duplicates = match_predictions(kept, predictions)
    n = len(kept)
    parsed = [prediction_values(task, p, protocol, image_size) for p in matched]
    valid = np.array([not isinstance(v, str) for v in parsed], dtype=bool)
    reasons = np.array([v if isinstance(v, str) else "" for v in parsed], dtype=object)
    keys = [k for k in METRIC_KEYS[task] if k != "validity"]
    scores = {_SCORE_OF.get(k, k): np.full(n, np.nan) for k in keys}
    idx = np.flatnonzero(valid)

    if task == "bbox" and idx.size:
        r = score_boxes(np.array([parsed[i] for i in idx]), np.stack([kept[i].bbox for i in idx]), protocol)
        for k in scores:
            scores[k][idx] = r[k]
    elif task in ("grasp", "contact") and idx.size:
        gts = [kept[i].grasps.reshape(-1, 8) if task == "grasp" else kept[i].contact_points for i in idx]
        owner = np.repeat(np.arange(idx.size), [len(g) for g in gts])
        gt = np.concatenate(gts) if gts else np.zeros((0, 8 if task == "grasp" else 4))
        pred = np.array([parsed[i] for i in idx])
        score = score_grasps if task == "grasp" else score_contacts
        r = score(pred, gt, owner, protocol)
        scores["iou"][idx] = r["iou"]
        scores["correct"][idx] = r["correct"]
    elif task == "seg":
        _score_masks(kept, matched, valid, reasons, scores, protocol, data_root, predictions_dir, progress)

    return Evaluation(task, protocol, kept, np.array([s.split for s in kept], dtype=object), valid, reasons,
                      scores, skipped, unmatched, duplicates)


def _score_masks(samples, matched, valid, reasons, scores, protocol, data_root, predictions_dir, progress) -> None:
    if valid.any() and not any(p is not None and "mask_path" in p for p in matched):
        raise InvalidInputError("seg predictions need a mask_path (run SAM2 on the predicted boxes first)")
    score = realvlg_r1_mask_scores if protocol.official else mask_scores
    root = data_root or pathlib.Path(".")
    pred_root = pathlib.Path(predictions_dir) if predictions_dir is not None else pathlib.Path(".")
    for i in tqdm(np.flatnonzero(valid), desc="seg masks", unit="mask", disable=not progress):
        record = matched[i]
        if "mask_path" not in record:
            valid[i], reasons[i] = False, "no_mask"
            continue
        path = pathlib.Path(record["mask_path"])
        path = path if path.is_absolute() else pred_root / path
        if not path.is_file():
            valid[i], reasons[i] = False, "missing_mask"
            continue
        gt = read_mask(root / samples[i].mask_path) > 128
        pred = read_mask(path)
        if pred.shape != gt.shape:
            valid[i], reasons[i] = False, "mask_shape"
            continue
        for k, v in score(pred, gt).items():
            scores[k][i] = v
