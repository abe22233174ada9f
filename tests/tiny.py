"""Shared test settings: a tiny Even Pixels model that trains in seconds, and a helper that
wakes zero-initialised networks up."""

import torch

# 8x8 images as 4 patches of 4x4, a one-block transformer of width 32
TINY_EVEN_PIXELS = [
    "task.size=8",
    "task.patch=4",
    "model.transformer.width=32",
    "model.transformer.depth=1",
    "model.transformer.heads=2",
    "train.progress=false",
]


def perturb(net: torch.nn.Module, scale: float = 0.05) -> None:
    """Zero-initialised output layers make every input map to 0; wake them up."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
