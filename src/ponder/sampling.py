"""The one sampling loop (REFERENCE 1.3): a denoiser callable, a schedule, a generator.

z  <- noise for variables to generate, the known values elsewhere (t = 0 there)
for each step:
    x0_hat, eps_hat, logvar <- denoise(z, t)
    t_next <- schedule stepper(step, t, logvar)
    z <- reverse_step(z, t -> t_next)          # generalised DDIM / DDPM
    z <- known values where known              # repaint
return z  (every variable is at t = 0 at the end)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ponder.flows import Flow, _bcast


class Prediction(NamedTuple):
    x0: Tensor  # [B, N, D] clean estimate
    eps: Tensor  # [B, N, D] noise estimate
    logvar: Tensor | None = None  # [B, N] per-variable uncertainty


Denoiser = Callable[[Tensor, Tensor], Prediction]
# With ``sample(..., drop_finished=True)`` the loop evaluates only the rows that still have a
# variable to generate and passes their indices: denoise(z [R, N, D], t [R, N], rows [R]),
# rows = None while every row is still running.
# refine(z [B, N, D], t [B, N], x0_hat [B, N, D], known [B, N], x_known [B, N, D]) -> z
Refiner = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class StepState:
    """What the callback sees after each step (no copies are made for it)."""

    step: int
    t: Tensor  # [B, N] noise levels after the step
    z: Tensor  # [B, N, D] state after the step
    x0: Tensor  # [B, N, D] the clean estimate the step was taken from
    logvar: Tensor | None  # [B, N]


def clip_prediction(
    pred: Prediction, z: Tensor, t: Tensor, flow: Flow, data_range: tuple[float, float]
) -> Prediction:
    """``pred`` with x0 clamped to ``data_range`` (see ``replace_x0``)."""
    return replace_x0(pred, z, t, flow, pred.x0.clamp(*data_range))


def replace_x0(pred: Prediction, z: Tensor, t: Tensor, flow: Flow, x0: Tensor) -> Prediction:
    """``pred`` with a corrected clean estimate ``x0`` and eps = (z - a x0) / b re-derived from
    it, so the DDIM step stays on the line through z (eps is kept where b = 0, i.e. t = 0)."""
    a, b = _bcast(flow.a(t), z), _bcast(flow.b(t), z)
    eps = torch.where(b > 0, (z - a * x0) / b.clamp_min(1e-12), pred.eps)
    return Prediction(x0, eps.to(pred.eps.dtype), pred.logvar)


def reverse_step(
    flow: Flow,
    z: Tensor,
    t: Tensor,
    t_next: Tensor,
    pred: Prediction,
    alpha: float = 0.0,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """One generalised DDIM (alpha = 0) .. DDPM (alpha = 1) step from t to t_next, per variable.

    z_next = a(t*) x0 + gamma eps + temperature * sigma * xi,
    sigma  = alpha b(t*) sqrt(1 - (a_t b_t* / (a_t* b_t))^2),  gamma = sqrt(b(t*)^2 - sigma^2).
    Variables whose t does not change are returned untouched; no noise is added at t* = 0.
    """
    a_t, b_t = flow.a(t), flow.b(t)
    a_n, b_n = flow.a(t_next), flow.b(t_next)
    moving = t_next < t  # [B, N]
    tiny = 1e-12
    if alpha > 0:
        ratio = (a_t * b_n) / (a_n * b_t).clamp_min(tiny)
        sigma = alpha * b_n * torch.sqrt((1 - ratio**2).clamp_min(0.0))
    else:
        sigma = torch.zeros_like(t)
    gamma = torch.sqrt((b_n**2 - sigma**2).clamp_min(0.0))
    z_next = _bcast(a_n, z) * pred.x0 + _bcast(gamma, z) * pred.eps
    if alpha > 0 and temperature > 0:
        xi = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        z_next = z_next + _bcast(temperature * sigma, z) * xi
    return torch.where(_bcast(moving, z), z_next, z)


def marginal_logvar(x0: Tensor) -> Tensor:
    """Per-variable log-variance of a +-1 one-hot code from its clean estimate ``x0 [B, N, K]``
    (the posterior mean, 2 p_k - 1): each entry is +-1 with mean m_k, variance 1 - m_k^2; the
    log of their mean ``[B, N]``, floored at 1e-6. Low where the model's marginal puts its mass
    on one value: an uncertainty that needs no trained head (``sample.uncertainty=marginal``)."""
    m = x0.float().clamp(-1, 1)
    return torch.log((1 - m.pow(2)).mean(-1).clamp_min(1e-6))


def project_finished(project: Callable[[Tensor], Tensor]) -> Refiner:
    """A refine step that snaps each unknown variable to ``project(z)`` at the step it
    reaches t = 0: the nearest valid code of a discrete task (a +-1 one-hot digit). Variables
    finished early in sequential schedules are then exactly what training showed as clean
    context, instead of a between-codes average that no training sample ever contained."""

    def refine(z: Tensor, t_next: Tensor, x0: Tensor, known: Tensor, x_known: Tensor) -> Tensor:
        done = (t_next == 0) & ~known  # [B, N]
        return torch.where(_bcast(done, z), project(z), z)

    return refine


def draw_finished(temperature: float, generator: torch.Generator) -> Refiner:
    """Like ``project_finished`` for +-1 one-hot codes ``[..., K]``, but each unknown variable
    reaching t = 0 becomes a code *drawn* with probability p_k proportional to
    max(0, (x_k + 1) / 2)^(1 / temperature): the clean estimate of a +-1 one-hot code is its
    posterior mean 2p - 1, so temperature 1 draws from the model's own marginal. Variables
    the model is sure of stay as they are; where it must guess, samples differ (candidates)."""
    if temperature <= 0:
        raise ValueError(f"commit temperature must be > 0, got {temperature}")

    def refine(z: Tensor, t_next: Tensor, x0: Tensor, known: Tensor, x_known: Tensor) -> Tensor:
        done = (t_next == 0) & ~known  # [B, N]
        p = ((z.float() + 1) / 2).clamp_min(0) ** (1 / temperature) + 1e-12  # [B, N, K]
        pick = torch.multinomial(p.flatten(0, -2), 1, generator=generator).view(done.shape)
        code = torch.nn.functional.one_hot(pick, z.shape[-1]).to(z.dtype) * 2 - 1
        return torch.where(_bcast(done, z), code, z)

    return refine


def chain_refiners(*refiners: Refiner | None) -> Refiner | None:
    """One refine step that applies the given ones in order (``None`` entries skipped)."""
    chain = [r for r in refiners if r is not None]
    if len(chain) <= 1:
        return chain[0] if chain else None

    def refine(z: Tensor, t_next: Tensor, x0: Tensor, known: Tensor, x_known: Tensor) -> Tensor:
        for r in chain:
            z = r(z, t_next, x0, known, x_known)
        return z

    return refine


def sample(
    denoise: Denoiser,
    flow: Flow,
    schedule,
    x_known: Tensor,
    known: Tensor,
    generator: torch.Generator,
    alpha: float = 0.0,
    temperature: float = 1.0,
    dependency: Tensor | None = None,
    callback: Callable[[StepState], None] | None = None,
    refine: Refiner | None = None,
    drop_finished: bool = False,
) -> Tensor:
    """Generate the unknown variables of ``x_known [B, N, D]`` given ``known [B, N]`` (bool).

    ``schedule`` is any object of ``ponder.schedules`` (``num_steps``, ``start``); values of
    ``x_known`` where ``known`` is False are ignored. ``refine``, if given, replaces the state
    of the variables that moved in each step's reverse step (test-time compute at the new noise
    level, e.g. energy descent, ``ponder.energy``); variables a sequential schedule has not
    started, or finished earlier, keep their state; known variables are repainted after it. With
    ``drop_finished`` the network only sees the rows with a variable left to generate (rows
    with fewer unknowns finish early under sequential schedules); ``denoise`` then takes the
    rows' indices as a third argument. Returns the sample ``[B, N, D]``.
    """
    if known.shape != x_known.shape[:2]:
        raise ValueError(
            f"known mask has shape {tuple(known.shape)}, expected {tuple(x_known.shape[:2])}"
        )
    to_generate = ~known
    known_3d = _bcast(known, x_known)
    noise = torch.randn(
        x_known.shape, generator=generator, device=x_known.device, dtype=x_known.dtype
    )
    t = to_generate.to(x_known.dtype)  # [B, N]: 1 to generate, 0 known
    z = torch.where(known_3d, x_known, flow.noise(torch.zeros_like(noise), t, noise))
    stepper = schedule.start(to_generate, generator, dependency)
    for step in range(schedule.num_steps):
        pred = _denoise_unfinished(denoise, z, t) if drop_finished else denoise(z, t)
        t_next = torch.minimum(stepper(step, t, pred.logvar), t).masked_fill(known, 0.0)
        z = reverse_step(flow, z, t, t_next, pred, alpha, temperature, generator)
        if refine is not None:  # [B, N, D]; only where t_next < t
            moved = _bcast(t_next < t, z)
            z = torch.where(moved, refine(z, t_next, pred.x0, known, x_known), z)
        z = torch.where(known_3d, x_known, z)
        t = t_next
        if callback is not None:
            callback(StepState(step, t, z, pred.x0, pred.logvar))
    if bool((t > 0).any()):
        raise RuntimeError(
            f"schedule {schedule!r} left {(t > 0).sum().item()} variables unfinished"
        )
    return z


def _denoise_unfinished(denoise: Denoiser, z: Tensor, t: Tensor) -> Prediction:
    """``denoise`` on the rows with some t > 0; finished rows get x0 = z, eps = 0 and
    log-variance 0 (no step moves them, no schedule ranks their variables)."""
    rows = (t > 0).any(1).nonzero().squeeze(1)  # [R]
    if rows.numel() == t.shape[0]:
        return denoise(z, t, None)
    x0, eps = z.clone(), torch.zeros_like(z)
    logvar = torch.zeros_like(t, dtype=torch.float32)
    if rows.numel() == 0:
        return Prediction(x0, eps, logvar)
    part = denoise(z[rows], t[rows], rows)
    x0[rows], eps[rows] = part.x0.to(z.dtype), part.eps.to(z.dtype)
    if part.logvar is None:
        return Prediction(x0, eps, None)
    logvar[rows] = part.logvar.float()
    return Prediction(x0, eps, logvar)
