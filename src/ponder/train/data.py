"""Training data generated on the fly, one whole batch per step.

Batch ``i`` of rank ``r`` is drawn from a generator seeded by (seed, i, r), so the data does not
depend on how the run was interrupted or how many processes share it: resuming at step k
regenerates exactly batches k, k+1, ...; each rank of a data-parallel run draws its own shard.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from ponder.tasks.base import Batch, check_batch


def step_seed(seed: int, step: int, rank: int, stream: int) -> int:
    """A distinct 63-bit seed per (run seed, step, rank, stream)."""
    h = seed * 0x9E3779B97F4A7C15 + step * 0xBF58476D1CE4E5B9 + rank * 0x94D049BB133111EB
    return (h + stream * 0x2545F4914F6CDD1D) % (2**63 - 1)


class StepBatches(Dataset):
    def __init__(self, task, start: int, stop: int, batch_size: int, seed: int, rank: int):
        self.task, self.start, self.stop = task, start, stop
        self.batch_size, self.seed, self.rank = batch_size, seed, rank

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index: int) -> Batch:
        step = self.start + index
        generator = torch.Generator().manual_seed(step_seed(self.seed, step, self.rank, 0))
        batch = self.task.train_batch(self.batch_size, generator)
        layout = self.task.layout
        check_batch(batch, layout.num_variables, layout.dim, f"task {self.task.name!r}")
        return batch


def collate_one(batch: Batch) -> Batch:
    """The dataset already returns whole batches."""
    return batch
