"""Matrix inverse (IRED, REFERENCE 3.4) as a ponder task: given A, infer A^{-1}.

Wraps ``matrix_tasks.MatrixInverse`` (A = 2 B B^T + c I, B ~ U[-1, 1]^{n x n}, c = 0.5; the
``harder`` test split has c = 0.1). Variables are matrix rows: the n rows of A are known, the n
rows of the answer are generated (``[B, 2n, n]``). The metric is the MSE over the answer's
entries, reported beside the trivial predictors of ``trivial_baselines`` on the same batch:
all zeros and the constant E[A^{-1}] fitted on training draws (on ``harder`` also the oracle
constant fitted on harder draws). ``from_matrices(a)`` turns the user's own matrices into
conditions, refusing non-square, wrongly sized or singular ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ponder.tasks import trivial_baselines as trivial
from ponder.tasks.base import Batch
from ponder.tasks.generated import GeneratedTask
from ponder.tasks.matrix_tasks import (
    TEST_SPLITS,
    EnergyBatch,
    MatrixInverse,
    ValidationSwitch,
    inverse_target,
)
from ponder.variables.layout import VariableLayout

# trivial predictor -> metric key suffix ("mse_all_zeros", ...)
BASELINE_KEYS = {
    trivial.ZEROS: "all_zeros",
    trivial.MEAN_INVERSE: "constant_mean",
    trivial.MEAN_INVERSE_ORACLE: "constant_mean_oracle",
}


@dataclass
class MatrixInverseConfig(ValidationSwitch):
    name: str = "matrix_inverse"
    size: int = 20
    test_split: str = "same"  # same | harder


class MatrixInverseTask(GeneratedTask):
    metric = "mse"
    baseline_keys = BASELINE_KEYS
    Config = MatrixInverseConfig
    name = "matrix_inverse"

    def __init__(self, config: MatrixInverseConfig) -> None:
        if config.test_split not in TEST_SPLITS:
            raise ValueError(
                f"test_split must be one of {list(TEST_SPLITS)}, got {config.test_split!r}"
            )
        if config.size < 1:
            raise ValueError(f"size must be >= 1, got {config.size}")
        self.config = config
        self.energy_task = MatrixInverse(size=config.size)
        n = config.size
        self.layout = VariableLayout(2 * n, n, structure={"part": (0,) * n + (1,) * n})
        self.data_range = self.energy_task.spec(config.test_split).data_range

    # ------------------------------------------------------------------ data

    def to_batch(self, energy_batch: EnergyBatch) -> Batch:
        n = self.config.size
        x = torch.cat([energy_batch.condition, energy_batch.answer], dim=1)  # [B, 2n, n]
        known = torch.zeros(x.shape[:2], dtype=torch.bool)
        known[:, :n] = True
        return Batch(x, known)

    def to_energy_batch(self, x: Tensor) -> EnergyBatch:
        """Variables ``[B, 2n, n]`` -> condition A ``[B, n, n]`` and answer ``[B, n, n]``."""
        n = self.config.size
        if x.dim() != 3 or tuple(x.shape[1:]) != (2 * n, n):
            raise ValueError(
                f"matrix_inverse of size {n} takes variables [B, {2 * n}, {n}], got {list(x.shape)}"
            )
        return EnergyBatch(x[:, :n], x[:, n:], {})

    def from_matrices(self, a: Tensor) -> Batch:
        """Conditions for the user's matrices ``[B, n, n]``; the answer rows hold A^{-1}.

        ValueError naming the shape for non-square or wrongly sized matrices, naming the
        condition number for singular or ill-conditioned ones (``inverse_target``).
        """
        n = self.config.size
        if a.dim() != 3 or a.shape[-1] != a.shape[-2]:
            raise ValueError(f"matrix_inverse takes square matrices [B, n, n], got {list(a.shape)}")
        if a.shape[-1] != n:
            raise ValueError(
                f"matrix_inverse of size {n} takes [B, {n}, {n}] matrices, got {list(a.shape)}"
            )
        a = a.float()
        return self.to_batch(EnergyBatch(a, inverse_target(a), {}))

    def to_images(self, x: Tensor) -> Tensor:
        """A and the answer side by side, each scaled to [0, 1]: ``[B, 1, n, 2n]``."""
        n = self.config.size
        a, answer = x.view(-1, 2, n, n).unbind(1)  # [B, n, n] each
        a = a / a.abs().amax(dim=(1, 2), keepdim=True).clamp_min(1e-8) / 2 + 0.5
        answer = answer / (2 * self.data_range[1]) + 0.5
        return torch.cat([a, answer], dim=2)[:, None].clamp(0, 1)

    def dependency(self) -> Tensor:
        n = self.config.size
        return torch.ones(2 * n, 2 * n) - torch.eye(2 * n)
