"""Training losses over per-variable weights (REFERENCE 1.2)."""

from __future__ import annotations

import math

from torch import Tensor


def per_variable_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Squared error averaged over each variable's features: ``[B, N, D] -> [B, N]``."""
    return (pred.float() - target.float()).pow(2).mean(-1)


def weighted_mean(values: Tensor, weight: Tensor) -> Tensor:
    """Mean of ``weight * values`` over the variables that carry loss (weight > 0)."""
    count = (weight > 0).sum().clamp_min(1)
    return (values * weight).sum() / count


def uncertainty_nll(logvar: Tensor, mean: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Gaussian NLL of the target under N(mean.detach(), exp(logvar)), one variance per variable.

    0.5 * (log 2 pi + logvar + mse / exp(logvar)) with mse averaged over the variable's features;
    the mean is detached so this term trains the uncertainty head only.
    """
    mse = per_variable_mse(mean.detach(), target)  # [B, N]
    logvar = logvar.float()
    nll = 0.5 * (math.log(2 * math.pi) + logvar + mse * (-logvar).exp())
    return weighted_mean(nll, weight)
