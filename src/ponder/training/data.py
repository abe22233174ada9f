"""Training data generated on the fly: everything random about a step, drawn by the loader.

Step ``i`` draws the *global* batch (data, label dropout, noise levels, loss weights, noise)
from generators seeded by (seed, i) alone; each of ``world`` processes keeps its own slice. So:
- resuming at step k regenerates exactly the batches k, k+1, ... of an uninterrupted run;
- a data-parallel run over W processes sees the same global batch as a single process (its
  averaged gradient matches within float tolerance), and no two ranks share a sample;
- DataLoader workers can generate ahead without touching the training step's randomness.
Each process generates the whole global batch and keeps 1/W of it; for the generated tasks
here that costs far less than the model step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ponder.model import NoiseDraw, draw_noise
from ponder.tasks.base import check_batch


class TrainBatch(NamedTuple):
    x: Tensor  # [b, N, D] clean variables
    known: Tensor  # [b, N] observed variables
    label: Tensor | None  # [b] class labels after dropout (-1 = dropped), or None
    noise: NoiseDraw  # t, weight [b, N]; eps [b, N, D]
    x_negative: Tensor | None = None  # [b, N, D] task-made wrong answers (energy models)

    def to(self, device) -> TrainBatch:
        label = None if self.label is None else self.label.to(device)
        noise = NoiseDraw(*(v.to(device) for v in self.noise))
        negative = None if self.x_negative is None else self.x_negative.to(device)
        return TrainBatch(self.x.to(device), self.known.to(device), label, noise, negative)


def step_seed(seed: int, step: int, stream: int) -> int:
    """A distinct 63-bit seed per (run seed, step, stream)."""
    h = seed * 0x9E3779B97F4A7C15 + step * 0xBF58476D1CE4E5B9 + stream * 0x94D049BB133111EB
    return h % (2**63 - 1)


class StepBatches(Dataset):
    """Item ``i`` = this rank's slice of the global batch of step ``start + i``."""

    def __init__(
        self,
        task,
        time_sampler,
        start: int,
        stop: int,
        global_batch: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        label_dropout: float = 0.0,
        negatives: bool = False,
    ):
        if global_batch % world:
            raise ValueError(f"batch size {global_batch} is not divisible by {world} processes")
        self.task, self.time_sampler = task, time_sampler
        self.start, self.stop, self.global_batch, self.seed = start, stop, global_batch, seed
        self.rank, self.world, self.label_dropout = rank, world, label_dropout
        self.negatives = negatives  # ask the task for wrong answers (energy models only)

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index: int) -> TrainBatch:
        step = self.start + index
        data_gen = torch.Generator().manual_seed(step_seed(self.seed, step, 0))
        batch = self.task.train_batch(self.global_batch, data_gen)
        layout = self.task.layout
        if not getattr(self.task, "sizes_vary", False):  # e.g. connectivity's train_nodes
            check_batch(batch, layout.num_variables, layout.dim, f"task {self.task.name!r}")
        noise_gen = torch.Generator().manual_seed(step_seed(self.seed, step, 1))
        noise = draw_noise(batch.x.shape, batch.known, self.time_sampler, noise_gen)
        label = batch.label
        if label is not None and self.label_dropout > 0:  # classifier-free guidance
            drop = torch.rand(label.shape, generator=noise_gen) < self.label_dropout
            label = label.masked_fill(drop, -1)
        part = slice(
            self.rank * self.global_batch // self.world,
            (self.rank + 1) * self.global_batch // self.world,
        )
        negative = None
        if self.negatives and hasattr(self.task, "negatives"):  # e.g. resampled Sudoku cells
            negative = self.task.negatives(batch.x, batch.known, noise_gen)[part]
        return TrainBatch(
            batch.x[part],
            batch.known[part],
            None if label is None else label[part],
            NoiseDraw(*(v[part] for v in noise)),
            negative,
        )


def collate_one(batch: TrainBatch) -> TrainBatch:
    """The dataset already returns whole batches."""
    return batch
