"""Inference schedules: how the t vector moves from step to step (REFERENCE 1.5).

A schedule is a small frozen dataclass of parameters with ``num_steps`` and a ``start`` method.
``start(to_generate [B, N], generator, dependency [N, N] | None)`` is called once per sampling
run and returns a *stepper* ``(step, t [B, N], logvar [B, N] | None) -> t_next [B, N]`` that
the loop calls once per network evaluation. ``logvar`` is the denoiser's per-variable
uncertainty at the current state; schedules that use it set ``needs_uncertainty = True``.

Every schedule keeps known variables at t = 0, never raises t, and brings every variable to
generate to t = 0 at its last step (the tests check all three on every schedule).

Block timing (``raster``, ``random_seq``, ``graph_seq``, ``adaptive_seq``): the n unknown
variables of a sample form ceil(n / top_k) blocks; with S steps and overlap o in [0, 1) the
block length is L = floor(S / ((blocks - 1)(1 - o) + 1)), block k starts at step
floor(k L (1 - o)), and a variable started at s0 has t = clamp(1 - (step + 1 - s0) / L, 0, 1)
after step ``step``. Samples with different numbers of unknowns get their own L; S >= blocks
is required (o = 0 then means strictly one block at a time). What differs is the *order*.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar

import torch
from torch import Tensor

Stepper = Callable[[int, Tensor, Tensor | None], Tensor]


def sd3_shift(t: Tensor, shift: float) -> Tensor:
    """SD3's resolution shift: s t / (1 + (s - 1) t); shift 1 is the identity."""
    return shift * t / (1 + (shift - 1) * t)


def _check_steps(steps: int) -> None:
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")


@dataclass(frozen=True)
class FixedSchedule:
    """All unknown variables go 1 -> 0 together on a linear grid (optional SD3 shift)."""

    steps: int = 50
    shift: float = 1.0
    needs_uncertainty: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_steps(self.steps)
        if self.shift <= 0:
            raise ValueError(f"shift must be > 0, got {self.shift}")

    @property
    def num_steps(self) -> int:
        return self.steps

    def start(self, to_generate: Tensor, generator=None, dependency=None) -> Stepper:
        grid = sd3_shift(torch.linspace(1.0, 0.0, self.steps + 1), self.shift)  # [S + 1]
        mask = to_generate.float()

        def stepper(step: int, t: Tensor, logvar: Tensor | None) -> Tensor:
            return mask * grid[step + 1].to(t)

        return stepper


def _random_keys(shape, generator, device) -> Tensor:
    return torch.rand(shape, generator=generator, device=device)


def _rank_by(keys: Tensor, eligible: Tensor) -> Tensor:
    """Rank 0, 1, ... of each eligible entry by ascending key, per row; ineligible -> N."""
    keys = keys.masked_fill(~eligible, float("inf"))
    rank = keys.argsort(dim=1).argsort(dim=1)
    return rank.masked_fill(~eligible, keys.shape[1])


@dataclass(frozen=True)
class BlockSchedule(ABC):
    """Shared block timing; subclasses choose the order (see the module docstring)."""

    steps: int = 81
    overlap: float = 0.0
    top_k: int = 1
    needs_uncertainty: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_steps(self.steps)
        if not 0.0 <= self.overlap < 1.0:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")

    @property
    def num_steps(self) -> int:
        return self.steps

    def timing(self, to_generate: Tensor) -> tuple[Tensor, Tensor]:
        """Per sample: block length L ``[B]`` and the start step of each block ``[B, N]``."""
        blocks = torch.div(to_generate.sum(1) + self.top_k - 1, self.top_k, rounding_mode="floor")
        most = int(blocks.max()) if blocks.numel() else 0
        if most > self.steps:
            raise ValueError(
                f"{self.steps} steps are too few for {most} blocks of {self.top_k} unknown "
                f"variables; use steps >= {most}"
            )
        span = (blocks - 1).clamp_min(0).double() * (1 - self.overlap) + 1
        length = torch.floor(self.steps / span + 1e-9).clamp_min(1)  # [B]
        k = torch.arange(to_generate.shape[1], device=to_generate.device, dtype=torch.float64)
        starts = torch.floor(k[None] * length[:, None] * (1 - self.overlap) + 1e-9)  # [B, N]
        return length, starts

    @abstractmethod
    def order_keys(self, to_generate, generator, dependency) -> Tensor:
        """Keys whose ascending rank among the unknowns is the generation order ``[B, N]``."""

    def start(self, to_generate: Tensor, generator=None, dependency=None) -> Stepper:
        length, block_start = self.timing(to_generate)
        rank = _rank_by(self.order_keys(to_generate, generator, dependency), to_generate)
        block = torch.div(rank, self.top_k, rounding_mode="floor").clamp_max(rank.shape[1] - 1)
        s0 = block_start.gather(1, block)  # [B, N] start step of each variable
        return _timed_stepper(to_generate, s0, length, self.steps)


def _timed_stepper(to_generate: Tensor, s0: Tensor, length: Tensor, steps: int) -> Stepper:
    def stepper(step: int, t: Tensor, logvar: Tensor | None) -> Tensor:
        if step == steps - 1:
            return torch.zeros_like(t)
        level = (1 - (step + 1 - s0) / length[:, None]).clamp(0, 1)
        return torch.where(to_generate, level.to(t), torch.zeros_like(t))

    return stepper


@dataclass(frozen=True)
class RasterSchedule(BlockSchedule):
    """Variables one after another in index order (steps / n steps each at overlap 0)."""

    def order_keys(self, to_generate, generator, dependency) -> Tensor:
        n = to_generate.shape[1]
        return torch.arange(n, device=to_generate.device, dtype=torch.float32).expand_as(
            to_generate
        )


@dataclass(frozen=True)
class RandomSequentialSchedule(BlockSchedule):
    """Blocks in a random order drawn from the sampler's generator."""

    def order_keys(self, to_generate, generator, dependency) -> Tensor:
        return _random_keys(to_generate.shape, generator, to_generate.device)


def certainty_weights(dependency: Tensor, orders: int = 3) -> Tensor:
    """W = I + sum_{o=1..orders} 0.5^o normalized(D^o), rows of D^o scaled to sum 1."""
    d = (dependency != 0).float()
    w = torch.eye(d.shape[0], device=d.device)
    power = torch.eye(d.shape[0], device=d.device)
    for o in range(1, orders + 1):
        power = power @ d
        w = w + 0.5**o * power / power.sum(1, keepdim=True).clamp_min(1e-12)
    return w


@dataclass(frozen=True)
class GraphSequentialSchedule(BlockSchedule):
    """Next = the unstarted unknown variable with the most certainty c = k W, k the indicator
    of known and already chosen variables (most-constrained first); ties broken at random."""

    def order_keys(self, to_generate, generator, dependency) -> Tensor:
        if dependency is None:
            raise ValueError("graph_seq needs the task's dependency matrix; this task has none")
        w = certainty_weights(dependency.to(to_generate.device))  # [N, N]
        b, n = to_generate.shape
        tie = _random_keys((b, n), generator, to_generate.device) * 1e-6
        chosen = ~to_generate  # known variables count as certain
        keys = torch.full((b, n), float(n), device=to_generate.device)
        for position in range(int(to_generate.sum(1).max())):
            certainty = chosen.float() @ w + tie  # [B, N]
            certainty = certainty.masked_fill(chosen, -float("inf"))
            pick = certainty.argmax(1)  # [B]
            active = ~chosen.gather(1, pick[:, None]).squeeze(1)
            keys[active, pick[active]] = float(position)
            chosen = chosen.clone()
            chosen[active, pick[active]] = True
        return keys


@dataclass(frozen=True)
class AdaptiveSequentialSchedule(BlockSchedule):
    """Next = the unstarted unknown variables with the lowest predicted log-variance at the
    step their block starts (the model is evaluated every step, so sigma is current)."""

    needs_uncertainty: ClassVar[bool] = True

    def order_keys(self, to_generate, generator, dependency) -> Tensor:
        return torch.zeros(to_generate.shape, device=to_generate.device)  # decided while running

    def start(self, to_generate: Tensor, generator=None, dependency=None) -> Stepper:
        length, block_start = self.timing(to_generate)
        unknown = to_generate.sum(1)  # [B]
        s0 = torch.full(
            to_generate.shape, float("inf"), dtype=torch.float64, device=to_generate.device
        )
        started = torch.zeros(to_generate.shape, dtype=torch.bool, device=to_generate.device)

        def stepper(step: int, t: Tensor, logvar: Tensor | None) -> Tensor:
            nonlocal s0, started
            if logvar is None:
                raise ValueError(
                    "adaptive schedules order variables by predicted uncertainty, but the "
                    "denoiser returned none (train with model.uncertainty=true)"
                )
            due_blocks = (block_start <= step).sum(1)  # [B] blocks due to have started
            due = torch.minimum(due_blocks * self.top_k, unknown)
            need = (due - started.sum(1)).clamp_min(0)  # [B] variables to start now
            rank = _rank_by(logvar.detach().double(), to_generate & ~started)
            new = rank < need[:, None]
            s0 = torch.where(new, torch.full_like(s0, float(step)), s0)
            started = started | new
            if step == self.steps - 1:
                return torch.zeros_like(t)
            level = (1 - (step + 1 - s0) / length[:, None]).clamp(0, 1)
            return torch.where(to_generate, level.to(t), torch.zeros_like(t))

        return stepper


@dataclass(frozen=True)
class MaskGITSchedule:
    """Random order; group g of ``groups`` holds the variables revealed between the cosine
    mask ratios cos(pi/2 g/G) and cos(pi/2 (g+1)/G); each group goes 1 -> 0 in
    ``steps_per_group`` steps, one group after another."""

    groups: int = 8
    steps_per_group: int = 4
    needs_uncertainty: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.groups < 1 or self.steps_per_group < 1:
            raise ValueError(
                f"groups and steps_per_group must be >= 1, got {self.groups}, "
                f"{self.steps_per_group}"
            )

    @property
    def num_steps(self) -> int:
        return self.groups * self.steps_per_group

    def start(self, to_generate: Tensor, generator=None, dependency=None) -> Stepper:
        rank = _rank_by(_random_keys(to_generate.shape, generator, to_generate.device), to_generate)
        n = to_generate.sum(1, keepdim=True).double()  # [B, 1]
        g = torch.arange(self.groups + 1, device=to_generate.device, dtype=torch.float64)
        bounds = torch.round(n * (1 - torch.cos(0.5 * math.pi * g / self.groups)))  # [B, G+1]
        group = (rank[..., None].double() >= bounds[:, None, 1:]).sum(-1)  # [B, N]
        s0 = (group * self.steps_per_group).double()
        length = torch.full(
            (to_generate.shape[0],),
            float(self.steps_per_group),
            dtype=torch.float64,
            device=to_generate.device,
        )
        return _timed_stepper(to_generate, s0, length, self.num_steps)


@dataclass(frozen=True)
class AdaptiveInverseSchedule:
    """Per-variable steps from sigma = exp(logvar / 2): decrement d_i proportional to
    1 / sigma_i, scaled so the mean decrement over the moving unknowns equals the remaining
    mean noise divided by the remaining steps (the fixed schedule's pace). Confident variables
    step further; the last step sets every variable to 0."""

    steps: int = 50
    needs_uncertainty: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_steps(self.steps)

    @property
    def num_steps(self) -> int:
        return self.steps

    def weights(self, logvar: Tensor, moving: Tensor) -> Tensor:
        w = torch.exp(-0.5 * logvar.float())
        mean = (w * moving).sum(1, keepdim=True) / moving.sum(1, keepdim=True).clamp_min(1)
        return w / mean.clamp_min(1e-12)

    def start(self, to_generate: Tensor, generator=None, dependency=None) -> Stepper:
        def stepper(step: int, t: Tensor, logvar: Tensor | None) -> Tensor:
            if logvar is None:
                raise ValueError(
                    "adaptive schedules need the denoiser's uncertainty (model.uncertainty=true)"
                )
            if step == self.steps - 1:
                return torch.zeros_like(t)
            moving = (t > 0) & to_generate
            count = moving.sum(1, keepdim=True).clamp_min(1)
            pace = (t * moving).sum(1, keepdim=True) / count / (self.steps - step)  # [B, 1]
            decrement = pace * self.weights(logvar, moving.float()) * moving
            return (t - decrement.to(t)).clamp_min(0)

        return stepper


@dataclass(frozen=True)
class AdaptiveSoftmaxSchedule(AdaptiveInverseSchedule):
    """Decrements softmax(-logvar / temperature) * (moving count) * pace: the total noise
    removed per step equals the fixed schedule's, shared out by confidence; uncertain
    variables stay noisier for longer."""

    temperature: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    def weights(self, logvar: Tensor, moving: Tensor) -> Tensor:
        logits = (-logvar.float() / self.temperature).masked_fill(moving == 0, -float("inf"))
        share = torch.softmax(logits, dim=1).nan_to_num(0.0)
        return share * moving.sum(1, keepdim=True)


SCHEDULES: dict[str, type] = {
    "fixed": FixedSchedule,
    "raster": RasterSchedule,
    "random_seq": RandomSequentialSchedule,
    "graph_seq": GraphSequentialSchedule,
    "adaptive_seq": AdaptiveSequentialSchedule,
    "maskgit": MaskGITSchedule,
    "adaptive_inverse": AdaptiveInverseSchedule,
    "adaptive_softmax": AdaptiveSoftmaxSchedule,
}


def make_schedule(name: str, **params):
    """Schedule by name; unknown names or parameters are errors naming the choices."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    cls = SCHEDULES[name]
    names = sorted(f.name for f in fields(cls))
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValueError(
            f"schedule {name!r} has no parameter {unknown[0]!r}; its parameters are {names}"
        )
    return cls(**params)
