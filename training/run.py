"""One training run from a YAML config: data → TRL trainer → checkpoints → export → curves.

A config (``training/configs/*.yaml``)::

    name: realvlg-r1-grpo-bbox-3b          # the exported model's name (models/<name>/)
    task: bbox                             # bbox | seg | grasp | contact
    method: grpo                           # grpo | gspo | sft | embedded | dexvlg (the last two: own keys)
    base_model: Qwen/Qwen2.5-VL-3B-Instruct   # local folder or hub id (hub ids need network)
    data: {annotations: …, source: realvlg11b, fraction: 0.1, seed: 0}
    eval_data: {…}                         # optional; default: the training rows
    reward: {variant: official, format_weight: 0.1, iou_threshold: 0.5}
    difficulty: exp                        # optional: UniVG-R1 weighting (exp | neg_log | square)
    segmenter: {sam2_checkpoint: …}        # optional, seg task: SAM2 masks the predicted box
    model: {dtype: bfloat16}               # from_pretrained options (safetensors only)
    trainer: {…}                           # GRPOConfig / SFTConfig fields, verbatim
    export: {coordinates: absolute_original, prompt_style: realvlg-r1, eval_samples: 32}

``method`` fixes ``importance_sampling_level`` (grpo: token, gspo: sequence); every other trainer
option is the config's. ``--set key.sub=value`` overrides any entry (the value is YAML).
Runs write to ``output_dir`` (``trainer.output_dir``, default ``runs/train/<name>``): TRL
checkpoints, ``log_history.json``, ``curves.png``; then the model is exported (see
:mod:`training.export`). ``resume=True`` continues from the latest checkpoint there.
"""

from __future__ import annotations

import copy
import json
import pathlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from realvlg.errors import InvalidInputError
from realvlg.grounding.backend import TASKS
from training.data import DataConfig, build_rows, data_hash, to_dataset
from training.difficulty import DIFFICULTY_FUNCTIONS
from training.result import RunResult
from training.rewards import RewardConfig

CONFIG_DIR = pathlib.Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class TrainingMethod:
    """How one ``method:`` checks a config (``validate(config) -> config``) and runs it
    (``train(config, *, resume, export) -> RunResult``)."""

    validate: Callable[[dict], dict]
    train: Callable[..., RunResult]


def _trl() -> TrainingMethod:  # grpo | gspo | sft: TRL, in this module
    return TrainingMethod(_validate_trl, _train_trl)


def _embedded() -> TrainingMethod:
    from training.embedded import train_embedded, validate_embedded

    def train(config: dict, *, resume: bool = False, export: bool = True) -> RunResult:
        return train_embedded(config, export=export)  # its own short loop: no checkpoints to resume

    return TrainingMethod(validate_embedded, train)


def _dexvlg() -> TrainingMethod:
    from training.dexvlg import train_dexvlg, validate

    return TrainingMethod(validate, train_dexvlg)


METHODS: dict[str, Callable[[], TrainingMethod]] = {
    "grpo": _trl, "gspo": _trl, "sft": _trl,
    "embedded": _embedded,  # training/embedded.py: its own loop (flat-file dataset, own keys)
    "dexvlg": _dexvlg,      # training/dexvlg.py: flow matching (own keys)
}
"""Every training method, the one place they are listed. Each entry loads its implementation on
first use (the embedded and DexVLG trainers import torch, which checking a TRL config does not
need). The implementations import :mod:`training.result`, never this module: no import circle."""


def method(config: dict) -> TrainingMethod:
    """The implementation of ``config['method']``; the TRL one (whose check reports a missing or
    unknown method) when it names none of :data:`METHODS`."""
    name = config.get("method")
    return METHODS.get(name, _trl)() if isinstance(name, str) else _trl()


def load_config(path_or_name: str, overrides: list[str] = ()) -> dict:
    """A config by path, or by name from ``training/configs/``; ``overrides`` are ``a.b=value``."""
    path = pathlib.Path(path_or_name)
    if not path.is_file():
        path = CONFIG_DIR / f"{path_or_name.removesuffix('.yaml')}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise InvalidInputError(f"no training config {path_or_name!r}; known: {known}")
    config = yaml.safe_load(path.read_text()) or {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError(f"--set {item!r} is not KEY=VALUE")
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return validate(config)


def validate(config: dict) -> dict:
    """``config`` checked (and, for methods with defaults, completed) by its method."""
    return method(config).validate(config)


def _validate_trl(config: dict) -> dict:
    for key in ("name", "task", "method", "base_model", "data"):
        if not config.get(key):
            raise InvalidInputError(f"the training config needs {key!r}")
    if config["task"] not in TASKS:
        raise InvalidInputError(f"unknown task {config['task']!r}; expected one of {TASKS}")
    if config["method"] not in METHODS:
        raise InvalidInputError(f"unknown method {config['method']!r}; expected one of {tuple(METHODS)}")
    if config.get("difficulty") and config["difficulty"] not in DIFFICULTY_FUNCTIONS:
        raise InvalidInputError(f"unknown difficulty function {config['difficulty']!r}")
    RewardConfig.from_dict(config.get("reward"))
    DataConfig.from_dict(config["data"])
    return config


def _load_model(config: dict):
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    from realvlg.grounding.qwen_processor import load_processor

    options = dict(config.get("model") or {})
    dtype = options.pop("dtype", "float32")
    trust = bool(options.pop("trust_remote_code", False))
    base = str(config["base_model"])
    if pathlib.Path(base).expanduser().is_dir():
        base = str(pathlib.Path(base).expanduser())
    model = AutoModelForImageTextToText.from_pretrained(base, dtype=getattr(torch, dtype), use_safetensors=True,
                                                        trust_remote_code=trust, **options)
    processor = load_processor(base, AutoConfig.from_pretrained(base, trust_remote_code=trust).model_type, trust)
    processor.tokenizer.padding_side = "left"
    return model, processor


def _trainer(config: dict, model, processor, dataset, output_dir: pathlib.Path):
    trainer_options = dict(config.get("trainer") or {})
    trainer_options.setdefault("report_to", "none")
    trainer_options["output_dir"] = str(output_dir)
    if config["method"] == "sft":
        from trl import SFTConfig, SFTTrainer

        args = SFTConfig(**trainer_options)
        return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=processor)

    from trl import GRPOConfig

    from training.grpo import IMPORTANCE_SAMPLING, DifficultyGRPOTrainer, reward_functions

    reward = RewardConfig.from_dict(config.get("reward"))
    segmenter = None
    if (config.get("segmenter") or {}).get("sam2_checkpoint"):
        from training.rewards import sam2_segmenter

        segmenter = sam2_segmenter(config["segmenter"]["sam2_checkpoint"], config["segmenter"].get("device", "auto"))
    trainer_options["importance_sampling_level"] = IMPORTANCE_SAMPLING[config["method"]]
    trainer_options["reward_weights"] = [reward.format_weight, 1.0 - reward.format_weight]
    args = GRPOConfig(**trainer_options)
    common = dict(model=model, reward_funcs=reward_functions(reward, segmenter), args=args, train_dataset=dataset,
                  processing_class=processor)
    if config.get("difficulty"):
        return DifficultyGRPOTrainer(difficulty=config["difficulty"], **common)
    from trl import GRPOTrainer

    return GRPOTrainer(**common)


def export_root(config: dict) -> pathlib.Path:
    """Where a run exports its model: ``export_dir`` (relative to the repository root: the shipped
    models go to ``models/``) or, by default, the user's models directory."""
    from realvlg.graph import repo_path
    from realvlg.grounding import registry

    return repo_path(config["export_dir"]) if config.get("export_dir") else registry.models_dir()


def train(config: dict, *, resume: bool = False, export: bool = True) -> RunResult:
    """Run ``config`` (see the module docstring) and return where everything went."""
    return method(config).train(config, resume=resume, export=export)


def _train_trl(config: dict, *, resume: bool = False, export: bool = True) -> RunResult:
    from training.export import evaluate, export_model
    from training.plots import plot_curves

    started = time.monotonic()
    config = copy.deepcopy(config)
    output_dir = pathlib.Path((config.get("trainer") or {}).get("output_dir") or f"runs/train/{config['name']}")
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = build_rows(config["task"], DataConfig.from_dict(config["data"]))
    if config["method"] == "sft":
        for row in rows:  # SFT learns the reference answer; the reward columns are not model inputs
            row.pop("task"), row.pop("annotation")
    dataset = to_dataset(rows)
    model, processor = _load_model(config)
    trainer = _trainer(config, model, processor, dataset, output_dir)
    checkpoints = sorted(output_dir.glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=bool(resume and checkpoints) or None)
    history = trainer.state.log_history
    (output_dir / "log_history.json").write_text(json.dumps(history, indent=1))
    plot_curves(history, output_dir / "curves.png", title=f"{config['name']} ({config['method']}, {config['task']})")
    (output_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    model_dir = None
    metrics = {}
    if export:
        eval_rows = build_rows(config["task"], DataConfig.from_dict(config.get("eval_data") or config["data"]))
        limit = int((config.get("export") or {}).get("eval_samples", 32))
        metrics = evaluate(trainer.model, processor, eval_rows[:limit], RewardConfig.from_dict(config.get("reward")))
        model_dir = export_model(trainer.model, processor, config, data_hash(rows), len(rows), metrics,
                                 steps=trainer.state.global_step)
    return RunResult(output_dir, model_dir, metrics, time.monotonic() - started)
