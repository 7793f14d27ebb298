"""End-to-end training at smoke scale: tiny Qwen2.5-VL → SFT → GRPO and GSPO (with UniVG-R1
difficulty weights) → export → the grounding server's transformers backend loads the model by
name and answers a request.

COST: this is the expensive test of the training package. Both tests together: 30 s wall / 27 s
CPU on the 2-core dev machine when quiet; 6 min wall / 82 s CPU with the machine at load 12
(shared). Most of it is the 60 SFT steps that teach the random model the answer format.
It is marked ``training_e2e``; skip it with ``-m "not training_e2e"``.
"""

import json

import numpy as np
import pytest
import yaml
from PIL import Image

pytest.importorskip("trl")

from realvlg.grounding import registry  # noqa: E402
from realvlg.grounding.backend import Grounding  # noqa: E402
from realvlg.grounding.factory import BackendSpec, make_backend  # noqa: E402
from training.run import load_config, train  # noqa: E402
from training.smoke import HEIGHT, THINK, WIDTH, make_samples  # noqa: E402
from training.tiny_model import TinyConfig, build_tiny_qwen2_5_vl  # noqa: E402

pytestmark = [pytest.mark.training_e2e, pytest.mark.timeout(600)]


def test_sft_grpo_gspo_export_and_serve(tmp_path, monkeypatch):
    monkeypatch.setenv("REALVLG_MODELS", str(tmp_path / "models"))
    annotations = make_samples(tmp_path / "data", n=4)
    raw = build_tiny_qwen2_5_vl(tmp_path / "tiny", TinyConfig(max_pixels=WIDTH * HEIGHT,
                                                              extra_corpus=(f"<think> {THINK} </think>",)))
    common = [f"data.annotations={annotations}"]

    sft = train(load_config("smoke-cpu-sft", [*common, f"base_model={raw}",
                                              f"trainer.output_dir={tmp_path / 'sft'}"]))
    assert sft.model_dir == tmp_path / "models" / "smoke-sft-bbox"
    assert sft.metrics["format_rate"] == 1.0 and sft.metrics["valid_rate"] == 1.0

    runs = {}
    for method, extra in (("grpo", []), ("gspo", ["difficulty=exp"])):
        runs[method] = train(load_config("smoke-cpu", [
            *common, *extra, f"base_model={sft.model_dir}", f"method={method}", f"name=smoke-{method}-bbox",
            f"trainer.output_dir={tmp_path / method}"]))
    for method, run in runs.items():
        history = json.loads((run.output_dir / "log_history.json").read_text())
        steps = [h for h in history if "reward" in h]
        assert len(steps) == 2, method
        # rewards flowed through the real parser: sampled answers of the SFT model parse (some of them)
        assert any(h["rewards/format/mean"] > 0 for h in steps), method
        assert all(0.0 <= h["rewards/task/mean"] <= 1.0 for h in steps)
        assert "kl" in steps[0]
        assert (run.output_dir / "curves.png").stat().st_size > 0
        assert list(run.output_dir.glob("checkpoint-*"))
    assert any("difficulty_weight/mean" in h for h in json.loads(
        (runs["gspo"].output_dir / "log_history.json").read_text()))

    folder = runs["gspo"].model_dir
    assert list(folder.glob("*.safetensors")) and not list(folder.glob("*.bin"))
    manifest = yaml.safe_load((folder / "realvlg-manifest.yaml").read_text())
    assert manifest["training"]["method"] == "gspo" and manifest["training"]["difficulty"] == "exp"
    assert manifest["training"]["reward"]["variant"] == "official"
    assert len(manifest["training"]["data_hash"]) == 64
    assert set(manifest["training"]["metrics"]) >= {"reward", "accuracy", "format_rate", "valid_rate"}

    # the grounding server's transformers backend loads it by name and answers a request
    assert "smoke-gspo-bbox" in registry.manifests()
    backend = make_backend(BackendSpec(backend="transformers", checkpoint="smoke-gspo-bbox", device="cpu",
                                       max_new_tokens=40))
    record = json.loads(annotations.read_text())[0]
    image = np.asarray(Image.open(annotations.parent / record["image_path"]).convert("RGB"))
    result = backend.ground("bbox", image, record["description"])
    assert isinstance(result, Grounding), result
    assert result.box.x_max > result.box.x_min


def test_resume_continues_from_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("REALVLG_MODELS", str(tmp_path / "models"))
    annotations = make_samples(tmp_path / "data", n=2)
    raw = build_tiny_qwen2_5_vl(tmp_path / "tiny", TinyConfig(max_pixels=WIDTH * HEIGHT))
    overrides = [f"data.annotations={annotations}", f"base_model={raw}", f"trainer.output_dir={tmp_path / 'run'}",
                 "trainer.max_completion_length=8"]
    first = train(load_config("smoke-cpu", [*overrides, "trainer.max_steps=1"]), export=False)
    assert (first.output_dir / "checkpoint-1").is_dir()
    second = train(load_config("smoke-cpu", [*overrides, "trainer.max_steps=2"]), resume=True, export=False)
    history = json.loads((second.output_dir / "log_history.json").read_text())
    assert [h["step"] for h in history if "reward" in h] == [1, 2]
