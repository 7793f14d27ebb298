"""The embedded grounding + grasp network: a FiLM-conditioned convolutional encoder–decoder on RGB-D.

Input (see :func:`prepare`): an RGB image and a depth image (metres) at the model's input width
(320 px), as 7 channels — RGB normalised with the ImageNet mean/std, depth made relative (minus
the median valid depth, in units of ``depth_scale`` metres, clipped to ±``depth_clip``, 0 where
invalid), a depth-validity channel and two coordinate channels (x, y in [-1, 1], so that "left of"
and "the closest" are learnable). The height is padded to a multiple of 16; outputs are cropped back.

Network: a stride-2 stem (the heavy work runs at ≤ 1/2 resolution), three residual stride-2
encoder stages (1/4, 1/8, 1/16), a bottleneck with one self-attention layer over all 1/16 cells
(global context for relations between objects) and a light U-Net decoder back to 1/2 resolution
(1×1 lateral projection, bilinear upsampling, added to the skip, one 3×3 conv per stage). Every stage is
conditioned on the 384-d sentence embedding by FiLM (``x·(1+γ) + β`` after normalisation), so the
instruction selects the target.

Outputs at 1/2 input resolution (``MAP_NAMES``, logits or raw values): ``heat`` (target centre
heat-map logits), ``mask`` (target mask logits), ``quality`` (grasp quality logits), ``cos``/``sin``
(cos 2θ, sin 2θ of the opening direction θ), ``width`` (opening width / ``width_scale`` px at input
resolution); and ``confidence``, one logit per image: the instruction names something present.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from realvlg.embedded.text import EMBEDDING_DIM

MAP_NAMES = ("heat", "mask", "quality", "cos", "sin", "width")
IN_CHANNELS = 7  # RGB, relative depth, depth validity, x, y
RGB_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
RGB_STD = np.array([0.229, 0.224, 0.225], np.float32)
STRIDE = 16


@dataclass(frozen=True)
class EmbeddedNetConfig:
    """Channel widths of the 1/2, 1/4, 1/8, 1/16 stages, attention heads, text size, and the
    preprocessing constants the weights were trained with."""

    widths: tuple[int, ...] = (32, 48, 96, 192)
    heads: int = 4
    text_dim: int = EMBEDDING_DIM
    input_width: int = 320
    depth_scale: float = 0.1   # metres per unit of relative depth
    depth_clip: float = 5.0
    width_scale: float = 80.0  # px (input resolution) per unit of the width map

    @classmethod
    def tiny(cls) -> "EmbeddedNetConfig":
        return cls(widths=(8, 16, 16, 32), heads=2)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "EmbeddedNetConfig":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "widths" in known:
            known["widths"] = tuple(int(w) for w in known["widths"])
        return cls(**known)


class FiLMConv(nn.Module):
    """conv3×3 → BN → FiLM(text) → ReLU: the decoder's stage."""

    def __init__(self, cin: int, cout: int, text_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.film = nn.Linear(text_dim, 2 * cout)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.film(text)[:, :, None, None].chunk(2, dim=1)
        return F.relu(self.bn(self.conv(x)) * (1 + gamma) + beta)


class FiLMBlock(nn.Module):
    """conv3×3 → BN → FiLM(text) → ReLU → conv3×3 → BN → ReLU, with a residual 1×1 projection."""

    def __init__(self, cin: int, cout: int, text_dim: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.film = nn.Linear(text_dim, 2 * cout)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.film(text)[:, :, None, None].chunk(2, dim=1)
        y = F.relu(self.bn1(self.conv1(x)) * (1 + gamma) + beta)
        return F.relu(self.bn2(self.conv2(y)) + self.skip(x))


def coordinates(b: int, h: int, w: int, device) -> torch.Tensor:
    ys = torch.linspace(-1, 1, h, device=device)
    xs = torch.linspace(-1, 1, w, device=device)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"))
    return grid[None].expand(b, -1, -1, -1)


class EmbeddedNet(nn.Module):
    """``forward(x (B,7,H,W), text (B,384)) -> dict`` of (B,H/2,W/2) maps and (B,) confidence."""

    def __init__(self, config: EmbeddedNetConfig = EmbeddedNetConfig()):
        super().__init__()
        self.config = config
        c0, c1, c2, c3 = config.widths
        t = config.text_dim
        self.stem = nn.Sequential(nn.Conv2d(IN_CHANNELS, c0, 3, 2, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU())
        self.enc0 = FiLMConv(c0, c0, t)
        self.enc1 = FiLMBlock(c0, c1, t, stride=2)
        self.enc2 = FiLMBlock(c1, c2, t, stride=2)
        self.enc3 = FiLMBlock(c2, c3, t, stride=2)
        self.pos = nn.Conv2d(2, c3, 1)
        self.attention = nn.TransformerEncoderLayer(c3, config.heads, 2 * c3, dropout=0.0, batch_first=True,
                                                    norm_first=True)
        self.lateral = nn.ModuleList([nn.Conv2d(c3, c2, 1), nn.Conv2d(c2, c1, 1), nn.Conv2d(c1, c0, 1)])
        self.decoder = nn.ModuleList([FiLMConv(c2, c2, t), FiLMConv(c1, c1, t), FiLMConv(c0, c0, t)])
        self.head = nn.Conv2d(c0, len(MAP_NAMES), 1)
        self.confidence = nn.Sequential(nn.Linear(2 * c3 + t, c3), nn.ReLU(), nn.Linear(c3, 1))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> dict[str, torch.Tensor]:
        x = x.contiguous()  # channels-last views of numpy arrays crash oneDNN's conv backward (torch 2.13)
        h, w = x.shape[-2:]
        pad = (-h) % STRIDE, (-w) % STRIDE
        if any(pad):
            x = F.pad(x, (0, pad[1], 0, pad[0]))
        e0 = self.enc0(self.stem(x), text)
        e1 = self.enc1(e0, text)
        e2 = self.enc2(e1, text)
        e3 = self.enc3(e2, text)
        b, c, hb, wb = e3.shape
        e3 = e3 + self.pos(coordinates(b, hb, wb, e3.device))
        e3 = self.attention(e3.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, c, hb, wb)
        d = e3
        for lateral, decode, skip in zip(self.lateral, self.decoder, (e2, e1, e0)):
            d = decode(F.interpolate(lateral(d), size=skip.shape[-2:], mode="bilinear") + skip, text)
        maps = self.head(d)[..., : (h + 1) // 2, : (w + 1) // 2]
        pooled = torch.cat([e3.mean((2, 3)), e3.amax((2, 3)), text], 1)
        out = {name: maps[:, i] for i, name in enumerate(MAP_NAMES)}
        out["confidence"] = self.confidence(pooled)[:, 0]
        return out


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def prepare(rgb: np.ndarray, depth: np.ndarray, config: EmbeddedNetConfig) -> np.ndarray:
    """(H,W,3) uint8 RGB + (H,W) depth [m] (0/NaN invalid), already at the input width → (7,H,W) float32."""
    h, w = depth.shape
    image = (rgb.astype(np.float32) / 255.0 - RGB_MEAN) / RGB_STD
    valid = np.isfinite(depth) & (depth > 0)
    median = float(np.median(depth[valid])) if valid.any() else 0.0
    rel = np.where(valid, np.clip((np.nan_to_num(depth) - median) / config.depth_scale,
                                  -config.depth_clip, config.depth_clip), 0.0)
    ys, xs = np.meshgrid(np.linspace(-1, 1, h, dtype=np.float32), np.linspace(-1, 1, w, dtype=np.float32),
                         indexing="ij")
    channels = np.concatenate([image.transpose(2, 0, 1), rel[None], valid[None], xs[None], ys[None]])
    return np.ascontiguousarray(channels, dtype=np.float32)
