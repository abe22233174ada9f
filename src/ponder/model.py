"""A denoiser network paired with a flow: the training loss and the sampling-time prediction.

Nothing here knows Lightning, files or tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ponder.flows import PREDICTIONS, Flow
from ponder.losses import per_variable_mse, uncertainty_nll, weighted_mean
from ponder.nets.output import DenoiserOutput
from ponder.sampling import Prediction
from ponder.time_samplers import TimeSampler


class NoiseDraw(NamedTuple):
    """Everything random about one training step's noising: [B, N], [B, N], [B, N, D]."""

    t: Tensor  # per-variable noise level; 0 for known variables
    weight: Tensor  # per-variable loss weight; 0 for known variables
    eps: Tensor  # the Gaussian noise


def draw_noise(
    shape: torch.Size, known: Tensor, time_sampler: TimeSampler, generator: torch.Generator
) -> NoiseDraw:
    """Draw t (per the time sampler), loss weights and eps for a batch of ``shape [B, N, D]``;
    known variables get t = 0 and weight 0. Drawn on the CPU from ``generator``."""
    b, n, _ = shape
    draw = time_sampler(b, n, generator)
    known = known.cpu()
    eps = torch.randn(tuple(shape), generator=generator)
    return NoiseDraw(draw.t.masked_fill(known, 0.0), draw.weight.masked_fill(known, 0.0), eps)


class LossParts(NamedTuple):
    total: Tensor
    mean: Tensor  # the denoising loss
    nll: Tensor  # the uncertainty head's Gaussian NLL (0 without a head)
    contrastive: Tensor | None = None  # energy models: the energy-landscape loss


@dataclass(frozen=True)
class Guidance:
    """Classifier-free guidance: mean = u + s (c - u). ``linear`` grows the scale from 1 to
    ``scale`` with the fraction of finished variables; ``constant`` uses it throughout."""

    scale: float = 1.0
    schedule: str = "constant"

    def __post_init__(self) -> None:
        if self.schedule not in ("constant", "linear"):
            raise ValueError(
                f"unknown guidance schedule {self.schedule!r}; choose 'constant' or 'linear'"
            )

    def scale_at(self, t: Tensor) -> Tensor:
        """Guidance scale per sample ``[B, 1, 1]`` for noise levels ``t [B, N]``."""
        if self.schedule == "constant":
            return torch.full((t.shape[0], 1, 1), self.scale, device=t.device, dtype=t.dtype)
        finished = (t == 0).float().mean(1)  # [B]
        return (1 + (self.scale - 1) * finished).view(-1, 1, 1)


class DenoisingModel(nn.Module):
    def __init__(self, net: nn.Module, flow: Flow, prediction: str = "velocity"):
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")
        self.net, self.flow, self.prediction = net, flow, prediction

    @property
    def has_uncertainty(self) -> bool:
        return getattr(self.net, "logvar_head", None) is not None

    def loss(
        self,
        x: Tensor,
        noise: NoiseDraw,
        label: Tensor | None = None,
        uncertainty_weight: float = 0.01,
        x_negative: Tensor | None = None,
    ) -> LossParts:
        """Denoising loss on clean ``x [B, N, D]`` noised as ``noise`` says.

        ``x_negative`` (task-made wrong answers) is used by energy models only."""
        z = self.flow.noise(x, noise.t, noise.eps)
        return self.loss_of(self.net(z, noise.t, label), x, noise, uncertainty_weight)

    def loss_of(
        self, out: DenoiserOutput, x: Tensor, noise: NoiseDraw, uncertainty_weight: float
    ) -> LossParts:
        """The denoising loss of the network's output ``out`` for clean ``x`` noised as
        ``noise`` says (its mean against the flow's target, plus the weighted NLL)."""
        target = self.flow.target(self.prediction, x, noise.eps, noise.t)
        mean_loss = weighted_mean(per_variable_mse(out.mean, target), noise.weight)
        nll = torch.zeros((), device=x.device)
        if out.logvar is not None:
            nll = uncertainty_nll(out.logvar, out.mean, target, noise.weight)
        return LossParts(mean_loss + uncertainty_weight * nll, mean_loss, nll)

    @torch.no_grad()
    def predict(
        self,
        z: Tensor,
        t: Tensor,
        label: Tensor | None = None,
        guidance: Guidance | None = None,
    ) -> Prediction:
        """The sampling loop's denoiser: ``(z [B, N, D], t [B, N]) -> Prediction``."""
        if guidance is not None and guidance.scale != 1.0 and label is not None:
            both = self.net(
                torch.cat([z, z]), torch.cat([t, t]), torch.cat([label, torch.full_like(label, -1)])
            )
            cond, uncond = both.mean.float().chunk(2)
            mean = uncond + guidance.scale_at(t) * (cond - uncond)
            logvar = None if both.logvar is None else both.logvar.float().chunk(2)[0]
        else:
            out = self.net(z, t, label)
            mean = out.mean.float()
            logvar = None if out.logvar is None else out.logvar.float()
        x0, eps = self.flow.split(self.prediction, mean, z.float(), t.float())
        return Prediction(x0.to(z.dtype), eps.to(z.dtype), logvar)
