"""Inference for the benchmark: run a grounding backend over annotated samples and append one
prediction per sample to a JSON-lines file, resumable (samples already in the file are skipped).

Each line holds ``image_name``, ``object_id``, ``raw_answer`` and, for a valid answer, its values
in the ORIGINAL image's pixels (the backend has mapped them from the model's frame): ``bbox``
``[x1, y1, x2, y2]``, ``grasp`` ``[x, y, theta_deg, width]``, ``contact`` ``[x1, y1, x2, y2]``, or
``mask_path`` (a PNG written beside the file) for seg. An invalid answer is kept as ``answer`` (the
raw text), so the evaluation counts it against validity with the same parser.
"""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
from PIL import Image
from tqdm import tqdm

from realvlg.data.realvlg11b import Sample
from realvlg.errors import InvalidInputError
from realvlg.grounding.backend import GroundingBackend, GroundingResult
from realvlg.io import read_depth


def prediction_record(sample: Sample, task: str, result: GroundingResult, mask_dir: pathlib.Path) -> dict:
    record = {"image_name": sample.image_name, "object_id": sample.object_id, "raw_answer": result.raw_answer}
    if not result.valid:
        record["answer"] = result.raw_answer
        record["invalid_reason"] = result.reason.value
        return record
    if task == "bbox":
        record["bbox"] = result.box.as_array().tolist()
    elif task == "seg":
        mask_dir.mkdir(parents=True, exist_ok=True)
        path = mask_dir / f"{pathlib.Path(sample.image_name).stem}_{sample.object_id}.png"
        Image.fromarray(np.asarray(result.mask, bool).astype(np.uint8) * 255).save(path)
        record["mask_path"] = str(path.relative_to(mask_dir.parent))
        record["bbox"] = result.box.as_array().tolist()
    elif task == "grasp":
        r = result.rect
        record["grasp"] = [r.x, r.y, math.degrees(r.theta), r.width]
    else:
        record["contact"] = result.contact.points.ravel().tolist()
    return record


def run_inference(backend: GroundingBackend, task: str, samples: list[Sample], predictions: pathlib.Path,
                  data_root: pathlib.Path, progress: bool = True) -> int:
    """Append predictions for the samples not yet in ``predictions``; returns how many were added."""
    done = set()
    if predictions.exists():
        for line in predictions.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                done.add((record["image_name"], str(record["object_id"])))
    todo = [s for s in samples if (s.image_name, str(s.object_id)) not in done]
    mask_dir = predictions.parent / f"{predictions.stem}_masks"
    predictions.parent.mkdir(parents=True, exist_ok=True)
    with predictions.open("a", encoding="utf-8") as out:
        for sample in tqdm(todo, desc=f"inference {task}", unit="sample", disable=not progress):
            image_path = data_root / sample.image_path
            try:
                image = np.asarray(Image.open(image_path).convert("RGB"))
            except OSError as exc:
                raise InvalidInputError(f"cannot read {image_path} for {sample.image_name}: {exc}") from None
            depth = read_depth(data_root / sample.depth_path) if sample.depth_path else None
            result = backend.ground(task, image, sample.description, depth=depth)
            out.write(json.dumps(prediction_record(sample, task, result, mask_dir)) + "\n")
            out.flush()  # resumable: every answer is on disk before the next request
    return len(todo)
