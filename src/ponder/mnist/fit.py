"""The small training loop of the judge and the autoencoder: AdamW with a cosine decay on
random mini-batches of digit images, randomly shifted, rotated and scaled.

These models train in a minute on two CPU cores; a plain loop keeps ``ponder judge`` free of
Lightning's start-up cost. Every random draw comes from one ``torch.Generator(seed)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def to_unit(images: np.ndarray | Tensor) -> Tensor:
    """uint8 ``[..., 28, 28]`` -> float ``[..., 28, 28]`` in [0, 1]."""
    return torch.as_tensor(np.asarray(images), dtype=torch.float32) / 255.0


def augment(
    x: Tensor,
    generator: torch.Generator,
    degrees: float = 12.0,
    shift: float = 2.0,
    scale: float = 0.1,
) -> Tensor:
    """Random affine images ``[B, 1, 28, 28]``: rotation +-degrees, shift +-shift pixels,
    scale 1 +- scale (bilinear, zero padding)."""
    b = x.shape[0]
    u = torch.rand(b, 4, generator=generator) * 2 - 1  # [B, 4] in [-1, 1]
    angle = u[:, 0] * math.radians(degrees)
    s = 1 + u[:, 1] * scale
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack(
        [
            torch.stack([cos, -sin, u[:, 2] * shift * 2 / 28], 1),
            torch.stack([sin, cos, u[:, 3] * shift * 2 / 28], 1),
        ],
        1,
    )  # [B, 2, 3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def fit(
    module: nn.Module,
    loss_fn: Callable[[nn.Module, Tensor, Tensor], Tensor],
    images: Tensor,
    labels: Tensor,
    steps: int,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    augmented: bool = True,
    log: Callable[[int, float], None] | None = None,
) -> nn.Module:
    """Train ``module`` on ``images [N, 1, 28, 28]`` in [0, 1] and ``labels [N]`` for ``steps``
    steps of ``loss_fn(module, x, y)``; returns it in eval mode."""
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps} and {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps))
    )
    module.train()
    for step in range(steps):
        index = torch.randint(0, len(images), (batch_size,), generator=generator)
        x = images[index]
        if augmented:
            x = augment(x, generator)
        loss = loss_fn(module, x, labels[index])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log is not None and (step % 100 == 0 or step == steps - 1):
            log(step, loss.item())
    return module.eval()
