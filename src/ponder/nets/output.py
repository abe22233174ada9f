"""The one thing every denoiser returns."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class DenoiserOutput(NamedTuple):
    # The network's mean prediction in its configured parameterisation: [B, N, D].
    mean: Tensor
    # Per-variable log-variance of that prediction (the uncertainty head): [B, N], or None.
    logvar: Tensor | None = None
