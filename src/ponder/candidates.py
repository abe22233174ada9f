"""Test-time compute by candidates: draw K samples per condition, keep the one the model is
surest of (``keep_best``) or average them (``mean_of``).

The score of a sample is the mean predicted log-variance of its variables at the step each one
was finished (the model's own uncertainty when it committed to the value); the candidate with
the lowest score is kept. Nothing outside the model is consulted: no rule check, no reference.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ponder.sampling import StepState


class CommitUncertainty:
    """A sampling callback that sums, per sample, the log-variance each variable had at the
    step it reached t = 0. ``score`` ``[B]`` is the mean over the variables generated."""

    def __init__(self, to_generate: Tensor) -> None:
        self.previous_t = to_generate.float()  # [B, N]: 1 where generated, 0 where known
        self.count = to_generate.sum(1).clamp_min(1)  # [B]
        self.total = torch.zeros(to_generate.shape[0], device=to_generate.device)

    def __call__(self, state: StepState) -> None:
        if state.logvar is None:
            raise ValueError("candidates are ranked by predicted uncertainty; this model has none")
        finishing = (state.t == 0) & (self.previous_t > 0)  # [B, N]
        self.total += (state.logvar.float() * finishing).sum(1)
        self.previous_t = state.t

    @property
    def score(self) -> Tensor:
        return self.total / self.count


def keep_best(z: Tensor, score: Tensor, k: int) -> Tensor:
    """``z [B*K, N, D]`` in groups of ``k`` consecutive candidates, ``score [B*K]`` -> the
    lowest-scoring candidate of each group ``[B, N, D]``."""
    best = score.view(-1, k).argmin(1)  # [B]
    return z.view(-1, k, *z.shape[1:])[torch.arange(best.shape[0], device=z.device), best]


def mean_of(z: Tensor, k: int) -> Tensor:
    """``z [B*K, N, D]`` in groups of ``k`` consecutive candidates -> each group's mean
    ``[B, N, D]``: with exact samples, the posterior mean's error plus 1 / k of the posterior
    variance, where one sample carries all of it."""
    return z.view(-1, k, *z.shape[1:]).float().mean(1).to(z.dtype)


def chain_callbacks(*callbacks):
    """One callback that calls the given ones in order (``None`` entries skipped)."""
    chain = [c for c in callbacks if c is not None]

    def callback(state: StepState) -> None:
        for c in chain:
            c(state)

    return callback if chain else None
