"""The embedded model's size and CPU latency, against the original GG-CNN measured in the same run.

* parameters and fp32 safetensors size of the network (random weights in the shipped config's
  ``net`` widths, training/configs/embedded.yaml, or a trained ``--model NAME|DIR``);
* network latency per 320×240 RGB-D frame (preprocessing + forward) with ``--threads`` torch
  threads, the sentence embedding cached, and uncached (a new instruction each call: + the
  all-MiniLM-L6-v2 encoder);
* the peer: GG-CNN (Morrison et al. 2018, ~62 k parameters, depth only) at the same input size —
  the classic per-pixel grasp network this design extends with RGB, language and a target mask;
* end to end: ``EmbeddedBackend.ground("grasp", …)`` on a 640×360 image (resize, forward, decode;
  a new image each call, so the forward cache never answers).

Goals (issue 8): ≤ 10 M parameters, ≤ 20 MB safetensors, ≤ 50 ms per 320×240 frame on 2 cores.

    .venv/bin/python bench/embedded_model.py [--threads 2] [--repeats 30] [--model embedded-default]
"""

import argparse
import itertools
import os
import tempfile

import numpy as np
import torch
from torch import nn

from realvlg.embedded.backend import EmbeddedBackend, save_pretrained
from realvlg.embedded.decode import DecodeConfig
from realvlg.embedded.model import EmbeddedNet, EmbeddedNetConfig, parameter_count, prepare
from realvlg.embedded.text import TextEncoder

from timing import timed


class GGCNN(nn.Module):
    """The original GG-CNN (depth in; quality, cos 2θ, sin 2θ, width out at full resolution)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 9, 3, 3), nn.ReLU(), nn.Conv2d(32, 16, 5, 2, 2), nn.ReLU(),
            nn.Conv2d(16, 8, 3, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(8, 8, 3, 2, 1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(8, 16, 5, 2, 2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 32, 9, 3, 3), nn.ReLU())
        self.heads = nn.ModuleList(nn.Conv2d(32, 1, 2) for _ in range(4))

    def forward(self, depth):
        x = self.body(depth)
        return [head(x) for head in self.heads]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--model", help="a trained model (registry name or folder); default: random weights")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    encoder = TextEncoder()
    if args.model:
        backend = EmbeddedBackend.from_pretrained(args.model, text_encoder=encoder)
        net = backend.net
    else:
        torch.manual_seed(0)
        from training.run import load_config

        net = EmbeddedNet(EmbeddedNetConfig.from_dict(load_config("embedded")["net"])).eval()
        backend = EmbeddedBackend(net, DecodeConfig(), "embedded-random", text_encoder=encoder)
    with tempfile.TemporaryDirectory() as tmp:
        save_pretrained(net, tmp, "bench", DecodeConfig())
        megabytes = os.path.getsize(os.path.join(tmp, "model.safetensors")) / 1e6
    ggcnn = GGCNN().eval()

    rgb = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    depth = rng.uniform(0.4, 0.9, (240, 320)).astype(np.float32)
    instruction = "grasp the red mug left of the banana"
    encoder.encode([instruction])
    counter = itertools.count()

    def embedded_cached():
        with torch.inference_mode():
            net(torch.from_numpy(prepare(rgb, depth, net.config))[None], torch.from_numpy(encoder.encode([instruction])))

    def embedded_uncached():
        text = torch.from_numpy(encoder.encode([f"{instruction} number {next(counter)}"]))
        with torch.inference_mode():
            net(torch.from_numpy(prepare(rgb, depth, net.config))[None], text)

    def ggcnn_forward():
        with torch.inference_mode():
            ggcnn(torch.from_numpy(depth)[None, None])

    big_rgb = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    big_depth = rng.uniform(0.4, 0.9, (360, 640)).astype(np.float32)

    def ground():
        big_rgb[0, 0, 0] = next(counter) % 256  # a new image: no cached forward
        backend.ground("grasp", big_rgb, instruction, depth=big_depth)

    rows = {"embedded 320x240 (text cached)": timed(embedded_cached, args.repeats, "embedded"),
            "embedded 320x240 (text uncached)": timed(embedded_uncached, args.repeats, "embedded+text"),
            "GG-CNN 320x240 (peer)": timed(ggcnn_forward, args.repeats, "ggcnn"),
            "backend.ground 640x360 (grasp)": timed(ground, args.repeats, "ground")}
    n = parameter_count(net)
    print(f"threads: {args.threads}; model: {args.model or 'random weights, training/configs/embedded.yaml'} "
          f"{net.config.widths}")
    print(f"parameters: {n:,} ({n / 1e6:.2f} M); GG-CNN peer: {parameter_count(ggcnn):,}")
    print(f"safetensors: {megabytes:.2f} MB")
    print(f"\n{'':36s} {'p50 ms':>8s} {'p90 ms':>8s}")
    for label, times in rows.items():
        print(f"{label:36s} {np.percentile(times, 50):8.2f} {np.percentile(times, 90):8.2f}")
    p50 = {k: float(np.percentile(v, 50)) for k, v in rows.items()}
    print(f"\nratio embedded / GG-CNN (p50, text cached): "
          f"{p50['embedded 320x240 (text cached)'] / p50['GG-CNN 320x240 (peer)']:.1f}x")
    print(f"goals: ≤ 10 M params: {n <= 10e6}; ≤ 20 MB: {megabytes <= 20}; "
          f"≤ 50 ms/frame: {p50['embedded 320x240 (text cached)'] <= 50}")


if __name__ == "__main__":
    main()
