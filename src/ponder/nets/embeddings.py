"""Time and label embeddings shared by the denoisers.

Every variable has its own noise level, so time embeddings are computed per variable
(``t: [B, N] -> [B, N, E]``) and broadcast over that variable's tokens or pixels; never per pixel.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sinusoidal_features(t: Tensor, dim: int, scale: float = 1000.0) -> Tensor:
    """Sinusoidal features of ``scale * t``: ``[...] -> [..., dim]`` (dim even)."""
    if dim % 2:
        raise ValueError(f"sinusoidal feature dim must be even, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    angles = (scale * t.float()).unsqueeze(-1) * freqs  # [..., half]
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


class TimeEmbedding(nn.Module):
    """t in [0, 1] -> sinusoidal features -> MLP: ``[...] -> [..., width]``."""

    def __init__(self, width: int, features: int = 256) -> None:
        super().__init__()
        self.features = features
        self.mlp = nn.Sequential(nn.Linear(features, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: Tensor) -> Tensor:
        return self.mlp(sinusoidal_features(t, self.features).to(self.mlp[0].weight.dtype))


class LabelEmbedding(nn.Module):
    """Class label -> vector; index ``num_classes`` is the 'no label' token used by
    classifier-free guidance (labels < 0 map to it)."""

    def __init__(self, num_classes: int, width: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.table = nn.Embedding(num_classes + 1, width)

    def forward(self, label: Tensor) -> Tensor:
        label = torch.where(label < 0, torch.full_like(label, self.num_classes), label)
        return self.table(label)
