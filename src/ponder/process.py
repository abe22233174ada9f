"""A record of the denoising process and the pictures drawn from it (Pillow only).

``ProcessRecorder`` is a callback for ``sampling.sample``: per step it keeps the t vector and,
optionally, the current clean estimate, on the CPU. Nothing is recorded unless it is passed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from ponder.checkpoint import atomic_write
from ponder.sampling import StepState


@dataclass
class ProcessRecorder:
    """Keeps ``t [B, N]`` (and ``x0 [B, N, D]`` if ``keep_x0``) after every ``every``-th step."""

    keep_x0: bool = True
    every: int = 1
    samples: int | None = None  # keep only the first ``samples`` of the batch
    t: list[Tensor] = field(default_factory=list)
    x0: list[Tensor] = field(default_factory=list)
    first_run_only: bool = True  # when sampling runs batch after batch, keep the first
    _closed: bool = False

    def __call__(self, state: StepState) -> None:
        if self.first_run_only and state.step == 0 and self.t:
            self._closed = True
        if self._closed or state.step % self.every:
            return
        keep = slice(None, self.samples)
        self.t.append(state.t[keep].detach().cpu().clone())
        if self.keep_x0:
            self.x0.append(state.x0[keep].detach().cpu().float().clone())

    def t_record(self) -> Tensor:
        """``[S, B, N]``."""
        return torch.stack(self.t)


def finish_order(t_record: Tensor, known: Tensor | None = None) -> Tensor:
    """Step at which each variable first reached t = 0: ``[S, B, N] -> [B, N]``; known
    variables (t = 0 throughout) get -1."""
    done = t_record == 0
    order = done.float().argmax(0)  # first True along steps
    if known is not None:
        order = order.masked_fill(known.cpu(), -1)
    return order


def active_counts(t_record: Tensor, known: Tensor | None = None) -> Tensor:
    """Variables whose t decreased in each step, averaged over the batch: ``[S]``.
    Before the first step unknown variables are at t = 1 and ``known [B, N]`` ones at 0."""
    start = torch.ones_like(t_record[:1])
    if known is not None:
        start = start.masked_fill(known.cpu()[None], 0.0)
    before = torch.cat([start, t_record[:-1]])
    return (t_record < before).float().sum(-1).mean(-1)


def _png_bytes(picture: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=kwargs.pop("format", "PNG"), **kwargs)
    return buffer.getvalue()


def save_process_gif(frames: np.ndarray, path: str | Path, fps: float = 8.0) -> Path:
    """Animated GIF of ``frames [S, H, W, 3]`` uint8; the last frame is held for a second."""
    images = [Image.fromarray(f) for f in frames]
    duration = [int(1000 / fps)] * (len(images) - 1) + [1000]
    data = _png_bytes(
        images[0], format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
    )
    atomic_write(Path(path), data)
    return Path(path)


def _colour(value: np.ndarray) -> np.ndarray:
    """A perceptually ordered dark-blue -> green -> yellow ramp for values in [0, 1]."""
    stops = np.array(
        [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]],
        dtype=np.float64,
    )
    pos = np.clip(value, 0, 1) * (len(stops) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - lo)[..., None]
    return (stops[lo] * (1 - frac) + stops[lo + 1] * frac).astype(np.uint8)


def save_order_heatmap(order: Tensor, path: str | Path, cell: int = 28) -> Path:
    """Heatmap of the step at which each variable finished, ``order [rows, cols]`` (-1 = known,
    drawn grey); step numbers are written in cells of 16 px or more."""
    values = order.cpu().numpy().astype(np.float64)
    known = values < 0
    top = max(values.max(), 1.0)
    rgb = _colour(values / top)
    rgb[known] = (160, 160, 160)
    picture = Image.fromarray(rgb).resize((rgb.shape[1] * cell, rgb.shape[0] * cell), Image.NEAREST)
    if cell >= 16:
        draw, font = ImageDraw.Draw(picture), ImageFont.load_default()
        for (r, c), v in np.ndenumerate(values):
            if v >= 0:
                shade = (255, 255, 255) if v / top < 0.6 else (0, 0, 0)
                draw.text(
                    (c * cell + 3, r * cell + cell // 2 - 6), str(int(v)), fill=shade, font=font
                )
    atomic_write(Path(path), _png_bytes(picture))
    return Path(path)


def save_active_plot(counts: Tensor, path: str | Path, title: str = "") -> Path:
    """Line plot of ``counts [S]`` (active variables per step) with axes and tick labels."""
    width, height, left, bottom, pad = 480, 240, 48, 32, 12
    picture = Image.new("RGB", (width, height), "white")
    draw, font = ImageDraw.Draw(picture), ImageFont.load_default()
    y = counts.cpu().numpy().astype(np.float64)
    top = max(float(y.max()), 1.0)
    x0, x1, y0, y1 = left, width - pad, height - bottom, pad + (12 if title else 0)

    def point(i: int, v: float) -> tuple[float, float]:
        return (x0 + (x1 - x0) * i / max(len(y) - 1, 1), y0 - (y0 - y1) * v / top)

    draw.line([(x0, y1), (x0, y0), (x1, y0)], fill="black")
    for frac in (0.0, 0.5, 1.0):
        ty = y0 - (y0 - y1) * frac
        draw.line([(x0 - 4, ty), (x0, ty)], fill="black")
        draw.text((4, ty - 6), f"{top * frac:.1f}", fill="black", font=font)
        tx = x0 + (x1 - x0) * frac
        draw.line([(tx, y0), (tx, y0 + 4)], fill="black")
        draw.text((tx - 8, y0 + 6), str(round((len(y) - 1) * frac) + 1), fill="black", font=font)
    draw.text((x1 - 30, y0 + 18), "step", fill="black", font=font)
    if title:
        draw.text((x0, 2), title, fill="black", font=font)
    draw.line(
        [point(i, v) for i, v in enumerate(y)] if len(y) > 1 else [point(0, y[0])] * 2,
        fill=(33, 100, 200),
        width=2,
    )
    atomic_write(Path(path), _png_bytes(picture))
    return Path(path)
