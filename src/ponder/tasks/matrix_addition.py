"""Matrix addition (IRED, REFERENCE 3.4): given A and B, infer A + B.

A, B ~ U[-r, r]^{n x n} with r = 1 (train, ``same`` test) or 2.5 (``harder`` test, out of the
training range). Variables are matrix rows: the n rows of A and of B are known, the n rows of
the answer are generated (``[B, 3n, n]``). The metric is the MSE over the answer's entries,
reported beside the all-zeros predictor on the same test set. Answers are clamped to the
split's true range (2r), not the training range (one of the original code's slips).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ponder.tasks.base import Batch
from ponder.tasks.matrix_tasks import ValidationSwitch
from ponder.variables.layout import VariableLayout

RANGES = {"same": 1.0, "harder": 2.5}


@dataclass
class MatrixAdditionConfig(ValidationSwitch):
    name: str = "matrix_addition"
    size: int = 20
    test_split: str = "same"  # same | harder


class MatrixAdditionTask:
    Config = MatrixAdditionConfig
    name = "matrix_addition"

    def __init__(self, config: MatrixAdditionConfig) -> None:
        if config.test_split not in RANGES:
            raise ValueError(
                f"test_split must be one of {sorted(RANGES)}, got {config.test_split!r}"
            )
        if config.size < 1:
            raise ValueError(f"size must be >= 1, got {config.size}")
        self.config = config
        n = config.size
        self.layout = VariableLayout(3 * n, n, structure={"part": (0,) * n + (1,) * n + (2,) * n})
        bound = 2 * RANGES[config.test_split]
        self.data_range = (-bound, bound)

    def make(self, count: int, bound: float, generator: torch.Generator) -> Batch:
        n = self.config.size
        a = (torch.rand(count, n, n, generator=generator) * 2 - 1) * bound
        b = (torch.rand(count, n, n, generator=generator) * 2 - 1) * bound
        x = torch.cat([a, b, a + b], dim=1)  # [count, 3n, n]
        known = torch.zeros(count, 3 * n, dtype=torch.bool)
        known[:, : 2 * n] = True
        return Batch(x, known)

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        return self.make(batch_size, RANGES["same"], generator)

    def test_batch(self, n: int, seed: int) -> Batch:
        # test seeds are offset from anything the step-seeded training stream uses; the
        # validation set draws from another offset
        offset = 20_000_039 if self.config.validation else 10_000_019
        generator = torch.Generator().manual_seed(offset + seed)
        return self.make(n, RANGES[self.config.test_split], generator)

    def evaluate(self, x: Tensor, batch: Batch) -> dict[str, float]:
        n = self.config.size
        answer, truth = x[:, 2 * n :], batch.x[:, 2 * n :]
        return {
            "mse": (answer - truth).pow(2).mean().item(),
            "mse_all_zeros": truth.pow(2).mean().item(),
        }

    def to_images(self, x: Tensor) -> Tensor:
        """The three matrices side by side as grey images in [0, 1]: ``[B, 1, n, 3n]``."""
        n = self.config.size
        parts = x.view(-1, 3, n, n) / (2 * self.data_range[1]) + 0.5
        return parts.permute(0, 2, 1, 3).reshape(-1, 1, n, 3 * n).clamp(0, 1)

    def dependency(self) -> Tensor:
        n = self.config.size
        return torch.ones(3 * n, 3 * n) - torch.eye(3 * n)
