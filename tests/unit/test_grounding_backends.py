"""The model backends against real peers: a tiny Qwen2.5-VL built here, run in-process and served
by ``transformers serve`` on 127.0.0.1; plus HTTP peers that misbehave on purpose."""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from realvlg.geometry.boxes import BoundingBox
from realvlg.grounding.backend import BackendError, InvalidReason
from realvlg.grounding.coords import CoordinateConvention
from realvlg.grounding.openai_backend import OpenAIBackend, OpenAIBackendConfig
from realvlg.grounding.prompts import build_prompt
from realvlg.grounding.sam2 import Sam2Config, Sam2Segmenter, build_tiny_sam2
from realvlg.grounding.transformers_backend import TransformersBackend, TransformersBackendConfig
from realvlg.grounding.vlm import ModelSettings, model_input_image
from training.tiny_model import build_tiny_qwen2_5_vl

# A 90x60 camera image; the tiny processor's smart resize makes it 84x56 (both multiples of 28).
CAMERA_W, CAMERA_H = 90, 60
CONVENTION = CoordinateConvention("absolute_resized", max_pixels=224 * 224)
INSTRUCTION = "the red cup"
# What the tiny model is fitted to answer, in pixels of the 84x56 frame it sees.
ANSWERS = {
    "bbox": "<think>cup</think>\n<answer>(10,20),(60,50)</answer>",
    "grasp": "<think>handle</think>\n<answer>(42, 28, 30.5, 24)</answer>",
}
SETTINGS = ModelSettings(convention=CONVENTION, max_new_tokens=32)


@pytest.fixture(scope="session")
def camera_image() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (CAMERA_H, CAMERA_W, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, camera_image) -> pathlib.Path:
    """The tiny Qwen2.5-VL, fitted to give ANSWERS for camera_image (built once per session)."""
    frame = np.asarray(model_input_image(camera_image, CONVENTION))
    assert frame.shape == (56, 84, 3)
    examples = [(frame, build_prompt(task, INSTRUCTION), answer) for task, answer in ANSWERS.items()]
    return build_tiny_qwen2_5_vl(tmp_path_factory.mktemp("tiny-qwen") / "ckpt", memorize=examples,
                                 steps=300)


@pytest.fixture(scope="session")
def local_backend(tiny_checkpoint) -> TransformersBackend:
    return TransformersBackend(TransformersBackendConfig(tiny_checkpoint, device="cpu",
                                                         trust_remote_code=True, settings=SETTINGS))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served(tiny_checkpoint, tmp_path_factory):
    """``transformers serve`` on the tiny checkpoint; yields the base URL, killed at the end."""
    port = free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    exe = pathlib.Path(sys.executable).with_name("transformers")
    proc = subprocess.Popen([str(exe), "serve", str(tiny_checkpoint), "--host", "127.0.0.1",
                             "--port", str(port), "--trust-remote-code", "--device", "cpu"],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    import httpx2

    deadline = time.monotonic() + 90
    try:
        while True:
            assert proc.poll() is None, f"transformers serve exited: {pathlib.Path(log.name).read_text()[-2000:]}"
            assert time.monotonic() < deadline, "transformers serve not ready within 90 s"
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def remote_backend(base_url: str, model: str, **kw) -> OpenAIBackend:
    """PNG: the server decodes exactly the pixels the in-process model sees."""
    return OpenAIBackend(OpenAIBackendConfig(base_url=base_url, model=model, timeout=kw.pop("timeout", 60),
                                             settings=kw.pop("settings", SETTINGS), image_format="png", **kw))


def same_result(a, b) -> bool:
    """Same validity and geometry, or the same invalid reason."""
    if a.valid and b.valid:
        return (a.task, a.box, a.rect, a.contact) == (b.task, b.box, b.rect, b.contact)
    return (a.task, a.valid, getattr(a, "reason", None)) == (b.task, b.valid, getattr(b, "reason", None))


def test_tiny_checkpoint_is_a_loadable_safetensors_qwen(tiny_checkpoint):
    from transformers import AutoConfig, AutoProcessor

    names = {p.name for p in tiny_checkpoint.iterdir()}
    assert "model.safetensors" in names and not any(n.endswith((".bin", ".pt")) for n in names)
    assert AutoConfig.from_pretrained(tiny_checkpoint).model_type == "qwen2_5_vl"
    processor = AutoProcessor.from_pretrained(tiny_checkpoint, trust_remote_code=True)
    for token in ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                  "<|video_pad|>"):
        assert processor.tokenizer.convert_tokens_to_ids(token) is not None
    assert "<|vision_start|><|image_pad|><|vision_end|>" in processor.chat_template


@pytest.mark.parametrize("task", ["bbox", "grasp"])
def test_in_process_answer_is_mapped_to_camera_pixels(local_backend, camera_image, task):
    result = local_backend.ground(task, camera_image, INSTRUCTION)
    assert result.valid, result
    sx, sy = CAMERA_W / 84, CAMERA_H / 56
    if task == "bbox":
        assert result.box == BoundingBox(10 * sx, 20 * sy, 60 * sx, 50 * sy)
    else:
        assert result.rect.x == pytest.approx(42 * sx) and result.rect.y == pytest.approx(28 * sy)
    assert (result.backend, result.model, result.samples) == ("transformers", "ckpt", 1)


@pytest.mark.parametrize("task", ["bbox", "grasp", "contact"])
def test_served_and_in_process_give_the_same_result(local_backend, served, tiny_checkpoint,
                                                    camera_image, task):
    """Greedy decoding: the same request through transformers serve and in-process."""
    remote = remote_backend(served, str(tiny_checkpoint))
    via_http = remote.ground(task, camera_image, INSTRUCTION)
    in_process = local_backend.ground(task, camera_image, INSTRUCTION)
    assert same_result(via_http, in_process)
    if task in ANSWERS:  # fitted: a valid answer, word for word the same
        assert via_http.valid
        assert via_http.raw_answer.strip() == in_process.raw_answer.strip()
    # contact was never fitted: whatever the model says, both paths read it the same way


def test_samples_are_topped_up_when_the_server_ignores_n(served, tiny_checkpoint, camera_image):
    remote = remote_backend(served, str(tiny_checkpoint))
    result = remote.ground("bbox", camera_image, INSTRUCTION, samples=3)
    assert result.samples == 3 and 0 < result.agreement <= 1


def test_in_process_samples_and_batch(local_backend, camera_image):
    result = local_backend.ground("bbox", camera_image, INSTRUCTION, samples=4)
    assert result.samples == 4
    frame = model_input_image(camera_image, CONVENTION)
    prompts = [build_prompt("bbox", INSTRUCTION), build_prompt("grasp", INSTRUCTION)]
    batch = local_backend.generate_batch([([frame], p) for p in prompts])
    single = [local_backend.generate([frame], p, 1, 0.0) for p in prompts]
    assert [b[0].strip() for b in batch] == [s[0].strip() for s in single]


def test_self_consistency_end_to_end(tiny_checkpoint, camera_image):
    """Near-greedy sampling: k agreeing grasps → agreement 1; no depth on their line → no_depth."""
    settings = dataclasses.replace(SETTINGS, sampling_temperature=0.01)
    backend = TransformersBackend(TransformersBackendConfig(tiny_checkpoint, trust_remote_code=True,
                                                            seed=0, settings=settings))
    depth = np.full((CAMERA_H, CAMERA_W), 0.6, np.float32)
    result = backend.ground("grasp", camera_image, INSTRUCTION, samples=3, depth=depth)
    assert result.valid and result.samples == 3 and result.agreement == 1.0
    result = backend.ground("grasp", camera_image, INSTRUCTION, samples=3, depth=np.zeros_like(depth))
    assert not result.valid and result.reason == InvalidReason.NO_DEPTH and result.samples == 3


def test_a_wrong_model_name_is_a_clear_error_without_retries(served, camera_image):
    remote = remote_backend(served, "no-such-model", retries=3, backoff=5.0)
    start = time.monotonic()
    with pytest.raises(BackendError, match="HTTP 400"):
        remote.ground("bbox", camera_image, INSTRUCTION)
    assert time.monotonic() - start < 5.0  # not retried


def test_seg_uses_sam2_on_the_box(tiny_checkpoint, camera_image, tmp_path):
    segmenter = Sam2Segmenter(Sam2Config(build_tiny_sam2(tmp_path / "sam2"), device="cpu"))
    backend = TransformersBackend(TransformersBackendConfig(tiny_checkpoint, trust_remote_code=True,
                                                            settings=SETTINGS), segmenter=segmenter)
    result = backend.ground("seg", camera_image, INSTRUCTION)
    assert result.valid and result.box is not None
    assert result.mask.shape == (CAMERA_H, CAMERA_W) and result.mask.dtype == bool
    # the same box straight through the segmenter gives the same mask
    np.testing.assert_array_equal(result.mask, segmenter.segment(camera_image, result.box))


def test_seg_without_a_segmenter_is_refused(local_backend, camera_image):
    with pytest.raises(BackendError, match="SAM2"):
        local_backend.ground("seg", camera_image, INSTRUCTION)


def test_pickle_only_and_missing_checkpoints_are_refused(tmp_path, tiny_checkpoint):
    with pytest.raises(BackendError, match="no config.json"):
        TransformersBackend(TransformersBackendConfig(tmp_path / "nothing"))
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((tiny_checkpoint / "config.json").read_text())
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(BackendError, match="pickle"):
        TransformersBackend(TransformersBackendConfig(pickled))


# --- misbehaving HTTP peers (minimal servers written here; no real server misbehaves on demand) ---

class _Peer(http.server.BaseHTTPRequestHandler):
    """Answers every POST per ``server.mode``; records request headers and counts requests."""

    def do_POST(self):  # noqa: N802 (http.server API)
        self.server.requests.append(dict(self.headers))
        self.server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        mode = self.server.mode
        status, body = {
            "500": (500, b'{"error": "internal"}'),
            "garbage": (200, b"<html>this is not json"),
            "no-choices": (200, b'{"object": "chat.completion", "choices": []}'),
            "ok": (200, json.dumps({"choices": [{"index": 0, "message": {
                "role": "assistant", "content": "<answer>(1,2),(30,40)</answer>"}}]}).encode()),
        }[mode]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_peer():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Peer)
    server.requests, server.bodies, server.mode = [], [], "ok"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_peer():
    """A socket that accepts connections and never says anything."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    listener.close()


def peer_url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


PLAIN = ModelSettings(convention=CoordinateConvention("absolute_original"), max_new_tokens=8)
IMAGE = np.zeros((48, 64, 3), np.uint8)


def test_a_silent_server_times_out_within_the_timeout(silent_peer):
    backend = remote_backend(silent_peer, "m", timeout=1.5, retries=5, backoff=0.2, settings=PLAIN)
    start = time.monotonic()
    with pytest.raises(BackendError, match="timed out|no usable answer"):
        backend.ground("bbox", IMAGE, INSTRUCTION)
    assert time.monotonic() - start < 1.5 + 0.5


def test_http_500_is_retried_with_backoff_then_reported(http_peer):
    http_peer.mode = "500"
    backend = remote_backend(peer_url(http_peer), "m", timeout=10, retries=2, backoff=0.1, settings=PLAIN)
    start = time.monotonic()
    with pytest.raises(BackendError, match="HTTP 500.*internal"):
        backend.ground("bbox", IMAGE, INSTRUCTION)
    assert len(http_peer.requests) == 3
    assert time.monotonic() - start >= 0.1 + 0.2  # waited 0.1 s, then 0.2 s


@pytest.mark.parametrize("mode", ["garbage", "no-choices"])
def test_a_garbage_body_is_a_clear_error(http_peer, mode):
    http_peer.mode = mode
    backend = remote_backend(peer_url(http_peer), "m", timeout=5, settings=PLAIN)
    with pytest.raises(BackendError, match="not a chat completion"):
        backend.ground("bbox", IMAGE, INSTRUCTION)
    assert len(http_peer.requests) == 1


def test_a_refused_connection_fails_fast():
    backend = remote_backend(f"http://127.0.0.1:{free_port()}/v1", "m", timeout=3, retries=1,
                             backoff=0.1, settings=PLAIN)
    start = time.monotonic()
    with pytest.raises(BackendError, match="cannot reach"):
        backend.ground("bbox", IMAGE, INSTRUCTION)
    assert time.monotonic() - start < 2


def test_api_key_comes_from_the_environment(http_peer, monkeypatch):
    monkeypatch.setenv("REALVLG_TEST_KEY", "s3cret")
    backend = remote_backend(peer_url(http_peer), "m", api_key_env="REALVLG_TEST_KEY", settings=PLAIN)
    result = backend.ground("bbox", IMAGE, INSTRUCTION)
    assert result.valid and result.box == BoundingBox(1, 2, 30, 40)
    assert http_peer.requests[0]["Authorization"] == "Bearer s3cret"
    monkeypatch.delenv("REALVLG_TEST_KEY")
    http_peer.requests.clear()
    remote_backend(peer_url(http_peer), "m", api_key_env="REALVLG_TEST_KEY",
                   settings=PLAIN).ground("bbox", IMAGE, INSTRUCTION)
    assert "Authorization" not in http_peer.requests[0]


def test_a_reference_image_goes_first(http_peer, local_backend, camera_image):
    """UniVG-R1's multi-image form: reference, then scene; an empty instruction gets the default."""
    import base64
    import io

    from PIL import Image

    from realvlg.grounding.prompts import UNIVG_R1_REFERENCE_INSTRUCTION

    univg = dataclasses.replace(PLAIN, prompt_style="univg-r1")
    reference = np.full((16, 16, 3), 200, np.uint8)
    remote_backend(peer_url(http_peer), "m", settings=univg).ground("bbox", IMAGE, "", reference=reference)
    body = json.loads(http_peer.bodies[0])
    content = body["messages"][0]["content"]
    sizes = [Image.open(io.BytesIO(base64.b64decode(c["image_url"]["url"].split(",", 1)[1]))).size
             for c in content[:2]]
    assert sizes == [(16, 16), (64, 48)] and content[2]["text"].startswith(UNIVG_R1_REFERENCE_INSTRUCTION)
    # in-process, two images reach the model (whatever the tiny model answers, it is a typed result)
    result = local_backend.ground("bbox", camera_image, "", reference=camera_image[:28, :28].copy())
    assert result.task == "bbox" and result.backend == "transformers"


def test_invalid_answers_come_back_typed(http_peer):
    backend = remote_backend(peer_url(http_peer), "m", settings=dataclasses.replace(PLAIN))
    # (1,2),(30,40) is fine for a 64x48 image but outside a 20x20 one
    result = backend.ground("bbox", np.zeros((20, 20, 3), np.uint8), INSTRUCTION)
    assert not result.valid and result.reason == InvalidReason.OUT_OF_IMAGE
    assert result.raw_answer == "<answer>(1,2),(30,40)</answer>"


# --- `realvlg ground` -------------------------------------------------------------------------

def test_cli_ground_through_the_server_and_in_process(served, tiny_checkpoint, camera_image, tmp_path,
                                                      capsys):
    from PIL import Image

    from realvlg.cli import main

    image_path = tmp_path / "scene.png"
    Image.fromarray(camera_image).save(image_path)
    common = ["ground", "--image", str(image_path), "--instruction", INSTRUCTION, "--json",
              "--max-new-tokens", "32"]
    assert main(common + ["--task", "bbox", "--backend", "openai", "--base-url", served,
                          "--model", str(tiny_checkpoint), "--image-format", "png",
                          "--overlay", str(tmp_path / "o.png")]) == 0
    answer = json.loads(capsys.readouterr().out)
    sx, sy = CAMERA_W / 84, CAMERA_H / 56
    assert answer["valid"] and answer["box"] == pytest.approx([10 * sx, 20 * sy, 60 * sx, 50 * sy])
    overlay = np.asarray(Image.open(tmp_path / "o.png"))
    assert overlay.shape == camera_image.shape and not np.array_equal(overlay, camera_image)

    assert main(common + ["--task", "grasp", "--backend", "transformers", "--checkpoint",
                          str(tiny_checkpoint), "--device", "cpu"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["rect"]["x"] == pytest.approx(42 * sx) and answer["rect"]["theta_deg"] != 0
    assert pathlib.Path(answer["overlay"]) == tmp_path / "scene.ground.png"


def test_cli_ground_prints_the_invalid_reason_and_raw_answer(http_peer, tmp_path, capsys):
    from PIL import Image

    from realvlg.cli import main

    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "tiny.png")
    code = main(["ground", "--image", str(tmp_path / "tiny.png"), "--instruction", "x", "--task", "bbox",
                 "--backend", "openai", "--base-url", peer_url(http_peer), "--model", "m",
                 "--convention", "absolute_original"])
    out = capsys.readouterr().out
    assert code == 1
    assert "invalid answer (out_of_image)" in out and "<answer>(1,2),(30,40)</answer>" in out
    assert (tmp_path / "tiny.ground.png").exists()


def test_cli_ground_reports_a_dead_server_as_one_line(tmp_path, capsys):
    from PIL import Image

    from realvlg.cli import main

    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "img.png")
    code = main(["ground", "--image", str(tmp_path / "img.png"), "--instruction", "x", "--task", "bbox",
                 "--backend", "openai", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--model", "m",
                 "--timeout", "2"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("realvlg ground: error:") and "cannot reach" in err and "\n" not in err
