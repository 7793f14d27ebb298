"""``method: dexvlg``: train DexVLG's flow-matching grasp model on a generated grasp dataset.

A config (``training/configs/dexvlg-*.yaml``)::

    name: dexvlg-smoke                     # the exported model's name (<export_dir>/<name>/)
    method: dexvlg
    export_dir: models                     # optional, relative to the repository root; default the
                                           # user's models directory
    model: {preset: tiny, language: true}  # a realvlg.dexvlg.model preset + DexVLGConfig overrides
    florence2: ""                          # optional: a local Florence-2 checkpoint whose language model
                                           # (and tokenizer) initialise the model's
    data: {root: runs/dexgrasp/smoke, test_objects: [], test_fraction: 0.1,
           view: {distance: [0.4, 0.8], elevation_deg: [20, 70]}, jitter: 0.002}
    trainer: {max_steps, batch_size (per process), learning_rate, weight_decay, warmup_steps, eval_every,
              log_every, save_every, seed, device: auto | cpu | cuda, mixed_precision: no | bf16,
              threads: 1, output_dir}
    eval: {grasps: 64, cases: 4, samples: 8, steps: 10}

Data: the grasp dataset format of ``docs/dexvlg-data.md`` (``meta.json``, ``objects/<object>.npz``,
``grasps.jsonl``) read by :func:`realvlg.dexvlg.dataset.load_datasets` (``data.root``: one folder or a list). Split (:func:`realvlg.dexvlg.dataset.split_grasps`): every grasp
of an object in ``test_objects`` (unseen) and a ``test_fraction`` of the rest (by sha1 of the grasp id,
seen) are held out; both are evaluated (``eval_*`` and ``eval_unseen_*`` in the history).
Per training sample: the object's cloud seen from a random viewpoint (Open3D hidden-point removal),
rotated by a random angle about z (the same rotation applied to the grasp), points jittered; the
instruction is the grasp's caption ("" when ``model.language`` is false: the language-free baseline).

Loop: AdamW with linear warm-up then cosine decay, the flow loss of
:meth:`realvlg.dexvlg.model.DexVLG.flow_loss`, tqdm, through ``accelerate`` (one process here; on GPUs
``accelerate launch --config_file training/configs/accelerate/multi_gpu.yaml -m training.cli CONFIG``
runs data-parallel: every process draws its own batches, the main process evaluates, saves and
exports). Every ``eval_every`` steps: the flow loss on
held-out grasps (fixed noise) and the pose error of sampled grasps against the nearest ground-truth
grasp of the same object and caption (translation m, rotation deg, mean |joint| rad). Checkpoints
every ``save_every`` steps (``checkpoint/``: model + AdamW state as safetensors, ``trainer_state.json``)
allow ``resume``. Finally ``log_history.json``, ``curves.png`` and the export to ``<export_dir>/<name>`` (with the curves as
``training_curve.png``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pathlib
import shutil
import time

import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from realvlg.dexvlg.dataset import load_datasets, record_grasp, split_grasps
from realvlg.dexvlg.objects import ObjectCloud
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import DexGrasp
from training.result import RunResult, export_root

DEFAULT_DATA = {"test_objects": [], "test_fraction": 0.1, "jitter": 0.002,
                "view": {"distance": [0.4, 0.8], "elevation_deg": [20.0, 70.0]}}
DEFAULT_TRAINER = {"max_steps": 300, "batch_size": 16, "learning_rate": 1e-3, "weight_decay": 1e-4,
                   "warmup_steps": 30, "eval_every": 100, "log_every": 10, "save_every": 0, "seed": 0,
                   "device": "auto", "mixed_precision": "no", "threads": 1, "grad_clip": 1.0}
DEFAULT_EVAL = {"grasps": 64, "cases": 4, "samples": 8, "steps": 10}
ROTATION_WEIGHT = 0.1  # metres per radian when matching a sampled grasp to the nearest ground truth


def visible_points(points: np.ndarray, rng: np.random.Generator, distance=(0.4, 0.8),
                   elevation_deg=(20.0, 70.0)) -> np.ndarray:
    """Indices of the points seen from a random camera position above the table (Open3D's hidden
    point removal; all points when fewer than 32 would remain)."""
    import open3d as o3d

    azimuth = rng.uniform(0, 2 * np.pi)
    elevation = np.radians(rng.uniform(*elevation_deg))
    centre = points.mean(axis=0)
    camera = centre + rng.uniform(*distance) * np.array([np.cos(elevation) * np.cos(azimuth),
                                                        np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, dtype=np.float64)))
    _, index = cloud.hidden_point_removal(camera, np.linalg.norm(camera - centre) * 100)
    index = np.asarray(index, dtype=int)
    return index if len(index) >= 32 else np.arange(len(points))


def observe(obj: ObjectCloud, rng: np.random.Generator, data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A partial, rotated, jittered view: points (n, 3), colours (n, 3) and the 4x4 view←object."""
    index = visible_points(obj.points, rng, **data["view"])
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("z", rng.uniform(0, 2 * np.pi)).as_matrix()
    points = obj.points[index] @ T[:3, :3].T + rng.normal(0, data["jitter"], (len(index), 3))
    return points, obj.colors[index], T


class Batches:
    """Training batches: network inputs, instructions and normalised targets (module docstring)."""

    def __init__(self, model, objects: dict[str, ObjectCloud], records: list[dict], data: dict, seed: int):
        self.model, self.objects, self.records, self.data = model, objects, records, data
        self.rng = np.random.default_rng(seed)

    def sample(self, records: list[dict], rng: np.random.Generator):
        import torch

        from realvlg.dexvlg.model import prepare_cloud

        clouds, vectors = [], []
        for record in records:
            points, colors, T = observe(self.objects[record["object"]], rng, self.data)
            cloud, centre = prepare_cloud(points, colors, self.model.config, rng)
            vector = record_grasp(record).transformed(T, "view").to_vector()
            vector[:3] -= centre
            clouds.append(cloud)
            vectors.append(vector)
        device = self.model.pose_embed.weight.device
        targets = self.model.normalise_poses(torch.tensor(np.stack(vectors), dtype=torch.float32, device=device))
        return torch.from_numpy(np.stack(clouds)).to(device), [r["caption"] for r in records], targets

    def next(self, batch_size: int):
        picks = self.rng.choice(len(self.records), batch_size, replace=len(self.records) < batch_size)
        return self.sample([self.records[i] for i in picks], self.rng)


def statistics(objects: dict[str, ObjectCloud], records: list[dict]) -> dict:
    """Translation (relative to the object cloud's centroid) and joint mean/std of ``records``."""
    centroids = {name: obj.points.mean(axis=0) for name, obj in objects.items()}
    translations = np.array([np.subtract(r["position"], centroids[r["object"]]) for r in records])
    joints = np.array([r["joints"] for r in records], dtype=float)
    # translations: one isotropic scale (the view rotates about z); floors keep single-grasp sets finite
    radius = max(float(np.sqrt((translations ** 2).sum(axis=1).mean() / 3)), 0.01)
    return {"translation_mean": [0.0, 0.0, float(translations[:, 2].mean())],
            "translation_std": [radius] * 3,
            "joints_mean": joints.mean(axis=0).tolist(),
            "joints_std": np.maximum(joints.std(axis=0), 0.05).tolist()}


def pose_errors(sampled: list[DexGrasp], truth: list[DexGrasp]) -> dict:
    """Each sample against its nearest ground truth (translation + ROTATION_WEIGHT × angle): means of
    the translation error (m), rotation error (deg) and mean absolute joint error (rad)."""
    t_err = np.linalg.norm(np.array([s.position for s in sampled])[:, None]
                           - np.array([g.position for g in truth])[None], axis=-1)
    r_err = np.array([[(s.rotation.inv() * g.rotation).magnitude() for g in truth] for s in sampled])
    nearest = (t_err + ROTATION_WEIGHT * r_err).argmin(axis=1)
    rows = np.arange(len(sampled))
    j_err = [np.abs(s.joints - truth[k].joints).mean() for s, k in zip(sampled, nearest, strict=True)]
    return {"translation_error": float(t_err[rows, nearest].mean()),
            "rotation_error_deg": float(np.degrees(r_err[rows, nearest]).mean()),
            "joint_error": float(np.mean(j_err))}


def evaluate(model, objects: dict[str, ObjectCloud], records: list[dict], data: dict, settings: dict,
             seed: int = 0, prefix: str = "eval") -> dict:
    """Held-out flow loss (fixed views and noise) and the sampled-pose errors of ``settings["cases"]``
    (object, caption) groups (module docstring), as ``<prefix>_loss``, ``<prefix>_translation_error`` …"""
    import torch

    from realvlg.dexvlg.model import sample_grasps

    if not records:
        return {}
    model.eval()
    rng = np.random.default_rng(seed)
    batches = Batches(model, objects, records, data, seed)
    subset = records[: settings["grasps"]]
    losses = []
    with torch.no_grad():
        generator = torch.Generator().manual_seed(seed)
        for start in range(0, len(subset), 16):
            clouds, captions, targets = batches.sample(subset[start:start + 16], rng)
            losses.append(model.flow_loss(clouds, captions, targets, generator=generator).item() * len(captions))
    metrics = {f"{prefix}_loss": float(np.sum(losses) / len(subset))}
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["object"], r["caption"]), []).append(r)
    errors = []
    for (name, caption), members in list(groups.items())[: settings["cases"]]:
        points, colors, T = observe(objects[name], rng, data)
        sampled = sample_grasps(model, points, colors, caption, n=settings["samples"], steps=settings["steps"],
                                seed=seed, frame="view")
        errors.append(pose_errors(sampled, [record_grasp(m).transformed(T, "view") for m in members]))
    for key in errors[0] if errors else ():
        metrics[f"{prefix}_{key}"] = float(np.mean([e[key] for e in errors]))
    model.train()
    return metrics


def learning_rate(step: int, base: float, warmup: int, total: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 10 % of ``base``."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def validate(config: dict) -> dict:
    """Fill defaults into a ``method: dexvlg`` config and check it."""
    from realvlg.dexvlg.model import PRESETS, DexVLGConfig

    config = copy.deepcopy(config)
    if not config.get("name"):
        raise InvalidInputError("the training config needs 'name'")
    data = config.setdefault("data", {})
    if not data.get("root"):
        raise InvalidInputError("a dexvlg config needs data.root (a grasp dataset folder, or a list of them)")
    config["data"] = {**DEFAULT_DATA, **data, "view": {**DEFAULT_DATA["view"], **(data.get("view") or {})}}
    config["trainer"] = {**DEFAULT_TRAINER, **(config.get("trainer") or {})}
    config["eval"] = {**DEFAULT_EVAL, **(config.get("eval") or {})}
    options = dict(config.get("model") or {})
    preset = options.pop("preset", "tiny")
    if preset not in PRESETS:
        raise InvalidInputError(f"unknown DexVLG preset {preset!r}; known: {', '.join(PRESETS)}")
    DexVLGConfig.from_dict({**dataclasses.asdict(PRESETS[preset]), **options})
    config["model"] = {"preset": preset, **options}
    return config


def _build(config: dict, objects: dict[str, ObjectCloud], grasps: list[dict], train_records: list[dict]):
    from realvlg.dexvlg.model import PRESETS, DexVLG, build_model, default_corpus, load_florence2_language_model

    options = dict(config["model"])
    preset = options.pop("preset")
    model_config = dataclasses.replace(PRESETS[preset], **options, **statistics(objects, train_records))
    if config.get("florence2"):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(config["florence2"])
        model = DexVLG(model_config, tokenizer)
        load_florence2_language_model(model, config["florence2"])
        return model
    corpus = default_corpus() + sorted({g["caption"] for g in grasps})
    return build_model(model_config, corpus, seed=config["trainer"]["seed"])


def _save_checkpoint(folder: pathlib.Path, model, optimizer, step: int, history: list[dict]) -> None:
    from safetensors.torch import save_file

    model.save_pretrained(folder)
    state = optimizer.state_dict()
    tensors = {f"{index}.{key}": value.contiguous() for index, entry in state["state"].items()
               for key, value in entry.items()}
    save_file(tensors, str(folder / "optimizer.safetensors"))
    (folder / "trainer_state.json").write_text(json.dumps({"step": step, "history": history,
                                                           "param_groups": state["param_groups"]}))


def _load_checkpoint(folder: pathlib.Path, model, optimizer) -> tuple[int, list[dict]]:
    from safetensors.torch import load_file, load_model

    load_model(model, str(folder / "model.safetensors"), device=str(model.pose_embed.weight.device))
    info = json.loads((folder / "trainer_state.json").read_text())
    state: dict[int, dict] = {}
    for name, tensor in load_file(str(folder / "optimizer.safetensors")).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})
    return info["step"], info["history"]


def train_dexvlg(config: dict, *, resume: bool = False, export: bool = True):
    """Run a ``method: dexvlg`` config (module docstring); returns :class:`training.result.RunResult`."""
    import torch
    from accelerate import Accelerator
    from tqdm import tqdm

    from realvlg.dexvlg.model import registry_manifest
    from training.plots import plot_curves

    started = time.monotonic()
    config = validate(config)
    trainer = config["trainer"]
    torch.set_num_threads(int(trainer["threads"]))
    accelerator = Accelerator(cpu=trainer["device"] == "cpu" or not torch.cuda.is_available(),
                              mixed_precision=trainer["mixed_precision"])
    main = accelerator.is_main_process
    output_dir = pathlib.Path(trainer.get("output_dir") or f"runs/train/{config['name']}")
    output_dir.mkdir(parents=True, exist_ok=True)
    _, objects, grasps = load_datasets(config["data"]["root"])
    unknown = set(config["data"]["test_objects"]) - set(objects)
    if unknown:
        raise InvalidInputError(f"data.test_objects {sorted(unknown)} are not in the dataset")
    parts = split_grasps(grasps, config["data"]["test_objects"], config["data"]["test_fraction"])
    train_records = parts["train"]
    if not train_records:
        raise InvalidInputError(f"{config['data']['root']}: no training grasps after the split")
    model = _build(config, objects, grasps, train_records).to(accelerator.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=trainer["learning_rate"],
                                  weight_decay=trainer["weight_decay"])
    checkpoint = output_dir / "checkpoint"
    step, history = 0, []
    if resume and (checkpoint / "trainer_state.json").is_file():
        step, history = _load_checkpoint(checkpoint, model, optimizer)
    wrapped, optimizer = accelerator.prepare(model, optimizer)
    wrapped.train()
    seed = trainer["seed"] + step + 1000 * accelerator.process_index
    torch.manual_seed(seed)
    batches = Batches(model, objects, train_records, config["data"], seed)
    total = int(trainer["max_steps"])
    progress = tqdm(range(step, total), desc=config["name"], unit="step", initial=step, total=total,
                    disable=not main)
    losses = []
    for step in progress:
        lr = learning_rate(step, trainer["learning_rate"], trainer["warmup_steps"], total)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = wrapped(*batches.next(int(trainer["batch_size"])))
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(wrapped.parameters(), trainer["grad_clip"])
        optimizer.step()
        losses.append(loss.item())
        done = step + 1
        if done % trainer["log_every"] == 0 or done == total:
            history.append({"step": done, "loss": float(np.mean(losses)), "learning_rate": lr})
            progress.set_postfix(loss=f"{history[-1]['loss']:.4f}")
            losses = []
        if main and trainer["eval_every"] and (done % trainer["eval_every"] == 0 or done == total):
            history.append({"step": done,
                            **evaluate(model, objects, parts["test_seen"], config["data"], config["eval"]),
                            **evaluate(model, objects, parts["test_unseen"], config["data"], config["eval"],
                                       prefix="eval_unseen")})
        if main and trainer["save_every"] and done % trainer["save_every"] == 0:
            _save_checkpoint(checkpoint, model, optimizer, done, history)
    accelerator.wait_for_everyone()
    last = next((h for h in reversed(history) if any(k.startswith("eval") for k in h)), {})
    metrics = {k: v for k, v in last.items() if k != "step"}
    model_dir = None
    if main:
        (output_dir / "log_history.json").write_text(json.dumps(history, indent=1))
        plot_curves(history, output_dir / "curves.png", title=f"{config['name']} (DexVLG flow matching)",
                    panels=(("flow loss", "loss"), ("held-out flow loss", "eval_loss"),
                            ("translation error [m]", "eval_translation_error"),
                            ("rotation error [deg]", "eval_rotation_error_deg")))
        (output_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        if export:
            training = {"method": "dexvlg", "language": model.config.language,
                        "data_root": config["data"]["root"], "grasps": len(train_records),
                        "test_seen": len(parts["test_seen"]), "test_unseen": len(parts["test_unseen"]),
                        "steps": total, "metrics": metrics}
            model_dir = model.save_pretrained(export_root(config) / config["name"],
                                              registry_manifest(config["name"], model.config, training,
                                                                config.get("title", "")))
            shutil.copyfile(output_dir / "curves.png", model_dir / "training_curve.png")
    return RunResult(output_dir, model_dir, metrics, time.monotonic() - started)
