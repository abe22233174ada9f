"""Low-rank matrix completion (IRED, REFERENCE 3.4) as a ponder task.

Wraps ``matrix_tasks.LowRankCompletion``: R = U V^T / 20 + 0.1 N(0, 1) with U, V ~ N(0, 1)^{n x
10} (``harder`` test split: U V^T / 5 + noise), each entry observed with probability 0.5.
Variables are matrix rows: the n rows of the observed values (zero where unobserved) and the
n rows of the observed mask (1.0 / 0.0) are known, the n rows of R are generated
(``[B, 3n, n]``); sampling keeps R's observed entries at their observed values
(``impose``). The layout names the three matrices as ``graph`` groups, so the pair-feature
denoiser (``model.denoiser=graph``), whose products sum over an index as R R^T R does, reads
them as it reads adjacency matrices. The metric is the MSE over all of R's entries, reported
beside the trivial predictors of ``trivial_baselines`` on the same batch: copy the observed
entries (zero elsewhere) and all zeros.
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
    LowRankCompletion,
    ValidationSwitch,
)
from ponder.variables.layout import VariableLayout

# trivial predictor -> metric key suffix ("mse_copy_observed", ...)
BASELINE_KEYS = {trivial.COPY_OBSERVED: "copy_observed", trivial.ZEROS: "all_zeros"}


@dataclass
class LowRankCompletionConfig(ValidationSwitch):
    name: str = "low_rank_completion"
    size: int = 20
    test_split: str = "same"  # same | harder
    # the model sees the observed values and R times this; its answers are divided back before
    # any metric. R's training entries have variance 0.035: scale 5.35 brings them to 1, the
    # noise's scale (the graph regressor learns nothing past copy-observed at 1, and meets
    # both targets at 5.35: RESULTS 2026-12-06)
    scale: float = 1.0


class LowRankCompletionTask(GeneratedTask):
    metric = "mse"
    baseline_keys = BASELINE_KEYS
    Config = LowRankCompletionConfig
    name = "low_rank_completion"

    def __init__(self, config: LowRankCompletionConfig) -> None:
        if config.test_split not in TEST_SPLITS:
            raise ValueError(
                f"test_split must be one of {list(TEST_SPLITS)}, got {config.test_split!r}"
            )
        if config.size < 1:
            raise ValueError(f"size must be >= 1, got {config.size}")
        if not config.scale > 0:
            raise ValueError(f"scale must be > 0, got {config.scale}")
        self.config = config
        self.energy_task = LowRankCompletion(size=config.size)
        n = config.size
        parts = (0,) * n + (1,) * n + (2,) * n  # three n x n matrices: values, mask, R
        self.layout = VariableLayout(3 * n, n, structure={"part": parts}, graph=parts)
        lo, hi = self.energy_task.spec(config.test_split).data_range
        self.data_range = (lo * config.scale, hi * config.scale)  # in the model's units

    # ------------------------------------------------------------------ data

    def to_batch(self, energy_batch: EnergyBatch) -> Batch:
        n, scale = self.config.size, self.config.scale
        values, mask = energy_batch.condition.unbind(1)  # [B, n, n] each
        x = torch.cat([values * scale, mask, energy_batch.answer * scale], dim=1)  # [B, 3n, n]
        known = torch.zeros(x.shape[:2], dtype=torch.bool)
        known[:, : 2 * n] = True
        return Batch(x, known)

    def to_energy_batch(self, x: Tensor) -> EnergyBatch:
        """Variables ``[B, 3n, n]`` -> condition ``[B, 2, n, n]``, answer R ``[B, n, n]``."""
        n = self.config.size
        if x.dim() != 3 or tuple(x.shape[1:]) != (3 * n, n):
            raise ValueError(
                f"low_rank_completion of size {n} takes variables [B, {3 * n}, {n}], got "
                f"{list(x.shape)}"
            )
        scale = self.config.scale
        values, mask, answer = x.unflatten(1, (3, n)).unbind(1)  # [B, n, n] each
        condition = torch.stack([values / scale, mask], dim=1)  # [B, 2, n, n]
        return EnergyBatch(condition, answer / scale, {"observed": mask > 0.5})

    def impose(self, x0: Tensor, x_known: Tensor) -> Tensor:
        """The clean estimate ``x0 [B, 3n, n]`` with R's observed entries set to their observed
        values (read from the known rows of ``x_known``): the sampler only has to fill in the
        unobserved half, as the copy-observed predictor assumes."""
        n = self.config.size
        values, mask = x_known[:, :n], x_known[:, n : 2 * n]
        answer = torch.where(mask > 0.5, values, x0[:, 2 * n :])
        return torch.cat([x0[:, : 2 * n], answer], dim=1)

    def to_images(self, x: Tensor) -> Tensor:
        """Observed values, mask and R side by side as grey images: ``[B, 1, n, 3n]``."""
        n = self.config.size
        values, mask, answer = x.view(-1, 3, n, n).unbind(1)  # [B, n, n] each
        scale = 2 * self.data_range[1]
        panels = [values / scale + 0.5, mask, answer / scale + 0.5]
        return torch.cat(panels, dim=2)[:, None].clamp(0, 1)

    def dependency(self) -> Tensor:
        n = self.config.size
        return torch.ones(3 * n, 3 * n) - torch.eye(3 * n)
