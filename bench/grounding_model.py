"""Benchmark: one grounding request in-process (transformers) vs through an OpenAI-compatible
server (``transformers serve`` on 127.0.0.1), same random-weight Qwen2.5-VL, same image, a fixed
number of output tokens.

* ``--size tiny`` (default, CPU): the test's tiny architecture, a 224×160 image.
* ``--size 3b --device cuda``: the full Qwen2.5-VL-3B-Instruct architecture (random weights,
  bfloat16, ≈ 7.5 GB written to a temporary folder) and a 1280×720 image (→ 1288×728, 1196
  image tokens) — for a GPU machine.

Both paths generate exactly ``--tokens`` tokens (in-process ``min_new_tokens``; the server gets
the same through transformers serve's ``generation_config`` field). Prints p50/p90 seconds per
request, output tokens/s, and the ratio server / in-process (the cost of the HTTP path:
encoding, transport, the server's own request handling).
Run: ``.venv/bin/python bench/grounding_model.py [--size tiny|3b] [--device cpu|cuda] [--tokens 128]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
from tqdm import tqdm

from realvlg.grounding.coords import CoordinateConvention
from realvlg.grounding.openai_backend import OpenAIBackend, OpenAIBackendConfig
from realvlg.grounding.prompts import build_prompt
from realvlg.grounding.transformers_backend import TransformersBackend, TransformersBackendConfig
from realvlg.grounding.vlm import ModelSettings, model_input_image
from training.tiny_model import QWEN2_5_VL_3B, TinyConfig, build_tiny_qwen2_5_vl


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: pathlib.Path, device: str, log: pathlib.Path) -> tuple[subprocess.Popen, str]:
    import httpx2

    port = free_port()
    exe = pathlib.Path(sys.executable).with_name("transformers")
    proc = subprocess.Popen([str(exe), "serve", str(folder), "--host", "127.0.0.1", "--port", str(port),
                             "--trust-remote-code", "--device", device],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"transformers serve exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/v1"
        except httpx2.TransportError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("transformers serve not ready within 600 s")


def timed(fn, repeats: int, label: str) -> np.ndarray:
    fn()  # warm-up
    out = np.empty(repeats)
    for i in tqdm(range(repeats), desc=label, leave=False):
        start = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("tiny", "3b"), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = QWEN2_5_VL_3B if args.size == "3b" else TinyConfig()
    height, width = (720, 1280) if args.size == "3b" else (160, 224)
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    convention = CoordinateConvention("absolute_resized", min_pixels=config.min_pixels,
                                      max_pixels=config.max_pixels)
    settings = ModelSettings(convention=convention, max_new_tokens=args.tokens, min_new_tokens=args.tokens)
    prompt = build_prompt("grasp", "the red mug by its handle")
    frame = [model_input_image(image, convention)]

    with tempfile.TemporaryDirectory(prefix="realvlg-bench-") as tmp:
        start = time.perf_counter()
        folder = build_tiny_qwen2_5_vl(pathlib.Path(tmp) / "model", config)
        print(f"built {args.size} checkpoint in {time.perf_counter() - start:.1f} s")
        local = TransformersBackend(TransformersBackendConfig(folder, device=args.device, settings=settings))
        t_local = timed(lambda: local.generate(frame, prompt, 1, 0.0), args.repeats, "in-process")
        del local
        proc, url = start_server(folder, args.device, pathlib.Path(tmp) / "serve.log")
        try:
            generation = {"max_new_tokens": args.tokens, "min_new_tokens": args.tokens, "do_sample": False}
            remote = OpenAIBackend(OpenAIBackendConfig(
                base_url=url, model=str(folder), timeout=600, image_format="png", settings=settings,
                extra_body={"generation_config": json.dumps(generation)}))
            t_remote = timed(lambda: remote.generate(frame, prompt, 1, 0.0), args.repeats, "server")
        finally:
            proc.terminate()
            proc.wait(30)

    print(f"model: {args.size} Qwen2.5-VL (random weights), device {args.device}, image {width}x{height} → "
          f"{frame[0].size[0]}x{frame[0].size[1]}, {args.tokens} output tokens, {args.repeats} repeats")
    for name, t in (("in-process transformers", t_local), ("transformers serve (HTTP)", t_remote)):
        p50 = np.percentile(t, 50)
        print(f"{name:28s} p50 {p50:8.3f} s  p90 {np.percentile(t, 90):8.3f} s  {args.tokens / p50:8.1f} tok/s")
    print(f"ratio server / in-process (p50): {np.percentile(t_remote, 50) / np.percentile(t_local, 50):.2f}")


if __name__ == "__main__":
    main()
