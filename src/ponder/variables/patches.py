"""Images <-> square patches as variables."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ponder.variables.layout import VariableLayout


@dataclass(frozen=True)
class PatchMapper:
    """``[B, C, H, W] <-> [B, N, C*p*p]`` with N = (H/p) * (W/p) patches in row-major order."""

    channels: int
    height: int
    width: int
    patch: int

    def __post_init__(self) -> None:
        if self.patch < 1 or self.height % self.patch or self.width % self.patch:
            raise ValueError(
                f"patch size {self.patch} must divide the image size {self.height}x{self.width}"
            )

    @property
    def grid(self) -> tuple[int, int]:
        return self.height // self.patch, self.width // self.patch

    def layout(self, num_classes: int = 0, **structure: tuple[int, ...]) -> VariableLayout:
        rows, cols = self.grid
        return VariableLayout(
            num_variables=rows * cols,
            dim=self.channels * self.patch**2,
            grid=(rows, cols),
            patch=(self.channels, self.patch, self.patch),
            structure={
                "row": tuple(i // cols for i in range(rows * cols)),
                "col": tuple(i % cols for i in range(rows * cols)),
                **structure,
            },
            num_classes=num_classes,
        )

    def to_variables(self, images: Tensor) -> Tensor:
        expected = (self.channels, self.height, self.width)
        if images.dim() != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"expected images of shape [B, {', '.join(map(str, expected))}], "
                f"got {list(images.shape)}"
            )
        b, c = images.shape[:2]
        (rows, cols), p = self.grid, self.patch
        x = images.reshape(b, c, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5)  # [B,r,c,C,p,p]
        return x.reshape(b, rows * cols, c * p * p)

    def to_images(self, x: Tensor) -> Tensor:
        b = x.shape[0]
        (rows, cols), p, c = self.grid, self.patch, self.channels
        x = x.reshape(b, rows, cols, c, p, p).permute(0, 3, 1, 4, 2, 5)  # [B,C,r,p,c,p]
        return x.reshape(b, c, self.height, self.width)

    def dependency(self, radius: int = 1) -> Tensor:
        """Patch locality: 1 where two patches are within ``radius`` grid steps
        (Chebyshev distance), 0 elsewhere and on the diagonal. ``[N, N]``."""
        rows, cols = self.grid
        r = torch.arange(rows * cols) // cols
        c = torch.arange(rows * cols) % cols
        near = ((r[:, None] - r[None]).abs() <= radius) & ((c[:, None] - c[None]).abs() <= radius)
        return (near & ~torch.eye(rows * cols, dtype=torch.bool)).float()
