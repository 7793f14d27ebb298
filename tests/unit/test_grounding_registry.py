"""Model registry, `realvlg models`, and self-consistency (pure, fast)."""

from __future__ import annotations

import math
import socket
import time

import numpy as np
import pytest

from realvlg.cli import main
from realvlg.errors import InvalidInputError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.grounding import registry
from realvlg.grounding.backend import BackendError, Grounding, InvalidGrounding, InvalidReason
from realvlg.grounding.consistency import grasp_line_has_depth, select_consensus

PUBLISHED = {"realvlg-r1-gspo-bbox-3b": ("bbox", "seg"), "realvlg-r1-grpo-grasp-3b": ("grasp",),
             "realvlg-r1-grpo-contact-3b": ("contact",), "univg-r1": ("bbox", "seg"),
             "qwen2.5-vl-3b-instruct": ("bbox", "seg", "grasp", "contact"),
             "qwen2.5-vl-7b-instruct": ("bbox", "seg", "grasp", "contact")}


def test_every_published_checkpoint_has_a_manifest():
    known = registry.manifests()
    assert set(PUBLISHED) <= set(known)
    for name, tasks in PUBLISHED.items():
        assert known[name].tasks == tasks
    assert known["realvlg-r1-grpo-grasp-3b"].convention.kind == "absolute_original"
    assert known["univg-r1"].repo == "GD-ML/UniVG-R1" and known["univg-r1"].prompt_style == "univg-r1"
    assert known["qwen2.5-vl-7b-instruct"].convention.model_frame_size(1280, 720) == (1288, 728)
    assert known["realvlg-r1-grpo-contact-3b"].settings().tasks == ("contact",)


# The authors' checkpoints, exactly as the README of github.com/lif314/RealVLG-R1 names them.
AUTHORS = {"cslinfeili/RealVLG-R1_GSPO_Bbox_3B": ("realvlg-r1-gspo-bbox-3b", ("bbox", "seg")),
           "cslinfeili/RealVLG-R1_GRPO_Grasp_3B": ("realvlg-r1-grpo-grasp-3b", ("grasp",)),
           "cslinfeili/RealVLG-R1_GRPO_Contact_3B": ("realvlg-r1-grpo-contact-3b", ("contact",))}


def test_the_authors_checkpoints_resolve_by_their_modelscope_ids_to_their_tasks(tmp_path, monkeypatch):
    from realvlg.grounding.factory import BackendSpec, model_settings

    for repo, (name, tasks) in AUTHORS.items():
        by_name, by_repo = registry.manifest(name), registry.manifest(repo)
        assert by_name == by_repo and by_name.name == name
        assert (by_name.hub, by_name.repo, by_name.repo_confirmed, by_name.tasks) == ("modelscope", repo, True, tasks)
        assert by_name.published.startswith("https://github.com/lif314/RealVLG-R1")
        # a server that serves the checkpoint under its ModelScope id gets its prompt and coordinates
        assert model_settings(BackendSpec("openai", model=repo)) == model_settings(BackendSpec("openai", model=name))
        assert model_settings(BackendSpec("openai", model=repo)).tasks == tasks
    monkeypatch.setenv("REALVLG_MODELS", str(tmp_path))
    folder = tmp_path / "realvlg-r1-grpo-grasp-3b"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    assert registry.resolve("cslinfeili/RealVLG-R1_GRPO_Grasp_3B") == folder
    # no 7B RealVLG-R1 checkpoint is published: no manifest claims one from the authors
    assert not [m for m in registry.manifests().values() if "7b" in m.name.lower() and m.repo.startswith("cslinfeili/")]
    assert registry.find("cslinfeili/RealVLG-R1-GRPO-Grasp-3B") is None  # near misses are not guessed


def test_names_resolve_to_the_models_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("REALVLG_MODELS", str(tmp_path))
    with pytest.raises(BackendError, match="realvlg models pull univg-r1"):
        registry.resolve("univg-r1")
    folder = tmp_path / "univg-r1"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    assert registry.resolve("univg-r1") == folder
    assert registry.resolve(str(tmp_path)) == tmp_path  # a folder is taken as is
    with pytest.raises(InvalidInputError, match="unknown model"):
        registry.resolve("no-such-model")


def test_models_list_and_show(capsys):
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in PUBLISHED)
    assert main(["models", "show", "univg-r1", "--json"]) == 0
    assert '"relative_1000"' in capsys.readouterr().out


def test_pull_fails_fast_and_clearly_when_the_hub_is_unreachable(monkeypatch, capsys, tmp_path):
    with socket.socket() as s:  # a local port nobody listens on stands in for the hub
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("REALVLG_MODELS", str(tmp_path))
    start = time.monotonic()
    assert main(["models", "pull", "univg-r1", "--timeout", "2"]) == 2
    assert time.monotonic() - start < 3
    err = capsys.readouterr().err
    assert "cannot reach" in err and "univg-r1" not in list(tmp_path.iterdir())
    # the authors' checkpoints come from ModelScope: the same fast, clear failure offline
    monkeypatch.setenv("MODELSCOPE_DOMAIN", f"http://127.0.0.1:{port}")
    assert main(["models", "pull", "realvlg-r1-grpo-grasp-3b", "--timeout", "2"]) == 2
    assert "cannot reach" in capsys.readouterr().err


# --- self-consistency -------------------------------------------------------------------------

def box(x1, y1, x2, y2):
    return Grounding("bbox", box=BoundingBox(x1, y1, x2, y2))


def invalid(task, reason=InvalidReason.NO_ANSWER_TAG):
    return InvalidGrounding(task, reason, "bad")


def test_box_medoid_and_agreement():
    answers = [box(10, 10, 50, 50), box(14, 10, 54, 50), box(12, 10, 52, 50), box(200, 200, 240, 240),
               invalid("bbox")]
    result = select_consensus(answers)
    assert result.box == BoundingBox(12, 10, 52, 50)  # the middle one of the cluster
    assert result.samples == 5 and result.agreement == pytest.approx(3 / 5)


def test_contact_pairs_are_unordered():
    a = Grounding("contact", contact=ContactPair(10, 10, 50, 10))
    b = Grounding("contact", contact=ContactPair(51, 10, 10, 11))  # the same pair, swapped
    c = Grounding("contact", contact=ContactPair(10, 80, 50, 80))
    result = select_consensus([a, b, c])
    assert result.contact in (a.contact, b.contact) and result.agreement == pytest.approx(2 / 3)


def test_grasps_agree_by_the_rectangle_criterion():
    g = [Grounding("grasp", rect=RectGrasp.from_degrees(50, 50, t, 30)) for t in (0, 5, 10, 90)]
    result = select_consensus(g)
    assert math.degrees(result.rect.theta) == pytest.approx(5)
    assert result.agreement == pytest.approx(3 / 4)


def test_grasps_without_depth_on_their_line_are_dropped():
    depth = np.zeros((100, 100), np.float32)
    depth[:, 60:] = 0.5                               # only the right part has depth
    left = Grounding("contact", contact=ContactPair(10, 20, 40, 20))
    right = Grounding("contact", contact=ContactPair(62, 20, 90, 20))
    assert not grasp_line_has_depth(left, depth) and grasp_line_has_depth(right, depth)
    depth_nan = np.full((100, 100), np.nan)
    assert not grasp_line_has_depth(right, depth_nan)
    result = select_consensus([left, left, right], depth)
    assert result.contact == right.contact and result.agreement == pytest.approx(1 / 3)
    nothing = select_consensus([left, invalid("contact"), left], depth)
    assert nothing.reason == InvalidReason.NO_DEPTH and nothing.samples == 3
    assert "2× no_depth" in nothing.message


def test_all_invalid_reports_the_commonest_reason():
    result = select_consensus([invalid("bbox", InvalidReason.OUT_OF_IMAGE), invalid("bbox"),
                               invalid("bbox", InvalidReason.OUT_OF_IMAGE)])
    assert not result.valid and result.reason == InvalidReason.OUT_OF_IMAGE and result.samples == 3


def test_device_and_dtype_selection():
    import torch

    from realvlg.grounding.transformers_backend import resolve_device, resolve_dtype

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected and resolve_device("cpu") == "cpu"
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("bfloat16", "cpu") == torch.bfloat16
    with pytest.raises(BackendError, match="dtype"):
        resolve_dtype("float8", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="no CUDA"):
            resolve_device("cuda:0")


def test_the_3b_benchmark_architecture_has_the_published_size():
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from training.tiny_model import QWEN2_5_VL_3B, SPECIAL_TOKENS, qwen_config

    ids = {t: 151643 + i for i, t in enumerate(SPECIAL_TOKENS)}
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(qwen_config(QWEN2_5_VL_3B, 151665, ids))
    params = sum(p.numel() for p in model.parameters())
    assert 3.70e9 < params < 3.80e9  # Qwen2.5-VL-3B-Instruct: 3.75 B
