"""DexVLG's point-cloud encoder in the Uni3D style (Zhou et al., ICLR 2024), batched torch.

A coloured cloud ``(B, N, 6)`` (xyz in the model's normalised frame, rgb 0–1) becomes
``1 + n_groups`` tokens of width ``dim``:

1. :func:`farthest_point_sample` picks ``n_groups`` patch centres (iterative FPS, vectorised over
   the batch; the first centre is the point farthest from the cloud's centroid, so the result is
   deterministic).
2. :func:`knn_group` gathers the ``group_size`` nearest points of every centre (``torch.cdist`` +
   ``topk``); xyz become offsets from the centre, rgb stays.
3. :class:`MiniPointNet` embeds every patch: a shared per-point MLP, a max pool, the pooled feature
   concatenated back onto each point, a second MLP and a second max pool (Point-BERT/Uni3D's group
   encoder; LayerNorm instead of BatchNorm so that a batch of one behaves like a batch of many).
4. The patch embeddings plus an MLP embedding of the centres' xyz go through pre-norm ViT blocks
   (``torch.nn.TransformerEncoderLayer``) behind a learnt CLS token.
"""

from __future__ import annotations

import torch
from torch import nn


def farthest_point_sample(xyz: torch.Tensor, n: int) -> torch.Tensor:
    """Indices ``(B, n)`` of ``n`` farthest-point samples of ``xyz`` ``(B, N, 3)`` (N ≥ n)."""
    batch, count, _ = xyz.shape
    if n > count:
        raise ValueError(f"cannot pick {n} farthest points out of {count}")
    arange = torch.arange(batch, device=xyz.device)
    indices = torch.empty(batch, n, dtype=torch.long, device=xyz.device)
    centroid = xyz.mean(dim=1, keepdim=True)
    nearest = torch.full((batch, count), float("inf"), device=xyz.device, dtype=xyz.dtype)
    farthest = ((xyz - centroid) ** 2).sum(-1).argmax(-1)
    for i in range(n):
        indices[:, i] = farthest
        chosen = xyz[arange, farthest].unsqueeze(1)
        nearest = torch.minimum(nearest, ((xyz - chosen) ** 2).sum(-1))
        farthest = nearest.argmax(-1)
    return indices


def gather(points: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """``points`` ``(B, N, C)`` at ``indices`` ``(B, ...)`` → ``(B, ..., C)``."""
    batch = points.shape[0]
    flat = indices.reshape(batch, -1)
    picked = torch.gather(points, 1, flat.unsqueeze(-1).expand(-1, -1, points.shape[-1]))
    return picked.reshape(*indices.shape, points.shape[-1])


def knn_group(points: torch.Tensor, centres: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` nearest points (by xyz) of each centre: ``(B, G, k, C)`` from ``points``
    ``(B, N, C ≥ 3)`` and ``centres`` ``(B, G, 3)``, nearest first, xyz relative to the centre."""
    distances = torch.cdist(centres, points[..., :3])
    neighbours = distances.topk(k, dim=-1, largest=False).indices
    patches = gather(points, neighbours)
    return torch.cat([patches[..., :3] - centres.unsqueeze(2), patches[..., 3:]], dim=-1)


class MiniPointNet(nn.Module):
    """Patch ``(B, G, k, C)`` → embedding ``(B, G, out_dim)`` (module docstring, step 3)."""

    def __init__(self, in_channels: int, out_dim: int, hidden: int = 128):
        super().__init__()
        self.first = nn.Sequential(nn.Linear(in_channels, hidden), nn.LayerNorm(hidden), nn.GELU(),
                                   nn.Linear(hidden, 2 * hidden))
        self.second = nn.Sequential(nn.Linear(4 * hidden, 4 * hidden), nn.LayerNorm(4 * hidden), nn.GELU(),
                                    nn.Linear(4 * hidden, out_dim))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        features = self.first(patches)
        pooled = features.max(dim=2, keepdim=True).values.expand_as(features)
        return self.second(torch.cat([pooled, features], dim=-1)).max(dim=2).values


class PointEncoder(nn.Module):
    """Uni3D-style encoder: ``(B, N, 6)`` xyz+rgb → ``(B, 1 + n_groups, dim)`` tokens."""

    def __init__(self, n_groups: int, group_size: int, dim: int, depth: int, heads: int,
                 patch_hidden: int = 128, in_channels: int = 6):
        super().__init__()
        self.n_groups, self.group_size = n_groups, group_size
        self.patch_embed = MiniPointNet(in_channels, dim, patch_hidden)
        self.position = nn.Sequential(nn.Linear(3, 128), nn.GELU(), nn.Linear(128, dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.cls_position = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.cls_position, std=0.02)
        block = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, cloud: torch.Tensor) -> torch.Tensor:
        xyz = cloud[..., :3].contiguous()
        centres = gather(xyz, farthest_point_sample(xyz, self.n_groups))
        tokens = self.patch_embed(knn_group(cloud, centres, self.group_size)) + self.position(centres)
        batch = cloud.shape[0]
        tokens = torch.cat([self.cls_token.expand(batch, -1, -1) + self.cls_position.expand(batch, -1, -1),
                            tokens], dim=1)
        return self.norm(self.blocks(tokens))
