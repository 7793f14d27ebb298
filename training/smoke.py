"""Smoke-scale material built offline: synthetic RealVLG-11B samples and a tiny Qwen2.5-VL.

:func:`make_samples` draws ``n`` 112×84 scenes (multiples of 28: the Qwen2.5-VL resize is the
identity, so answers are in original pixels) with one coloured block each, and writes images,
masks and ``annotations.json`` in the RealVLG-11B format (bbox, grasps as 8-number polygons
opening along corner0→corner1, contact_points, mask_path; scene names in the seen split).
:func:`build_model` builds the tiny random Qwen2.5-VL of :mod:`training.tiny_model`
and fits it on the reference answers, so sampling produces parseable answers whose rewards vary.

    python -m training.smoke /tmp/smoke     # writes /tmp/smoke/{data,tiny-qwen} and prints --set flags
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
from PIL import Image

from training.data import DataConfig, build_rows

WIDTH, HEIGHT = 112, 84
THINK = "block"  # short reference reasoning: quick to memorise
COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 80, 220), "yellow": (230, 210, 40)}


def make_samples(folder: str | pathlib.Path, n: int = 4, seed: int = 0) -> pathlib.Path:
    """Write ``n`` synthetic samples under ``folder``; returns the annotations file."""
    folder = pathlib.Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    names = list(COLOURS)
    records = []
    for i in range(n):
        colour = names[i % len(names)]
        w, h = int(rng.integers(24, 40)), int(rng.integers(16, 28))
        x1, y1 = int(rng.integers(4, WIDTH - w - 4)), int(rng.integers(4, HEIGHT - h - 4))
        x2, y2 = x1 + w, y1 + h
        image = np.full((HEIGHT, WIDTH, 3), 235, dtype=np.uint8)
        image[y1:y2, x1:x2] = COLOURS[colour]
        mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        mask[y1:y2, x1:x2] = 255
        stem = f"scene_{100 + i:04d}_0000"
        Image.fromarray(image).save(folder / "images" / f"{stem}.png")
        Image.fromarray(mask).save(folder / "masks" / f"{stem}.png")
        cy, jaw = (y1 + y2) / 2, 8.0
        # a grasp across the block's width: opening along +x, corner0→corner1
        grasp = [x1 - 2, cy - jaw / 2, x2 + 2, cy - jaw / 2, x2 + 2, cy + jaw / 2, x1 - 2, cy + jaw / 2]
        records.append({
            "image_name": f"{stem}.png", "image_path": f"images/{stem}.png", "object_id": str(i),
            "mask_path": f"masks/{stem}.png", "label": f"{colour} block",
            "description": f"the {colour} block", "bbox": [x1, y1, x2, y2], "grasps": [grasp],
            "contact_points": [[x1, cy, x2, cy]]})
    path = folder / "annotations.json"
    path.write_text(json.dumps(records, indent=1))
    return path


def build_model(folder: str | pathlib.Path, annotations: str | pathlib.Path, tasks=("bbox",),
                steps: int = 150) -> pathlib.Path:
    """A tiny Qwen2.5-VL fitted on the reference answers of ``tasks`` (a few seconds on a CPU)."""
    from training.tiny_model import TinyConfig, build_tiny_qwen2_5_vl

    examples = []
    for task in tasks:
        for row in build_rows(task, DataConfig(annotations=str(annotations), fraction=1.0, think=THINK)):
            image = np.asarray(Image.open(row["image"]).convert("RGB"))
            examples.append((image, row["prompt"][0]["content"][1]["text"], row["completion"][0]["content"][0]["text"]))
    return build_tiny_qwen2_5_vl(folder, TinyConfig(max_pixels=WIDTH * HEIGHT), memorize=examples, steps=steps)


def main(argv: list[str] | None = None) -> int:
    out = pathlib.Path((argv or sys.argv[1:] or ["runs/smoke"])[0])
    annotations = make_samples(out / "data")
    model = build_model(out / "tiny-qwen", annotations)
    print(f"--set base_model={model} --set data.annotations={annotations}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
