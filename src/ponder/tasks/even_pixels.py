"""Even Pixels (REFERENCE 1.6): half the pixels one hue, half the opposite hue.

A 32x32 HSV image, hue offset h ~ U(0, 0.5); exactly 512 random pixels have hue h and 512 have
hue h + 0.5, saturation 1, value 0.7. A model must get the *count* right, a global constraint
that parallel diffusion tends to hallucinate away. Variables are p x p RGB patches in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ponder.tasks.base import Batch
from ponder.variables.patches import PatchMapper


@dataclass
class EvenPixelsConfig:
    name: str = "even_pixels"
    size: int = 32
    patch: int = 4
    saturation: float = 1.0
    value: float = 0.7


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """``[B, 3, H, W]`` HSV in [0, 1] -> RGB in [0, 1]."""
    h, s, v = hsv.unbind(1)
    k = torch.stack([(5 + 6 * h) % 6, (3 + 6 * h) % 6, (1 + 6 * h) % 6], 1)  # [B, 3, H, W]
    return v[:, None] - (v * s)[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))


def rgb_to_hsv(rgb: Tensor) -> Tensor:
    """``[B, 3, H, W]`` RGB in [0, 1] -> HSV in [0, 1] (hue 0 where the colour is grey)."""
    r, g, b = rgb.unbind(1)
    cmax, argmax = rgb.max(1)
    delta = cmax - rgb.min(1).values
    safe = delta.clamp_min(1e-12)
    hue = torch.stack([((g - b) / safe) % 6, (b - r) / safe + 2, (r - g) / safe + 4], 1)
    hue = hue.gather(1, argmax[:, None]).squeeze(1) / 6
    hue = torch.where(delta > 0, hue, torch.zeros_like(hue)) % 1.0
    sat = torch.where(cmax > 0, delta / cmax.clamp_min(1e-12), torch.zeros_like(cmax))
    return torch.stack([hue, sat, cmax], 1)


@dataclass(frozen=True)
class EvenPixelsMetrics:
    is_color_count_even: float  # share of images with exactly half the pixels per hue
    color_count_error: float  # mean |count - half|
    saturation_std: float  # mean per-image std of saturation (0 for perfect images)
    value_std: float  # mean per-image std of value


def even_pixels_metrics(images: Tensor) -> EvenPixelsMetrics:
    """Evaluate RGB images ``[B, 3, H, W]`` in [-1, 1] as REFERENCE 1.6 describes.

    256-bin hue histogram; the pixels in the half of the hue circle centred on the peak bin
    (128 bins) are counted; error = |count - H*W/2|.
    """
    hsv = rgb_to_hsv(((images.float() + 1) / 2).clamp(0, 1))
    hue, sat, val = hsv[:, 0].flatten(1), hsv[:, 1].flatten(1), hsv[:, 2].flatten(1)
    bins = (hue * 256).long().clamp(0, 255)  # [B, P]
    hist = torch.zeros(bins.shape[0], 256).scatter_add_(1, bins, torch.ones_like(hue))
    peak = hist.argmax(1, keepdim=True)  # [B, 1]
    offset = (bins - peak + 64) % 256  # peak bin sits at offset 64 of the half [0, 128)
    count = (offset < 128).sum(1)
    error = (count - hue.shape[1] // 2).abs().float()
    return EvenPixelsMetrics(
        is_color_count_even=(error == 0).float().mean().item(),
        color_count_error=error.mean().item(),
        saturation_std=sat.std(1).mean().item(),
        value_std=val.std(1).mean().item(),
    )


class EvenPixelsTask:
    Config = EvenPixelsConfig
    name = "even_pixels"

    def __init__(self, config: EvenPixelsConfig) -> None:
        if config.size % 2 or config.size < 2:
            raise ValueError(f"image size must be even and >= 2, got {config.size}")
        self.config = config
        self.mapper = PatchMapper(3, config.size, config.size, config.patch)
        self.layout = self.mapper.layout()

    def images(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` ground-truth images ``[n, 3, S, S]`` in [-1, 1]."""
        c, pixels = self.config, self.config.size**2
        offset = torch.rand(n, 1, generator=generator) * 0.5  # [n, 1]
        rank = torch.rand(n, pixels, generator=generator).argsort(1)  # random permutation
        second = rank < pixels // 2  # exactly half the pixels
        hue = (offset + 0.5 * second).view(n, c.size, c.size)
        hsv = torch.stack(
            [hue, torch.full_like(hue, c.saturation), torch.full_like(hue, c.value)], 1
        )
        return hsv_to_rgb(hsv) * 2 - 1

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        x = self.mapper.to_variables(self.images(batch_size, generator))
        return Batch(x, torch.zeros(x.shape[:2], dtype=torch.bool))

    def test_batch(self, n: int, seed: int) -> Batch:
        """Unconditional task: nothing known; the ground truth is only for reference."""
        return self.train_batch(n, torch.Generator().manual_seed(seed))

    def evaluate(self, x: Tensor, batch: Batch) -> dict[str, float]:
        m = even_pixels_metrics(self.mapper.to_images(x))
        return dict(m.__dict__)

    def to_images(self, x: Tensor) -> Tensor:
        """Variables -> displayable RGB images ``[B, 3, H, W]`` in [0, 1]."""
        return ((self.mapper.to_images(x) + 1) / 2).clamp(0, 1)

    def dependency(self) -> Tensor:
        return self.mapper.dependency()
