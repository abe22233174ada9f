"""What the tasks wrapping an IRED generator (``matrix_tasks``, ``graph_tasks``) share.

A subclass sets ``energy_task`` (the generator), ``config.test_split``, the metric's name and
``baseline_keys`` (trivial predictor -> metric suffix), and converts between the generator's
``EnergyBatch`` and ponder variables with ``to_batch`` / ``to_energy_batch``. Training draws
come from the generator's ``train`` split; tests are the fixed seeded test set of the split
(``task.validation=true``: its validation set, other seeds);
``evaluate`` scores the trivial predictors on the same batch beside the model. A graph task
with ``train_nodes = (lo, hi)`` draws each training batch's node count from lo..hi.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from functools import cached_property
from typing import ClassVar

import torch
from torch import Tensor

from ponder.tasks import trivial_baselines as trivial
from ponder.tasks.base import Batch
from ponder.tasks.matrix_tasks import EnergyBatch
from ponder.tasks.matrix_tasks import test_set as fixed_test_set


class GeneratedTask(ABC):
    metric: ClassVar[str]  # "mse" | "accuracy" | "first_action_success"
    baseline_keys: ClassVar[dict[str, str]]
    train_nodes: tuple[int, ...] = ()  # graph tasks: (lo, hi) node counts drawn per batch

    @abstractmethod
    def to_batch(self, energy_batch: EnergyBatch) -> Batch:
        """The generator's batch as ponder variables (known = the problem's inputs)."""

    @abstractmethod
    def to_energy_batch(self, x: Tensor) -> EnergyBatch:
        """Variables ``[B, N, D]`` back to the generator's batch (its metric reads that)."""

    @property
    def sizes_vary(self) -> bool:
        """Training batches of other sizes than the layout's (``train_nodes``)."""
        return bool(self.train_nodes)

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        task = self.energy_task
        if self.train_nodes:  # one node count per batch: [B, rows(n), n]
            lo, hi = self.train_nodes
            n = int(torch.randint(lo, hi + 1, (), generator=generator))
            task = replace(task, nodes=n, harder_nodes=max(n, task.harder_nodes))
        return self.to_batch(task.make_batch(batch_size, "train", generator))

    def test_batch(self, n: int, seed: int) -> Batch:
        """The first ``n`` of the fixed test set of ``test_split`` (its validation set where
        ``config.validation``); ``seed`` is ignored."""
        split, validation = self.config.test_split, self.config.validation
        return self.to_batch(fixed_test_set(self.energy_task, split, n, validation))

    @cached_property
    def baselines(self) -> dict[str, trivial.Predictor]:
        """Trivial predictors, fitted once on 10,000 training draws (seed 0) as in the table
        of ``docs/energy_tasks.md``."""
        return trivial.predictors_for(self.energy_task, self.config.test_split, 10_000, 0)

    def evaluate(self, x: Tensor, batch: Batch) -> dict[str, float]:
        split, truth = self.config.test_split, self.to_energy_batch(batch.x)
        prediction = self.to_energy_batch(x).answer
        per_sample = self.energy_task.metric(prediction, truth.answer, truth.extra, split)  # [B]
        scores = {self.metric: per_sample.mean().item()}
        for predictor, score in self.baselines.items():
            scores[f"{self.metric}_{self.baseline_keys[predictor]}"] = score(truth).mean().item()
        return scores
