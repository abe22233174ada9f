"""Image grids as PNG (Pillow only)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ponder.checkpoint import atomic_write


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``[B, C, H, W]`` in [0, 1] -> ``[B, H, W, 3]`` uint8 (grey images are repeated)."""
    x = (images.detach().float().clamp(0, 1) * 255).round().byte().cpu()
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    return x.permute(0, 2, 3, 1).numpy()


def grid(
    images: torch.Tensor, columns: int | None = None, pad: int = 2, scale: int = 1
) -> Image.Image:
    """Tile ``[B, C, H, W]`` images in [0, 1] into one picture, white padding between."""
    pixels = to_uint8(images)
    b, h, w, _ = pixels.shape
    cols = columns or math.ceil(math.sqrt(b))
    rows = math.ceil(b / cols)
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(b):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y : y + h, x : x + w] = pixels[i]
    picture = Image.fromarray(canvas)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def save_png(picture: Image.Image, path: str | Path) -> Path:
    import io

    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    atomic_write(Path(path), buffer.getvalue())
    return Path(path)
