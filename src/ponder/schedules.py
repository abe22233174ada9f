"""Inference schedules: how the t vector moves from step to step (REFERENCE 1.5).

A schedule is a small frozen dataclass of parameters with a ``num_steps`` property and a
``start`` method. ``start`` is called once per sampling run with the variables to generate and
returns a *stepper*: a function ``(step, t [B, N], logvar [B, N] | None) -> t_next [B, N]``
called once per network evaluation. ``logvar`` is the denoiser's per-variable uncertainty at the
current state (only adaptive schedules use it; they set ``needs_uncertainty = True``).

Invariants every schedule keeps (and the tests check): known variables stay at t = 0, t never
increases, and every variable to generate reaches t = 0 at the last step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

Stepper = Callable[[int, Tensor, Tensor | None], Tensor]


def sd3_shift(t: Tensor, shift: float) -> Tensor:
    """SD3's resolution shift: s t / (1 + (s - 1) t); shift 1 is the identity."""
    return shift * t / (1 + (shift - 1) * t)


@dataclass(frozen=True)
class FixedSchedule:
    """All unknown variables go 1 -> 0 together on a linear grid of ``steps`` steps."""

    steps: int = 50
    shift: float = 1.0
    needs_uncertainty: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.shift <= 0:
            raise ValueError(f"shift must be > 0, got {self.shift}")

    @property
    def num_steps(self) -> int:
        return self.steps

    def start(
        self,
        to_generate: Tensor,
        generator: torch.Generator | None = None,
        dependency: Tensor | None = None,
    ) -> Stepper:
        grid = sd3_shift(torch.linspace(1.0, 0.0, self.steps + 1), self.shift)  # [S + 1]
        mask = to_generate.float()

        def stepper(step: int, t: Tensor, logvar: Tensor | None) -> Tensor:
            return mask * grid[step + 1].to(t)

        return stepper


SCHEDULES: dict[str, type] = {"fixed": FixedSchedule}


def make_schedule(name: str, **params) -> FixedSchedule:
    """Schedule by name; unknown names or parameters are errors naming the choices."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    cls = SCHEDULES[name]
    fields = set(cls.__dataclass_fields__)
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(
            f"schedule {name!r} has no parameter {unknown[0]!r}; its parameters are "
            f"{sorted(fields)}"
        )
    return cls(**params)
