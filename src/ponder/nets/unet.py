"""A small UNet denoiser with a per-pixel time map built from per-variable embeddings.

The variables are image patches; each pixel's noise level is that of its patch. Instead of an
MLP per pixel (what the original SRM UNet does at every resolution, very expensive), t is
embedded once per variable (``[B, N] -> [B, N, E]``), laid out as a map ``[B, E, rows, cols]``
and resized to each feature map (nearest for finer maps, which patches tile exactly; average
for coarser ones). Each ResBlock turns it into a per-pixel scale and shift with a 1x1 conv.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ponder.nets.attention import attention
from ponder.nets.embeddings import LabelEmbedding, TimeEmbedding
from ponder.nets.output import DenoiserOutput
from ponder.variables.layout import VariableLayout


@dataclass
class UNetConfig:
    channels: int = 64
    multipliers: tuple[int, ...] = (1, 2, 2)
    blocks_per_level: int = 2
    attention: bool = True  # self-attention at the lowest resolution
    dropout: float = 0.0
    groups: int = 8
    time_width: int = 128


def variables_to_image(x: Tensor, layout: VariableLayout) -> Tensor:
    """``[B, N, C*p*p] -> [B, C, rows*p, cols*p]`` (patches row-major, channel-major inside)."""
    (rows, cols), (c, p, _) = layout.grid, layout.patch
    b = x.shape[0]
    return (
        x.reshape(b, rows, cols, c, p, p)
        .permute(0, 3, 1, 4, 2, 5)
        .reshape(b, c, rows * p, cols * p)
    )


def image_to_variables(img: Tensor, layout: VariableLayout) -> Tensor:
    """Inverse of ``variables_to_image``: ``[B, C, H, W] -> [B, N, C*p*p]``."""
    (rows, cols), (c, p, _) = layout.grid, layout.patch
    b = img.shape[0]
    x = img.reshape(b, c, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5)  # [B, r, c, C, p, p]
    return x.reshape(b, rows * cols, c * p * p)


def _resize_map(time_map: Tensor, size: tuple[int, int]) -> Tensor:
    """Per-variable map ``[B, E, rows, cols]`` -> ``[B, E, h, w]`` for a feature map."""
    if time_map.shape[-2:] == size:
        return time_map
    if size[0] >= time_map.shape[-2]:
        return F.interpolate(time_map, size=size, mode="nearest")
    return F.adaptive_avg_pool2d(time_map, size)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.film = nn.Conv2d(emb, 2 * cout, 1)  # per-pixel scale and shift from the time map
        self.norm2 = nn.GroupNorm(min(groups, cout), cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, h: Tensor, time_map: Tensor) -> Tensor:
        out = self.conv1(F.silu(self.norm1(h)))
        scale, shift = self.film(_resize_map(time_map, h.shape[-2:])).chunk(2, dim=1)
        out = self.norm2(out) * (1 + scale) + shift
        out = self.conv2(self.dropout(F.silu(out)))
        return self.skip(h) + out


class Attention(nn.Module):
    def __init__(self, ch: int, groups: int, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads if ch % heads == 0 else 1
        self.norm = nn.GroupNorm(min(groups, ch), ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: Tensor) -> Tensor:
        b, c, hh, ww = h.shape
        qkv = self.qkv(self.norm(h)).reshape(b, 3, self.heads, c // self.heads, hh * ww)
        q, k, v = (qkv[:, i].transpose(-1, -2) for i in range(3))  # [B, heads, HW, c/heads]
        out = attention(q, k, v).transpose(-1, -2).reshape(b, c, hh, ww)
        return h + self.proj(out)


class UNetDenoiser(nn.Module):
    """``(x [B, N, D], t [B, N], label [B] | None) -> DenoiserOutput`` on image patches."""

    def __init__(self, layout: VariableLayout, config: UNetConfig, uncertainty: bool = False):
        super().__init__()
        if layout.grid is None or layout.patch is None:
            raise ValueError("the UNet needs image-patch variables (a layout with grid and patch)")
        c_img, height, width = layout.image_shape
        factor = 2 ** (len(config.multipliers) - 1)
        if height % factor or width % factor:
            raise ValueError(
                f"image size {height}x{width} must be divisible by {factor} for "
                f"{len(config.multipliers)} levels"
            )
        self.layout, self.config = layout, config
        ch, emb, g = config.channels, config.time_width, config.groups
        self.time = TimeEmbedding(emb)
        self.label = LabelEmbedding(layout.num_classes, emb) if layout.num_classes else None
        self.stem = nn.Conv2d(c_img, ch, 3, padding=1)
        self.down, skips, cur = nn.ModuleList(), [ch], ch
        for level, mult in enumerate(config.multipliers):
            for _ in range(config.blocks_per_level):
                self.down.append(ResBlock(cur, ch * mult, emb, g, config.dropout))
                cur = ch * mult
                skips.append(cur)
            if level < len(config.multipliers) - 1:
                self.down.append(nn.Conv2d(cur, cur, 3, stride=2, padding=1))
                skips.append(cur)
        self.mid1 = ResBlock(cur, cur, emb, g, config.dropout)
        self.mid_attn = Attention(cur, g) if config.attention else nn.Identity()
        self.mid2 = ResBlock(cur, cur, emb, g, config.dropout)
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(config.multipliers))):
            for _ in range(config.blocks_per_level + 1):
                self.up.append(ResBlock(cur + skips.pop(), ch * mult, emb, g, config.dropout))
                cur = ch * mult
            if level > 0:
                self.up.append(
                    nn.Sequential(
                        nn.Upsample(scale_factor=2, mode="nearest"),
                        nn.Conv2d(cur, cur, 3, padding=1),
                    )
                )
        self.norm_out = nn.GroupNorm(min(g, cur), cur)
        self.out = nn.Conv2d(cur, c_img, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.logvar_head = nn.Conv2d(cur, 1, 3, padding=1) if uncertainty else None
        if self.logvar_head is not None:
            nn.init.zeros_(self.logvar_head.weight)
            nn.init.zeros_(self.logvar_head.bias)

    def forward(self, x: Tensor, t: Tensor, label: Tensor | None = None) -> DenoiserOutput:
        b = x.shape[0]
        rows, cols = self.layout.grid
        per_variable = self.time(t)  # [B, N] -> [B, N, E]
        if self.label is not None:
            if label is None:
                label = torch.full((b,), -1, dtype=torch.long, device=x.device)
            per_variable = per_variable + self.label(label)[:, None, :]
        time_map = per_variable.transpose(1, 2).reshape(b, -1, rows, cols)  # [B, E, rows, cols]
        h = self.stem(variables_to_image(x, self.layout))
        skips = [h]
        for layer in self.down:
            h = layer(h, time_map) if isinstance(layer, ResBlock) else layer(h)
            skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, time_map)), time_map)
        for layer in self.up:
            if isinstance(layer, ResBlock):
                h = layer(torch.cat([h, skips.pop()], dim=1), time_map)
            else:
                h = layer(h)
        h = F.silu(self.norm_out(h))
        mean = image_to_variables(self.out(h), self.layout)
        logvar = None
        if self.logvar_head is not None:
            p = self.layout.patch[1]
            pixel = self.logvar_head(h).reshape(b, rows, p, cols, p)  # one value per pixel
            logvar = pixel.mean(dim=(2, 4)).reshape(b, rows * cols)  # [B, N]
        return DenoiserOutput(mean, logvar)
