"""Training of the embedded model (``method: embedded``): ``realvlg train embedded``.

A config (``training/configs/embedded.yaml``)::

    name: embedded-default        # <export_dir>/<name>/
    method: embedded
    seed: 0
    export_dir: models            # optional: the shipped model goes into the repository
    data: {root: data/embedded}   # `realvlg datagen` output (meta.json, scenes/, annotations/)
    net: {widths: [16, 32, 64, 128], heads: 4}
    train: {steps, batch_size, lr, weight_decay, warmup_steps, time_budget_s, threads, log_every,
            eval_every, eval_samples}
    augment: {color_jitter, depth_noise_m, depth_dropout}   # never flips: they swap left and right
    loss: {heat, mask, dice, quality, angle, width, confidence}   # weights
    decode: {confidence_threshold, mask_threshold}

The whole dataset is loaded into RAM (RGB uint8, depth uint16 mm, target masks bit-packed); the
sentence embeddings of every unique instruction are computed once (and kept in the run folder's
``instruction_embeddings.npz`` for the next run). Label maps come from
:func:`realvlg.embedded.targets.label_maps` per batch. Optimiser AdamW, learning rate linear warm-up
then cosine to 0 over ``steps``. Loss: BCE on heat, mask (+ dice), grasp quality (not on present
targets without grasp labels) and confidence;
smooth-L1 on cos 2θ, sin 2θ and width weighted by the quality target. Reproducible: torch and
numpy seeded from ``seed``, one deterministic record order per epoch, augmentation drawn from the
same seeded generator (``time_budget_s`` only stops a run that would overrun; the shipped config
finishes its steps inside it).

Evaluation on every split but ``train`` (``eval_samples`` records of each, evenly spread): box IoU
(``giou`` = mean IoU, RealVLG's gIoU), ``gacc`` (Cornell criterion, :func:`realvlg.metrics.grasps.match_grasps`),
``mask_iou``, ``found_rate`` on present targets, and on absent ones ``not_found_acc`` and its
complement ``false_grasp_rate``. Export: ``<export_dir>/<name>/`` (``export_dir`` relative to the repository root; default the user models directory) with ``model.safetensors``,
``config.json`` (net, preprocessing, decode thresholds), ``realvlg-manifest.yaml`` (registry fields
plus a ``training`` block: generator version and seed, data hash, steps, seconds, metrics) and
``training_curve.png``.
"""

from __future__ import annotations

import hashlib
import json
import math
import pathlib
import time
from dataclasses import dataclass

import numpy as np
import yaml

from realvlg.embedded.backend import resize_inputs
from realvlg.embedded.decode import DecodeConfig, decode
from realvlg.embedded.model import EmbeddedNet, EmbeddedNetConfig, parameter_count, prepare
from realvlg.embedded.targets import MAP_KEYS, label_maps
from realvlg.errors import InvalidInputError
from realvlg.io import read_image
from training.result import RunResult, export_root

DEFAULTS = {
    "seed": 0,
    "net": {},
    "train": {"steps": 1200, "batch_size": 16, "lr": 2e-3, "weight_decay": 1e-4, "warmup_steps": 50,
              "time_budget_s": 2400, "threads": 2, "log_every": 20, "eval_every": 400, "eval_samples": 200},
    "augment": {"color_jitter": 0.2, "depth_noise_m": 0.003, "depth_dropout": 0.01},
    "loss": {"heat": 1.0, "mask": 1.0, "dice": 0.5, "quality": 1.0, "angle": 0.5, "width": 0.5, "confidence": 0.5},
    "decode": {"confidence_threshold": 0.5, "mask_threshold": 0.5},
}
TRAIN_SPLIT = "train"


def with_defaults(config: dict) -> dict:
    merged = {**DEFAULTS, **config}
    for key, value in DEFAULTS.items():
        if isinstance(value, dict):
            merged[key] = {**value, **(config.get(key) or {})}
    return merged


def validate_embedded(config: dict) -> dict:
    for key in ("name", "data"):
        if not config.get(key):
            raise InvalidInputError(f"the embedded training config needs {key!r}")
    if not (config["data"] or {}).get("root"):
        raise InvalidInputError("the embedded training config needs data.root (a `realvlg datagen` folder)")
    EmbeddedNetConfig.from_dict(config.get("net") or {})
    return config


@dataclass
class Dataset:
    """Everything in RAM: views (RGB, depth mm), records, masks (bit-packed), text embeddings."""

    meta: dict
    rgb: np.ndarray          # (V, H, W, 3) uint8
    depth_mm: np.ndarray     # (V, H, W) uint16
    records: dict[str, list[dict]]   # split → records, each with "_view", "_text", "_mask"
    masks: list[np.ndarray]  # packed bits of the original-resolution target masks
    texts: np.ndarray        # (T, 384) float32
    data_hash: str

    @property
    def image_size(self) -> tuple[int, int]:
        return self.rgb.shape[2], self.rgb.shape[1]

    def mask(self, index: int) -> np.ndarray | None:
        if index < 0:
            return None
        w, h = self.image_size
        return np.unpackbits(self.masks[index], count=w * h).reshape(h, w).astype(bool)


def read_depth_mm(path: pathlib.Path) -> np.ndarray:
    """A uint16 depth PNG (millimetres, 0 = invalid) as (H, W) uint16."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image).astype(np.uint16)
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read the depth image ({exc})") from None


def encode_instructions(texts: list[str], encoder, cache: pathlib.Path | None) -> np.ndarray:
    """Sentence embeddings of ``texts``, reusing those stored in ``cache`` (an .npz) by earlier runs."""
    stored: dict[str, np.ndarray] = {}
    if cache is not None and cache.is_file():
        with np.load(cache) as npz:
            stored = dict(zip(npz["texts"].tolist(), npz["embeddings"]))
    missing = [t for t in texts if t not in stored]
    if missing:
        if encoder is None:
            from realvlg.embedded.text import TextEncoder

            encoder = TextEncoder.shared()
        stored.update(zip(missing, encoder.encode(missing)))
        if cache is not None:
            np.savez(cache, texts=np.array(list(stored)), embeddings=np.stack(list(stored.values())))
    return np.stack([stored[t] for t in texts]).astype(np.float32)


def load_dataset(root: str | pathlib.Path, encoder=None, embedding_cache: pathlib.Path | None = None) -> Dataset:
    """Read a `realvlg datagen` folder (see EMBEDDED_SPEC: meta.json, scenes/, annotations/<split>.json)."""
    from tqdm import tqdm

    root = pathlib.Path(root)
    if not (root / "meta.json").is_file():
        raise InvalidInputError(f"{root} is no embedded dataset (no meta.json); write one with `realvlg datagen`")
    meta = json.loads((root / "meta.json").read_text())
    files = sorted((root / "annotations").glob("*.json"))
    digest = hashlib.sha256()
    records: dict[str, list[dict]] = {}
    for path in files:
        digest.update(path.name.encode() + path.read_bytes())
        records[path.stem] = json.loads(path.read_text())
    if TRAIN_SPLIT not in records:
        raise InvalidInputError(f"{root}/annotations has no {TRAIN_SPLIT}.json")
    views: dict[str, int] = {}
    rgb, depth, masks, mask_index = [], [], [], {}
    texts: dict[str, int] = {}
    all_records = [r for split in records.values() for r in split]
    for record in tqdm(all_records, desc="load dataset", unit="record"):
        if record["image_path"] not in views:
            views[record["image_path"]] = len(rgb)
            rgb.append(read_image(root / record["image_path"]))
            depth.append(read_depth_mm(root / record["depth_path"]))
        record["_view"] = views[record["image_path"]]
        record["_text"] = texts.setdefault(record["description"], len(texts))
        mask_path = record.get("mask_path") or ""
        if record.get("label") and mask_path:
            if mask_path not in mask_index:
                mask_index[mask_path] = len(masks)
                masks.append(np.packbits(read_image(root / mask_path, mode="L", what="mask") > 0))
            record["_mask"] = mask_index[mask_path]
        else:
            record["_mask"] = -1
    embeddings = encode_instructions(list(texts), encoder, embedding_cache)
    return Dataset(meta, np.stack(rgb), np.stack(depth), records, masks, embeddings, digest.hexdigest())


def make_batch(data: Dataset, records: list[dict], net_config: EmbeddedNetConfig, rng: np.random.Generator | None,
               augment: dict) -> tuple[dict, dict]:
    """Network inputs and label maps for ``records``; ``rng`` None → no augmentation."""
    import torch

    width, height = data.image_size
    inputs, maps = [], {k: [] for k in (*MAP_KEYS, "confidence", "grasp_weight")}
    for record in records:
        rgb = data.rgb[record["_view"]]
        depth = data.depth_mm[record["_view"]].astype(np.float32) / 1000.0
        if rng is not None:
            jitter = augment["color_jitter"]
            gain = 1 + rng.uniform(-jitter, jitter, 3)
            rgb = np.clip(rgb * gain + rng.uniform(-jitter, jitter) * 64, 0, 255).astype(np.uint8)
            valid = depth > 0
            depth = np.where(valid, depth + rng.normal(0, augment["depth_noise_m"], depth.shape), 0)
            depth[rng.random(depth.shape) < augment["depth_dropout"]] = 0
            depth = depth.astype(np.float32)
        rgb_in, depth_in = resize_inputs(rgb, depth, net_config.input_width)
        inputs.append(prepare(rgb_in, depth_in, net_config))
        target = label_maps(record, width, height, data.mask(record["_mask"]), input_width=net_config.input_width,
                            width_scale=net_config.width_scale)
        # a present target without grasp labels says nothing about grasp quality: no quality loss
        target["grasp_weight"] = float(not record.get("label") or bool(record.get("grasps")))
        for key in maps:
            maps[key].append(target[key])
    batch = {"x": torch.from_numpy(np.stack(inputs)),
             "text": torch.from_numpy(data.texts[[r["_text"] for r in records]])}
    return batch, {k: torch.as_tensor(np.stack(v) if k in MAP_KEYS else np.array(v, np.float32))
                   for k, v in maps.items()}


def embedded_loss(out: dict, target: dict, weights: dict):
    """Weighted sum and its parts (floats) — see the module docstring."""
    import torch
    from torch.nn import functional as F

    bce = F.binary_cross_entropy_with_logits
    mask_p = torch.sigmoid(out["mask"])
    inter = (mask_p * target["mask"]).sum((1, 2))
    dice = 1 - (2 * inter + 1) / (mask_p.sum((1, 2)) + target["mask"].sum((1, 2)) + 1)
    present = target["confidence"]
    q = target["quality"]
    qn = q.sum().clamp(min=1.0)
    parts = {
        "heat": bce(out["heat"], target["heat"]),
        "mask": bce(out["mask"], target["mask"]),
        "dice": (dice * present).sum() / present.sum().clamp(min=1.0),
        "quality": (bce(out["quality"], q, pos_weight=torch.tensor(4.0), reduction="none").mean((1, 2))
                    * target["grasp_weight"]).sum() / target["grasp_weight"].sum().clamp(min=1.0),
        "angle": ((F.smooth_l1_loss(out["cos"], target["cos"], reduction="none")
                   + F.smooth_l1_loss(out["sin"], target["sin"], reduction="none")) * q).sum() / qn,
        "width": (F.smooth_l1_loss(out["width"], target["width"], reduction="none") * q).sum() / qn,
        "confidence": bce(out["confidence"], present),
    }
    total = sum(weights[k] * v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}


def _gt_rects(grasps) -> tuple[np.ndarray, np.ndarray]:
    corners = np.asarray(grasps, dtype=float).reshape(-1, 4, 2)
    opening = (corners[:, 1] + corners[:, 2]) / 2 - (corners[:, 0] + corners[:, 3]) / 2
    return corners, np.arctan2(opening[:, 1], opening[:, 0])


def evaluate_split(net, data: Dataset, records: list[dict], decode_config: DecodeConfig,
                   batch_size: int = 16) -> dict:
    """Box IoU, grasp accuracy, mask IoU, found / not-found rates of ``net`` on ``records``."""
    import torch

    from realvlg.metrics.boxes import paired_box_metrics
    from realvlg.metrics.grasps import match_grasps

    net.eval()
    decoded = []
    with torch.inference_mode():
        for start in range(0, len(records), batch_size):
            chunk = records[start:start + batch_size]
            batch, _ = make_batch(data, [{**r, "grasps": [], "label": ""} for r in chunk], net.config, None, {})
            out = net(batch["x"], batch["text"])
            for i in range(len(chunk)):
                maps = {k: v[i].numpy() for k, v in out.items() if k != "confidence"}
                decoded.append(decode(maps, float(out["confidence"][i]), data.image_size, decode_config))
    net.train()
    present = [i for i, r in enumerate(records) if r.get("label")]
    absent = [i for i, r in enumerate(records) if not r.get("label")]
    metrics: dict = {"samples": len(records), "present": len(present), "absent": len(absent)}
    if present:
        found = np.array([decoded[i].found for i in present])
        iou = np.zeros(len(present))
        mask_iou = np.zeros(len(present))
        hit = np.flatnonzero(found)
        if hit.size:
            pred = np.stack([decoded[present[j]].box.as_array() for j in hit])
            gt = np.stack([records[present[j]]["bbox"] for j in hit])
            iou[hit] = paired_box_metrics(pred, gt)["iou"]
            for j in hit:
                gt_mask = data.mask(records[present[j]]["_mask"])
                if gt_mask is not None:
                    p = decoded[present[j]].mask
                    mask_iou[j] = np.count_nonzero(p & gt_mask) / max(np.count_nonzero(p | gt_mask), 1)
        graspable = [j for j in hit if records[present[j]].get("grasps")]
        correct = 0
        if graspable:
            gts = [_gt_rects(records[present[j]]["grasps"]) for j in graspable]
            owner = np.concatenate([np.full(len(c), k) for k, (c, _) in enumerate(gts)])
            match = match_grasps(np.stack([decoded[present[j]].rect.corners() for j in graspable]),
                                 np.array([decoded[present[j]].rect.theta for j in graspable]),
                                 np.concatenate([c for c, _ in gts]), np.concatenate([t for _, t in gts]), owner)
            correct = int(match.correct.sum())
        with_grasps = sum(bool(records[i].get("grasps")) for i in present)
        metrics.update(giou=float(iou.mean()), mask_iou=float(mask_iou.mean()), found_rate=float(found.mean()),
                       gacc=correct / max(with_grasps, 1))
    if absent:
        not_found = float(np.mean([not decoded[i].found for i in absent]))
        metrics.update(not_found_acc=not_found, false_grasp_rate=1.0 - not_found)
    return metrics


def summary(metrics: dict) -> str:
    """One line per evaluation: the headline numbers of every split."""
    keys = ("giou", "gacc", "mask_iou", "false_grasp_rate")
    return "; ".join(f"{split} " + " ".join(f"{k} {m[k]:.2f}" for k in keys if k in m) for split, m in metrics.items())


def evaluate_all(net, data: Dataset, decode_config: DecodeConfig, limit: int) -> dict:
    """Every test split on ``limit`` records evenly spread over it (records come scene by scene)."""
    return {split: evaluate_split(net, data, recs[::max(1, len(recs) // limit)][:limit], decode_config)
            for split, recs in data.records.items() if split != TRAIN_SPLIT}


def export_embedded(net, config: dict, data: Dataset, decode_config: DecodeConfig, metrics: dict, steps: int,
                    seconds: float, curve: pathlib.Path | None) -> pathlib.Path:
    """Write ``<models dir>/<name>/`` (see the module docstring) and return it."""
    import shutil

    from realvlg.embedded.backend import save_pretrained
    from realvlg.grounding import registry

    folder = save_pretrained(net, export_root(config) / config["name"], config["name"], decode_config,
        text_encoder="sentence-transformers/all-MiniLM-L6-v2 (mean pooling, L2-normalised)",
        preprocessing={"input_width": net.config.input_width, "rgb": "ImageNet mean/std",
                       "depth": f"(depth - median valid) / {net.config.depth_scale} m, clipped to ±{net.config.depth_clip}",
                       "channels": ["r", "g", "b", "relative_depth", "depth_valid", "x", "y"]})
    if curve is not None and curve.is_file():
        shutil.copy(curve, folder / "training_curve.png")
    manifest = {
        "name": config["name"], "title": config.get("title", "realvlg embedded grounding + grasp model"),
        "architecture": "embedded", "base_model": "", "source": {"hub": registry.LOCAL_HUB, "repo": "", "confirmed": True},
        "tasks": ["contact", "grasp", "seg", "bbox"], "prompt_style": "embedded",
        "coordinates": {"convention": "absolute_original", "factor": 1, "min_pixels": 0, "max_pixels": 0},
        "license": "same as realvlg",
        "training": {"generator": data.meta.get("generator"), "generator_version": data.meta.get("version"),
                     "data_seed": data.meta.get("seed"), "data_hash": data.data_hash, "seed": config["seed"],
                     "train_records": len(data.records[TRAIN_SPLIT]), "steps": steps, "seconds": round(seconds, 1),
                     "parameters": parameter_count(net), "metrics": metrics},
    }
    (folder / registry.LOCAL_MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder


def flat_history(history: list[dict]) -> list[dict]:
    """Evaluation entries flattened to ``eval/<split>/<metric>`` keys (what plot_curves reads)."""
    return [{"step": h["step"], **{f"eval/{s}/{k}": v for s, m in h["eval"].items() for k, v in m.items()}}
            if "eval" in h else h for h in history]


def curve_panels(metrics: dict) -> tuple:
    """Loss, then box IoU, grasp accuracy and false-grasp rate per test split."""
    splits = sorted(metrics)
    return (("loss", "loss"),
            *((title, tuple(f"eval/{s}/{key}" for s in splits))
              for title, key in (("box gIoU", "giou"), ("grasp gAcc", "gacc"), ("false-grasp rate", "false_grasp_rate"))))


def train_embedded(config: dict, *, export: bool = True, encoder=None):
    """Train, evaluate and export one embedded model; returns :class:`training.result.RunResult`."""
    import torch
    from tqdm import tqdm

    from training.plots import plot_curves

    started = time.monotonic()
    config = with_defaults(validate_embedded(config))
    opts, weights = config["train"], config["loss"]
    torch.set_num_threads(int(opts["threads"]))
    torch.manual_seed(int(config["seed"]))
    rng = np.random.default_rng(int(config["seed"]))
    output_dir = pathlib.Path(config.get("output_dir") or f"runs/train/{config['name']}")
    output_dir.mkdir(parents=True, exist_ok=True)
    data = load_dataset(config["data"]["root"], encoder, output_dir / "instruction_embeddings.npz")
    net_config = EmbeddedNetConfig.from_dict(config.get("net") or {})
    net = EmbeddedNet(net_config).train()
    decode_config = DecodeConfig.from_dict({**config["decode"], "width_scale": net_config.width_scale,
                                            "input_width": net_config.input_width})
    steps, batch_size = int(opts["steps"]), int(opts["batch_size"])
    optimiser = torch.optim.AdamW(net.parameters(), lr=float(opts["lr"]), weight_decay=float(opts["weight_decay"]))
    warmup = max(int(opts["warmup_steps"]), 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, 0.5 * (1 + math.cos(math.pi * min(s / steps, 1.0)))))
    train_records = data.records[TRAIN_SPLIT]
    order = np.empty(0, dtype=int)
    history: list[dict] = []
    running: list[float] = []
    step = 0
    bar = tqdm(range(steps), desc=f"train {config['name']}", unit="step")
    for step in bar:
        if order.size < batch_size:
            order = np.concatenate([order, rng.permutation(len(train_records))])
        chosen, order = order[:batch_size], order[batch_size:]
        batch, target = make_batch(data, [train_records[i] for i in chosen], net_config, rng, config["augment"])
        loss, parts = embedded_loss(net(batch["x"], batch["text"]), target, weights)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimiser.step()
        schedule.step()
        running.append(float(loss.detach()))
        if (step + 1) % int(opts["log_every"]) == 0 or step + 1 == steps:
            history.append({"step": step + 1, "loss": float(np.mean(running)), "lr": schedule.get_last_lr()[0],
                            **{f"loss/{k}": v for k, v in parts.items()}})
            running = []
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
        if int(opts["eval_every"]) and (step + 1) % int(opts["eval_every"]) == 0 and step + 1 < steps:
            history.append({"step": step + 1, "eval": evaluate_all(net, data, decode_config, int(opts["eval_samples"]))})
            bar.write(f"step {step + 1}: {summary(history[-1]['eval'])}")
        if time.monotonic() - started > float(opts["time_budget_s"]):
            bar.write(f"time budget of {opts['time_budget_s']} s reached after {step + 1} steps")
            break
    steps_done = step + 1
    metrics = evaluate_all(net, data, decode_config, int(opts["eval_samples"]))
    history.append({"step": steps_done, "eval": metrics})
    bar.write(f"final (step {steps_done}): {summary(metrics)}")
    (output_dir / "log_history.json").write_text(json.dumps(history, indent=1))
    curve = plot_curves(flat_history(history), output_dir / "curves.png",
                        title=f"{config['name']} (embedded, {parameter_count(net) / 1e6:.2f} M params)",
                        panels=curve_panels(metrics))
    (output_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    model_dir = export_embedded(net, config, data, decode_config, metrics, steps_done, time.monotonic() - started, curve) \
        if export else None
    return RunResult(output_dir, model_dir, metrics, time.monotonic() - started)
