"""The Bayes posterior mean for low-rank completion: the best MSE any predictor can reach.

Low-rank completion draws R = U V^T / d + 0.1 N(0, 1) with U, V ~ N(0, 1)^{n x k} and observes
each entry with probability 1/2 (``matrix_tasks.LowRankCompletion``). Entries of R are
uncorrelated, so no *linear* function of the observed half predicts the rest better than zero
(the copy-observed predictor); the posterior mean E[R_ij | observed] is not zero, though, and
it minimises the expected MSE over all predictors. It is the yardstick for the task's targets:
a target below it cannot be met, a model above it has room left.

``posterior_mean`` estimates it by Gibbs sampling, which is exact here because each factor is
Gaussian given the other: with s = 1 / d and noise variance sigma^2, row i of U given V has

    precision  P_i = I_k + (s^2 / sigma^2) sum_j m_ij v_j v_j^T
    mean       P_i^{-1} (s / sigma^2) sum_j m_ij r_ij v_j

(m the observed mask), and V given U the same with rows and columns swapped. The estimate of
an unobserved entry is the average of s U V^T over the sweeps after burn-in; observed entries
are returned as observed (they are R exactly, noise included).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _draw_factor(
    other: Tensor, values: Tensor, mask: Tensor, scale: float, noise_var: float, g: torch.Generator
) -> Tensor:
    """One factor's rows given the other factor ``other [B, n, k]``; ``values``, ``mask``
    ``[B, rows, n]`` (zero where unobserved). Returns ``[B, rows, k]``."""
    k = other.shape[-1]
    gram = torch.einsum("bij,bjk,bjl->bikl", mask, other, other)  # [B, rows, k, k]
    precision = torch.eye(k) + (scale * scale / noise_var) * gram
    field = (scale / noise_var) * (values @ other)  # [B, rows, k]
    chol = torch.linalg.cholesky(precision)
    mean = torch.cholesky_solve(field[..., None], chol)[..., 0]
    z = torch.randn(mean.shape, generator=g)[..., None]
    return mean + torch.linalg.solve_triangular(chol.mT, z, upper=True)[..., 0]


def posterior_mean(values: Tensor, observed: Tensor, divisor: float, **gibbs) -> Tensor:
    """E[R | observed entries]: the first of ``posterior_mean_and_sample``'s two results."""
    return posterior_mean_and_sample(values, observed, divisor, **gibbs)[0]


def posterior_mean_and_sample(
    values: Tensor,
    observed: Tensor,
    divisor: float,
    rank: int = 10,
    noise: float = 0.1,
    sweeps: int = 400,
    burn_in: int | None = None,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """E[R | observed entries] under the task's prior, by Gibbs sampling, and one draw of R
    from that posterior (what an exact sampler of the task's distribution would answer).

    ``values [B, n, n]`` holds R where observed (anything elsewhere), ``observed [B, n, n]``
    the mask (bool); ``divisor`` is d in R = U V^T / d + noise (20 for the training and "same"
    distributions, 5 for "harder"). Returns two ``[B, n, n]`` tensors, both with the observed
    values where observed: the posterior-mean estimate elsewhere, and the last sweep's draw
    (s U V^T plus fresh noise) elsewhere. ``burn_in`` sweeps (default: a quarter of
    ``sweeps``) are discarded before averaging.
    """
    if values.dim() != 3 or values.shape[1] != values.shape[2]:
        raise ValueError(f"values must be [B, n, n], got {list(values.shape)}")
    if observed.shape != values.shape:
        raise ValueError(
            f"observed must match values {list(values.shape)}, got {list(observed.shape)}"
        )
    if not divisor > 0 or not noise > 0 or rank < 1:
        raise ValueError(
            f"divisor and noise must be > 0 and rank >= 1, got {divisor}, {noise}, {rank}"
        )
    burn_in = sweeps // 4 if burn_in is None else burn_in
    if not 0 <= burn_in < sweeps:
        raise ValueError(f"need 0 <= burn_in < sweeps, got burn_in={burn_in}, sweeps={sweeps}")
    g = torch.Generator().manual_seed(seed)
    mask = observed.float()
    r = values.float() * mask  # [B, n, n]
    scale, noise_var = 1.0 / divisor, noise * noise
    b, n, _ = r.shape
    v = torch.randn(b, n, rank, generator=g)
    total = torch.zeros_like(r)
    for sweep in range(sweeps):
        u = _draw_factor(v, r, mask, scale, noise_var, g)
        v = _draw_factor(u, r.mT, mask.mT, scale, noise_var, g)
        if sweep >= burn_in:
            total += scale * (u @ v.mT)
    draw = scale * (u @ v.mT) + noise * torch.randn(r.shape, generator=g)
    return torch.where(observed, r, total / (sweeps - burn_in)), torch.where(observed, r, draw)
