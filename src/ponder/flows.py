"""Noise paths with one noise level per variable.

``z = a(t) * x + b(t) * eps`` with ``x: [B, N, D]``, ``t: [B, N]`` (t = 0 clean, t = 1 noise) and
``eps ~ N(0, I)``. A flow is four small functions of t; everything else (noising, converting one
parameterisation of the network's prediction into another) is written once on top of them.

Parameterisations of a prediction (all functions of z_t and t, REFERENCE 1.2):
- ``x0``: the clean data x.
- ``eps``: the noise.
- ``velocity``: dz/dt = a'(t) x + b'(t) eps (rectified flow: eps - x).
- ``v``: a(t) eps - b(t) x (Salimans & Ho); for VP paths this is the usual v-prediction.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

PREDICTIONS = ("x0", "eps", "velocity", "v")


def _bcast(coef: Tensor, like: Tensor) -> Tensor:
    """Per-variable coefficient ``[B, N]`` -> ``[B, N, 1, ...]`` to multiply ``like``."""
    return coef.reshape(coef.shape + (1,) * (like.dim() - coef.dim()))


class CleanAndNoise(NamedTuple):
    x0: Tensor  # [B, N, D]
    eps: Tensor  # [B, N, D]


class Flow(ABC):
    """Base: subclasses define a, b and their derivatives for t of any shape."""

    @abstractmethod
    def a(self, t: Tensor) -> Tensor: ...

    @abstractmethod
    def b(self, t: Tensor) -> Tensor: ...

    @abstractmethod
    def da(self, t: Tensor) -> Tensor: ...

    @abstractmethod
    def db(self, t: Tensor) -> Tensor: ...

    def noise(self, x: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """z_t = a(t) x + b(t) eps: ``[B, N, D], [B, N], [B, N, D] -> [B, N, D]``."""
        return _bcast(self.a(t), x) * x + _bcast(self.b(t), x) * eps

    def target(self, kind: str, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """What a network predicting ``kind`` should output for clean x0 and noise eps."""
        a, b = _bcast(self.a(t), x0), _bcast(self.b(t), x0)
        if kind == "x0":
            return x0
        if kind == "eps":
            return eps
        if kind == "velocity":
            return _bcast(self.da(t), x0) * x0 + _bcast(self.db(t), x0) * eps
        if kind == "v":
            return a * eps - b * x0
        raise ValueError(f"unknown prediction {kind!r}; choose one of {PREDICTIONS}")

    def split(self, kind: str, pred: Tensor, z: Tensor, t: Tensor) -> CleanAndNoise:
        """Recover (x0, eps) from a prediction of ``kind`` at ``(z, t)``.

        Each conversion solves the 2x2 linear system {z = a x + b eps, pred = ...}; the
        ``x0`` and ``eps`` forms divide by b resp. a, which vanish at t = 0 resp. t = 1, so they
        are guarded there (the other output is exact at those ends anyway).
        """
        a, b = _bcast(self.a(t), z), _bcast(self.b(t), z)
        tiny = torch.finfo(z.dtype).tiny ** 0.5
        if kind == "x0":
            return CleanAndNoise(pred, (z - a * pred) / b.clamp_min(tiny))
        if kind == "eps":
            return CleanAndNoise((z - b * pred) / a.clamp_min(tiny), pred)
        if kind == "velocity":
            da, db = _bcast(self.da(t), z), _bcast(self.db(t), z)
            det = a * db - b * da
            return CleanAndNoise((db * z - b * pred) / det, (a * pred - da * z) / det)
        if kind == "v":
            det = a * a + b * b
            return CleanAndNoise((a * z - b * pred) / det, (b * z + a * pred) / det)
        raise ValueError(f"unknown prediction {kind!r}; choose one of {PREDICTIONS}")


@dataclass(frozen=True)
class RectifiedFlow(Flow):
    """a = 1 - t, b = t; velocity target eps - x."""

    def a(self, t: Tensor) -> Tensor:
        return 1 - t

    def b(self, t: Tensor) -> Tensor:
        return t

    def da(self, t: Tensor) -> Tensor:
        return -torch.ones_like(t)

    def db(self, t: Tensor) -> Tensor:
        return torch.ones_like(t)


@dataclass(frozen=True)
class CosineFlow(Flow):
    """a = cos(theta), b = sin(theta), theta = pi/2 (t + skew) / (1 + skew)."""

    skew: float = 0.0

    def _theta(self, t: Tensor) -> Tensor:
        return 0.5 * math.pi * (t + self.skew) / (1 + self.skew)

    def a(self, t: Tensor) -> Tensor:
        return torch.cos(self._theta(t))

    def b(self, t: Tensor) -> Tensor:
        return torch.sin(self._theta(t))

    def da(self, t: Tensor) -> Tensor:
        return -torch.sin(self._theta(t)) * 0.5 * math.pi / (1 + self.skew)

    def db(self, t: Tensor) -> Tensor:
        return torch.cos(self._theta(t)) * 0.5 * math.pi / (1 + self.skew)


def vp_betas(kind: str, steps: int = 1000) -> Tensor:
    """The discrete beta schedules of DDPM (linear) and improved DDPM (cosine), float64."""
    if kind == "linear":
        return torch.linspace(1e-4, 2e-2, steps, dtype=torch.float64)
    if kind == "cosine":
        s = 0.008
        grid = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
        abar = torch.cos((grid + s) / (1 + s) * math.pi / 2) ** 2
        return (1 - abar[1:] / abar[:-1]).clamp(max=0.999)
    raise ValueError(f"unknown beta schedule {kind!r}; choose 'linear' or 'cosine'")


class VPFlow(Flow):
    """Variance-preserving diffusion over ``steps`` discrete betas.

    alphabar is known at t = k / steps (k = 0 .. steps, alphabar(0) = 1); between grid points
    log alphabar is interpolated linearly, so a(t) = sqrt(alphabar(t)), b = sqrt(1 - alphabar)
    are defined (and differentiable almost everywhere) for every t in [0, 1].
    """

    def __init__(self, betas: str = "linear", steps: int = 1000) -> None:
        self.betas_kind = betas
        self.steps = steps
        log_abar = torch.cumsum(torch.log1p(-vp_betas(betas, steps)), 0)
        self.log_abar = torch.cat([torch.zeros(1, dtype=torch.float64), log_abar])  # [steps+1]

    def _log_abar(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """log alphabar(t) and its derivative in t (piecewise constant)."""
        table = self.log_abar.to(t.device)
        pos = t.double().clamp(0, 1) * self.steps
        lo = pos.floor().long().clamp(max=self.steps - 1)
        frac = pos - lo
        slope = (table[lo + 1] - table[lo]) * self.steps
        value = table[lo] + frac * (table[lo + 1] - table[lo])
        return value.to(t.dtype), slope.to(t.dtype)

    def a(self, t: Tensor) -> Tensor:
        return torch.exp(0.5 * self._log_abar(t)[0])

    def b(self, t: Tensor) -> Tensor:
        return torch.sqrt(-torch.expm1(self._log_abar(t)[0]))

    def da(self, t: Tensor) -> Tensor:
        value, slope = self._log_abar(t)
        return 0.5 * slope * torch.exp(0.5 * value)

    def db(self, t: Tensor) -> Tensor:
        value, slope = self._log_abar(t)
        abar = torch.exp(value)
        return -0.5 * slope * abar / torch.sqrt(-torch.expm1(value)).clamp_min(1e-20)


def make_flow(name: str, skew: float = 0.0, betas: str = "linear", steps: int = 1000) -> Flow:
    """Flow by name: ``rectified``, ``cosine`` (with ``skew``) or ``vp`` (``betas``, ``steps``)."""
    if name == "rectified":
        return RectifiedFlow()
    if name == "cosine":
        return CosineFlow(skew)
    if name == "vp":
        return VPFlow(betas, steps)
    raise ValueError(f"unknown flow {name!r}; choose one of ('rectified', 'cosine', 'vp')")
