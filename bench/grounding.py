"""Benchmark: per-request overhead of a grounding call outside the model, for a 1280×720 image.

Stages timed on the same image in the same process (the real GraspNet example colour image from
../shared/realdata when present, else a synthetic noisy scene):

* prompt        ``build_prompt`` (the paper's grasp prompt)
* resize        ``model_input_image`` for ``absolute_resized`` (1280×720 → 1288×728, PIL bicubic);
                ``absolute_original`` checkpoints (RealVLG-R1) skip it
* encode        ``encode_data_uri``: PNG (compress level 1, lossless) and JPEG (quality 95)
* body          the chat-completions request body as JSON bytes (with the data URI)
* parse         ``parse_answer`` + coordinate mapping of a grasp answer

Peers measured in the same run: PIL PNG at its default compress level 6, and the Qwen2-VL image
processor's own preprocessing of the same image (what a server or the transformers backend does
with it after decoding: resize, rescale, normalise, patchify).

Prints p50/p90 in ms, the total per request for both encodings against the 5 ms goal, and
ratios (peer p50 / realvlg p50; > 1 means realvlg's stage is faster).
Run: ``.venv/bin/python bench/grounding.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import pathlib

import numpy as np
from PIL import Image

from realvlg.grounding.coords import CoordinateConvention
from realvlg.grounding.parsing import parse_answer
from realvlg.grounding.prompts import build_prompt
from realvlg.grounding.vlm import encode_data_uri, model_input_image

from timing import timed

REALDATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "realdata" / "graspnet_example"
ANSWER = "<think>The handle points right; grasp across it.</think>\n<answer>(655.5, 402, -31.2, 48)</answer>"
GOAL_MS = 5.0


def load_image() -> tuple[np.ndarray, str]:
    if (REALDATA / "color.png").is_file():
        return np.asarray(Image.open(REALDATA / "color.png").convert("RGB")), "GraspNet example colour (real)"
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:720, 0:1280]
    base = np.stack([x / 5, y / 3, (x + y) / 8], -1) % 255
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8), "synthetic (noisy gradient)"




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    image, source = load_image()
    h, w = image.shape[:2]
    resized_conv = CoordinateConvention("absolute_resized")
    original_conv = CoordinateConvention("absolute_original")
    pil = model_input_image(image, original_conv)
    prompt = build_prompt("grasp", "the red mug by its handle")

    def body(uri: str) -> bytes:
        return json.dumps({"model": "m", "max_tokens": 256, "temperature": 0, "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}},
                                         {"type": "text", "text": prompt}]}]}).encode()

    def png_default():
        buffer = io.BytesIO()
        pil.save(buffer, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    def parse_and_map():
        result = parse_answer("grasp", ANSWER, image_size=(w, h))
        return original_conv.to_camera(result, w, h)

    png_uri, jpeg_uri = encode_data_uri(pil, "png"), encode_data_uri(pil, "jpeg")
    stages = {
        "prompt": lambda: build_prompt("grasp", "the red mug by its handle"),
        "resize (absolute_resized only)": lambda: model_input_image(image, resized_conv),
        "encode PNG level 1": lambda: encode_data_uri(pil, "png"),
        "encode JPEG q95": lambda: encode_data_uri(pil, "jpeg"),
        "body JSON (PNG)": lambda: body(png_uri),
        "body JSON (JPEG)": lambda: body(jpeg_uri),
        "parse + map": parse_and_map,
        "peer: PIL PNG level 6": png_default,
    }
    try:
        from transformers import Qwen2VLImageProcessorPil

        processor = Qwen2VLImageProcessorPil()
        stages["peer: Qwen2-VL image processor"] = lambda: processor(images=[pil], return_tensors="np")
    except ImportError:
        pass
    results = {name: timed(fn, args.repeats, name) for name, fn in stages.items()}
    p50 = {name: float(np.percentile(t, 50)) for name, t in results.items()}

    print(f"image: {source}, {w}x{h}; {args.repeats} repeats")
    print(f"data URI size: PNG {len(png_uri) / 1e6:.2f} MB, JPEG q95 {len(jpeg_uri) / 1e6:.2f} MB")
    print(f"{'stage':34s} {'p50 ms':>9s} {'p90 ms':>9s}")
    for name, t in results.items():
        print(f"{name:34s} {np.percentile(t, 50):9.3f} {np.percentile(t, 90):9.3f}")
    for fmt in ("PNG", "JPEG"):
        enc = "encode PNG level 1" if fmt == "PNG" else "encode JPEG q95"
        total = p50["prompt"] + p50[enc] + p50[f"body JSON ({fmt})"] + p50["parse + map"]
        verdict = "meets" if total <= GOAL_MS else "misses"
        print(f"per request, {fmt:4s} (absolute_original): {total:7.2f} ms — {verdict} the {GOAL_MS:g} ms goal; "
              f"+{p50['resize (absolute_resized only)']:.2f} ms for absolute_resized")
    print(f"ratio PIL PNG level 6 / PNG level 1: {p50['peer: PIL PNG level 6'] / p50['encode PNG level 1']:.2f}")
    print(f"ratio PNG level 1 / JPEG q95:        {p50['encode PNG level 1'] / p50['encode JPEG q95']:.2f}")
    if "peer: Qwen2-VL image processor" in p50:
        print(f"ratio Qwen2-VL preprocessing / realvlg JPEG request overhead: "
              f"{p50['peer: Qwen2-VL image processor'] / (p50['encode JPEG q95'] + p50['body JSON (JPEG)']):.2f}")


if __name__ == "__main__":
    main()
