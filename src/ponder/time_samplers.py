"""How training draws the noise-level vector t of each sample (REFERENCE 1.4).

Every sampler is called as ``sampler(batch, n, generator)`` and returns
``TimeDraw(t [B, N], weight [B, N])``: per-variable noise levels (t = 0 clean) and per-variable
loss weights (0 for clean context variables that carry no loss). All randomness comes from the
``torch.Generator`` passed in; the draws are made on the CPU and moved by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np
import torch
from torch import Tensor


class TimeDraw(NamedTuple):
    t: Tensor  # [B, N] in [0, 1]
    weight: Tensor  # [B, N] loss weight per variable


class TimeSampler(Protocol):
    def __call__(self, batch: int, n: int, generator: torch.Generator) -> TimeDraw: ...


def _numpy_rng(generator: torch.Generator) -> np.random.Generator:
    """A numpy generator seeded from the torch one (numpy has the Beta / normal samplers)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return np.random.default_rng(seed)


@dataclass(frozen=True)
class SharedTimes:
    """One t ~ U(0, 1) for all variables of a sample: ordinary diffusion."""

    def __call__(self, batch: int, n: int, generator: torch.Generator) -> TimeDraw:
        t = torch.rand(batch, 1, generator=generator).expand(batch, n).contiguous()
        return TimeDraw(t, torch.ones_like(t))


@dataclass(frozen=True)
class IndependentTimes:
    """t_i iid U(0, 1): diffusion-forcing style."""

    def __call__(self, batch: int, n: int, generator: torch.Generator) -> TimeDraw:
        t = torch.rand(batch, n, generator=generator)
        return TimeDraw(t, torch.ones_like(t))


def mean_beta_times(batch: int, n: int, sharpness: float, rng: np.random.Generator) -> np.ndarray:
    """SRM's mean_beta draw, ``[B, N]`` float64: exact per-sample mean m ~ U(0, 1).

    The total n*m is split recursively: a node holding ``total`` for ``k`` variables gives its
    first half (k1 = k // 2 variables) ``lo + (hi - lo) * Beta(a, a)`` with bounds
    lo = max(0, total - k2), hi = min(k1, total) that keep every t_i in [0, 1], and
    a = (k - 1 - k mod 2) ** 1.05 * sharpness (larger = t_i closer to the mean). Positions are
    shuffled at the end so no variable index is favoured.
    """
    out = np.empty((batch, n))

    def split(total: np.ndarray, start: int, k: int) -> None:
        if k == 1:
            out[:, start] = total
            return
        k1, k2 = k // 2, k - k // 2
        lo = np.maximum(0.0, total - k2)
        hi = np.minimum(float(k1), total)
        alpha = max((k - 1 - k % 2), 1) ** 1.05 * sharpness
        first = lo + (hi - lo) * rng.beta(alpha, alpha, size=batch)
        split(first, start, k1)
        split(total - first, start + k1, k2)

    split(rng.uniform(0.0, 1.0, size=batch) * n, 0, n)
    np.clip(out, 0.0, 1.0, out=out)  # float round-off only
    return rng.permuted(out, axis=1)


@dataclass(frozen=True)
class MeanBetaTimes:
    """SRM's default sampler with histogram loss weights that flatten the t marginal.

    weight(t) = (1 + eps) / (p_hat(t) + eps), p_hat the density of a single t_i estimated
    once from ``reference_draws`` draws in ``bins`` bins, lightly blurred (3-tap), so that the
    weighted marginal of t_i is close to uniform.
    """

    sharpness: float = 1.0
    weight_eps: float = 0.05
    bins: int = 1000
    reference_draws: int = 80_000
    density: np.ndarray = field(init=False, repr=False, compare=False)
    _n: list = field(default_factory=lambda: [None], repr=False, compare=False)

    def histogram_density(self, n: int) -> np.ndarray:
        """p_hat over ``bins`` equal bins of [0, 1] (mean 1), cached per variable count."""
        if self._n[0] != n:
            rng = np.random.default_rng(0)  # fixed: the weights are part of the method
            rows = max(1, math.ceil(self.reference_draws / n))
            t = mean_beta_times(rows, n, self.sharpness, rng).ravel()
            hist, _ = np.histogram(t, bins=self.bins, range=(0.0, 1.0), density=True)
            padded = np.concatenate([hist[:1], hist, hist[-1:]])
            blurred = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
            object.__setattr__(self, "density", blurred)
            self._n[0] = n
        return self.density

    def weight(self, t: np.ndarray, n: int) -> np.ndarray:
        density = self.histogram_density(n)
        index = np.minimum((t * self.bins).astype(np.int64), self.bins - 1)
        return (1 + self.weight_eps) / (density[index] + self.weight_eps)

    def __call__(self, batch: int, n: int, generator: torch.Generator) -> TimeDraw:
        t = mean_beta_times(batch, n, self.sharpness, _numpy_rng(generator))
        w = self.weight(t, n)
        return TimeDraw(torch.from_numpy(t).float(), torch.from_numpy(w).float())


@dataclass(frozen=True)
class SequentialTimes:
    """MAR-like: a mask ratio r ~ N(1, 0.25) truncated to [0.7, 1] picks ceil(r n) variables
    that get t ~ U(0, 1) each; the others are clean context with loss weight 0."""

    min_ratio: float = 0.7
    std: float = 0.25

    def __call__(self, batch: int, n: int, generator: torch.Generator) -> TimeDraw:
        rng = _numpy_rng(generator)
        ratio = np.empty(batch)
        todo = np.ones(batch, dtype=bool)
        while todo.any():  # rejection sampling of the truncated normal
            draw = rng.normal(1.0, self.std, size=int(todo.sum()))
            ok = (draw >= self.min_ratio) & (draw <= 1.0)
            idx = np.flatnonzero(todo)[ok]
            ratio[idx] = draw[ok]
            todo[idx] = False
        count = torch.from_numpy(np.ceil(ratio * n)).long().clamp(1, n)  # [B]
        rank = torch.rand(batch, n, generator=generator).argsort(dim=1).argsort(dim=1)
        noisy = rank < count[:, None]  # [B, N]: a random subset of count_b variables
        t = torch.rand(batch, n, generator=generator) * noisy
        return TimeDraw(t, noisy.float())


@dataclass(frozen=True)
class TerminalTimes:
    """t = 1 for every variable: the network only ever sees pure noise where the answer goes.

    With x0 prediction and a one-step sampler this trains and runs the denoiser as a plain
    feed-forward regressor of the answer from the known variables (the baseline of equal size
    that energy diffusion and SRMs are compared with).
    """

    def __call__(self, batch: int, n: int, generator: torch.Generator) -> TimeDraw:
        t = torch.ones(batch, n)
        return TimeDraw(t, torch.ones_like(t))


@dataclass(frozen=True)
class WithZeros:
    """The add_zeros option: per sample a fraction r ~ U(0, 1) of the variables becomes clean
    context (t = 0, weight 0); the rest keep the inner sampler's draw."""

    inner: TimeSampler

    def __call__(self, batch: int, n: int, generator: torch.Generator) -> TimeDraw:
        t, weight = self.inner(batch, n, generator)
        ratio = torch.rand(batch, 1, generator=generator)
        zero = torch.rand(batch, n, generator=generator) < ratio
        return TimeDraw(t.masked_fill(zero, 0.0), weight.masked_fill(zero, 0.0))


TIME_SAMPLERS: dict[str, type] = {
    "shared": SharedTimes,
    "independent": IndependentTimes,
    "mean_beta": MeanBetaTimes,
    "sequential": SequentialTimes,
    "terminal": TerminalTimes,
}


def make_time_sampler(name: str, add_zeros: bool = False, **params) -> TimeSampler:
    """Sampler by name with its parameters (e.g. ``sharpness`` for mean_beta)."""
    if name not in TIME_SAMPLERS:
        raise ValueError(f"unknown time sampler {name!r}; choose one of {sorted(TIME_SAMPLERS)}")
    sampler = TIME_SAMPLERS[name](**params)
    return WithZeros(sampler) if add_zeros else sampler
