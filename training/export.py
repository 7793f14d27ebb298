"""A finished run → ``<models dir>/<name>/``, which the grounding server loads by name.

The folder holds the weights (``*.safetensors`` only — nothing pickled), the processor
(tokenizer, image processor, chat template and, for the image-only Qwen2.5-VL processor, its
remote-code module) and ``realvlg-manifest.yaml``: the registry's manifest fields
(:class:`realvlg.grounding.registry.ModelManifest`, ``source.hub: local``) plus a ``training``
block — task, method, base model, reward config, data hash and sample count, steps, and the
evaluation metrics of :func:`evaluate`. :func:`realvlg.grounding.registry.manifests` finds these
manifests in the models directory (``$REALVLG_MODELS``), so
``realvlg ground --backend transformers --checkpoint <name>`` works right after training.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import shutil

import numpy as np
import yaml

from realvlg.grounding import registry
from realvlg.grounding.coords import QWEN_FACTOR, QWEN_MAX_PIXELS, QWEN_MIN_PIXELS
from realvlg.grounding.transformers_backend import PICKLE_SUFFIXES
from training.rewards import RewardConfig, compute_reward

MANIFEST_FILE = registry.LOCAL_MANIFEST
WEIGHT_FILES = ("*.safetensors", "*.safetensors.index.json", "config.json", "generation_config.json")


def evaluate(model, processor, rows: list[dict], reward: RewardConfig, max_new_tokens: int = 64) -> dict:
    """Greedy answers for ``rows`` scored with ``reward``: mean reward, task reward (accuracy),
    format rate and valid rate, and the task's IoU where it has one."""
    import torch
    from PIL import Image
    from tqdm import tqdm

    model.eval()
    results = []
    for row in tqdm(rows, desc="evaluate", unit="sample", disable=len(rows) < 8):
        with Image.open(row["image"]) as image:
            messages = [{"role": "user", "content": [{"type": "image", "image": image.convert("RGB")},
                                                     row["prompt"][0]["content"][1]]}]
            inputs = processor.apply_chat_template(messages, tokenize=True, return_dict=True, return_tensors="pt",
                                                   add_generation_prompt=True).to(model.device)
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        text = processor.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)[0]
        results.append(compute_reward(row["task"], text, json.loads(row["annotation"]), reward))
    metrics = {"samples": len(results),
               "reward": float(np.mean([r.total for r in results])),
               "accuracy": float(np.mean([r.task for r in results])),
               "format_rate": float(np.mean([r.format for r in results])),
               "valid_rate": float(np.mean([r.valid for r in results]))}
    ious = [r.parts["iou"] for r in results if "iou" in r.parts]
    if ious:
        metrics["miou"] = float(np.mean(ious))
    return metrics


def manifest(config: dict, data_hash: str, samples: int, metrics: dict, steps: int) -> dict:
    """The manifest of an exported run (registry fields + ``training``)."""
    export = config.get("export") or {}
    processor_pixels = export.get("pixels") or {}
    return {
        "name": config["name"],
        "title": config.get("title") or f"{config['name']} ({config['method'].upper()} on {config['task']})",
        "architecture": export.get("architecture", "qwen2_5_vl"),
        "base_model": str(config["base_model"]),
        "source": {"hub": registry.LOCAL_HUB, "repo": "", "confirmed": False},
        "tasks": [config["task"]],
        "prompt_style": export.get("prompt_style", "realvlg-r1"),
        "coordinates": {"convention": export.get("coordinates", "absolute_original"),
                        "factor": processor_pixels.get("factor", QWEN_FACTOR),
                        "min_pixels": processor_pixels.get("min_pixels", QWEN_MIN_PIXELS),
                        "max_pixels": processor_pixels.get("max_pixels", QWEN_MAX_PIXELS)},
        "license": export.get("license", "as the base model"),
        "training": {
            "task": config["task"], "method": config["method"],
            "reward": RewardConfig.from_dict(config.get("reward")).as_dict(),
            "difficulty": config.get("difficulty"), "data_hash": data_hash, "samples": samples,
            "steps": steps, "metrics": metrics,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
    }


def export_model(model, processor, config: dict, data_hash: str, samples: int, metrics: dict, *,
                 steps: int = 0, models_dir: pathlib.Path | None = None) -> pathlib.Path:
    """Write the run's model to ``models_dir/<name>`` (default :func:`registry.models_dir`)."""
    target = (models_dir or registry.models_dir()) / config["name"]
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    base = pathlib.Path(str(config["base_model"])).expanduser()
    if base.is_dir():  # processor files and remote code as the base model has them
        weights = {p for pattern in WEIGHT_FILES for p in base.glob(pattern)}
        for path in base.iterdir():
            if path.is_file() and path not in weights and path.suffix not in PICKLE_SUFFIXES:
                shutil.copy2(path, target / path.name)
    else:
        processor.save_pretrained(target)
    model.save_pretrained(target, safe_serialization=True)
    document = manifest(config, data_hash, samples, metrics, steps)
    (target / MANIFEST_FILE).write_text(yaml.safe_dump(document, sort_keys=False))
    return target
