"""Energy diffusion (IRED, REFERENCE 3): a denoiser that is the gradient of a scalar energy,
trained with the denoising loss plus an energy-landscape contrastive loss, and sampled by
annealed energy descent inside the one sampling loop (``sampling.sample(..., refine=...)``).

Conventions: the energy's input gradient is an **eps** prediction on a **VP** path (``VPFlow``,
usually K = 10 cosine levels as in the paper); the network either outputs that energy directly
(IRED's form) or a potential whose gradient is the clean estimate (``x0`` form, see
``EnergyDenoiser``). Known variables are clean (t = 0) inputs, as everywhere in ponder, so
conditioning needs no special masking.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from ponder.config import ENERGY_HEADS
from ponder.flows import VPFlow, _bcast
from ponder.model import DenoisingModel, LossParts, NoiseDraw
from ponder.nets.output import DenoiserOutput

ENERGY_FORMS = ("eps", "x0")


class EnergyDenoiser(nn.Module):
    """A denoiser that is the gradient of a scalar energy ``E(z, t) [B]``: two heads, two forms.

    A head makes a potential ``G(z, t)`` from ``f``, any ponder denoiser (its ``mean`` output,
    the shape of z), summed over variables and features (``model.energy_head``):

    - ``square`` (IRED's head): ``G = 0.5 ||f||^2``, so ``dG/dz = J^T f`` (J = df/dz).
    - ``residual``: ``G = <z, f> - 0.5 ||f||^2 = 0.5 ||z||^2 - 0.5 ||z - f||^2``, so
      ``dG/dz = f + J^T (z - f)``: the plain prediction ``f`` plus a correction that makes it a
      gradient (Salimans & Ho's energy parameterisation). With ponder's zero-initialised output
      layer J = 0 at the start, so training starts as plain diffusion would.

    A form makes the energy from G (``model.prediction``):

    - ``eps`` (IRED): ``E = G`` and the noise estimate is ``eps_hat = dE/dz``. On a VP path the
      clean estimate ``(z - b eps_hat) / a`` multiplies eps errors by 1 / a(1) (about 200 at
      t = 1 with 10 cosine levels), so the first levels of sampling land far from the data.
    - ``x0``: the clean estimate is ``x0_hat = dG/dz`` and the energy is the potential whose
      gradient is the matching noise estimate: ``E = sum_{t_i > 0} |z_i|^2 / (2 b) - (a / b) G``,
      so ``dE/dz_i = (z_i - a x0_hat_i) / b = eps_hat_i``. a and b are taken per sample at its
      highest level: exact when the variables being generated share one level (the energy
      presets' shared time sampler and fixed schedule); otherwise descent still follows dE/dz.

    ``forward`` returns what the model's loss and sampler read (eps_hat resp. x0_hat); energy
    descent uses ``energy_and_grad`` (E and eps_hat = dE/dz) in both forms. Under the square
    head the zero-initialised output layer of ``f`` is re-initialised with small weights: at
    f = 0 the gradient of the loss with respect to that layer vanishes (the output is quadratic
    in it), so training could not start.
    """

    def __init__(
        self,
        base: nn.Module,
        flow: VPFlow | None = None,
        form: str = "eps",
        init_std: float = 0.02,
        head: str = "square",
    ) -> None:
        super().__init__()
        if form not in ENERGY_FORMS:
            raise ValueError(f"unknown energy form {form!r}; choose one of {ENERGY_FORMS}")
        if head not in ENERGY_HEADS:
            raise ValueError(f"unknown energy head {head!r}; choose one of {ENERGY_HEADS}")
        if form == "x0" and flow is None:
            raise ValueError("the x0 energy form needs the VP flow to turn x0_hat into eps_hat")
        self.base, self.flow, self.form, self.head = base, flow, form, head
        self.logvar_head = None  # energy models carry no uncertainty head
        out = getattr(base, "out", None)
        if head == "square" and isinstance(out, nn.Linear) and not out.weight.any():
            nn.init.normal_(out.weight, std=init_std)

    def potential(self, z: Tensor, t: Tensor, label: Tensor | None = None) -> Tensor:
        """``G`` of the head: ``[B, N, D], [B, N] -> [B]``."""
        f = self.base(z, t, label).mean
        if f.dtype in (torch.bfloat16, torch.float16):  # sum products in fp32 under autocast
            f = f.float()
        g = 0.5 * f.pow(2) if self.head == "square" else (z.to(f.dtype) - 0.5 * f) * f
        return g.flatten(1).sum(1)

    def energy(self, z: Tensor, t: Tensor, label: Tensor | None = None) -> Tensor:
        """``[B, N, D], [B, N] -> [B]``."""
        return self._energy_from_potential(z, t, self.potential(z, t, label))

    def _energy_from_potential(self, z: Tensor, t: Tensor, g: Tensor) -> Tensor:
        """E from G ``[B]``: G itself in the eps form, the quadratic minus (a / b) G in x0."""
        if self.form == "eps":
            return g
        t_top = t.amax(1)  # [B]: the level of the variables being generated
        b = self.flow.b(t_top).clamp_min(1e-4)
        moving = _bcast((t > 0).to(z.dtype), z)
        quadratic = 0.5 * (moving * z.pow(2)).flatten(1).sum(1) / b
        return quadratic - self.flow.a(t_top) / b * g

    def energy_and_grad(
        self, z: Tensor, t: Tensor, label: Tensor | None = None, create_graph: bool = False
    ) -> tuple[Tensor, Tensor]:
        """``(E [B], eps_hat = dE/dz [B, N, D])``."""
        return _value_and_grad(lambda y: self.energy(y, t, label), z, create_graph)

    def energy_and_output(
        self, z: Tensor, t: Tensor, label: Tensor | None = None, create_graph: bool = False
    ) -> tuple[Tensor, DenoiserOutput]:
        """``E [B]`` and ``forward``'s output (eps_hat resp. x0_hat, both dG/dz) from one pass
        of ``f``: the training loss reads the positives' energy off the denoising pass."""
        g, grad = _value_and_grad(lambda y: self.potential(y, t, label), z, create_graph)
        return self._energy_from_potential(z, t, g), DenoiserOutput(grad, None)

    def forward(self, z: Tensor, t: Tensor, label: Tensor | None = None) -> DenoiserOutput:
        return self.energy_and_output(z, t, label, create_graph=self.training)[1]


def _value_and_grad(
    fn: Callable[[Tensor], Tensor], z: Tensor, create_graph: bool
) -> tuple[Tensor, Tensor]:
    """``fn(z) [B]`` and its input gradient. Training differentiates the gradient again: the
    fused attention kernels have no double backward, so attention runs as plain matmuls then
    (MLPs are unaffected)."""
    kernels = sdpa_kernel(SDPBackend.MATH) if create_graph else nullcontext()
    with torch.enable_grad(), kernels:
        z = z.detach().requires_grad_(True)
        value = fn(z)
        (grad,) = torch.autograd.grad(value.sum(), z, create_graph=create_graph)
    return value, grad


class EnergyModel(DenoisingModel):
    """DenoisingModel whose loss adds lambda * softplus(E(y+) - E(y-)) (REFERENCE 3.2).

    y+ is the training input itself; y- puts a negative clean answer ``x_negative`` through the
    *same* noise draw. Without task-made negatives, they are made as IRED does for continuous
    data: the data noised 3x harder, ``negative_steps`` detached energy-descent steps, read back
    as a clean estimate.
    """

    def __init__(
        self,
        net: EnergyDenoiser,
        flow: VPFlow,
        contrastive_weight: float = 0.5,
        negative_steps: int = 2,
    ):
        if not isinstance(flow, VPFlow):
            raise ValueError(f"energy models need the VP flow, got {type(flow).__name__}")
        if contrastive_weight < 0:
            raise ValueError(f"contrastive_weight must be >= 0, got {contrastive_weight}")
        super().__init__(net, flow, prediction=net.form)
        self.contrastive_weight, self.negative_steps = contrastive_weight, negative_steps

    def descent_negatives(self, x: Tensor, noise: NoiseDraw, label: Tensor | None) -> Tensor:
        a, b = _bcast(self.flow.a(noise.t), x), _bcast(self.flow.b(noise.t), x)
        moving = _bcast(noise.weight > 0, x).float()
        y = a * x + b * 3.0 * noise.eps
        eta = _bcast(descent_step_size(self.flow, noise.t), x)
        for _ in range(self.negative_steps):
            _, grad = self.net.energy_and_grad(y, noise.t, label)
            y = y - eta * grad * moving
        return torch.where(moving.bool(), y / a.clamp_min(1e-4), x).detach()

    def loss(
        self,
        x: Tensor,
        noise: NoiseDraw,
        label: Tensor | None = None,
        uncertainty_weight: float = 0.0,
        x_negative: Tensor | None = None,
    ) -> LossParts:
        y_pos = self.flow.noise(x, noise.t, noise.eps)
        e_pos, out = self.net.energy_and_output(y_pos, noise.t, label, self.net.training)
        base = self.loss_of(out, x, noise, uncertainty_weight)
        if self.contrastive_weight == 0:
            return base
        if x_negative is None:
            x_negative = self.descent_negatives(x, noise, label)
        y_neg = self.flow.noise(x_negative, noise.t, noise.eps)
        e_neg = self.net.energy(y_neg, noise.t, label)  # E(y+) came with the denoising pass
        contrastive = F.softplus(e_pos - e_neg).mean()
        total = base.total + self.contrastive_weight * contrastive
        return LossParts(total, base.mean, base.nll, contrastive.detach())


def descent_step_size(flow: VPFlow, t: Tensor) -> Tensor:
    """IRED's per-level step eta = beta / sqrt(1 - abar) at noise level t (0 where t = 0).

    beta at t is the discrete beta of the level ending at t: 1 - abar(t) / abar(t - 1/K).
    """
    k = 1.0 / flow.steps
    log_now = 2 * torch.log(flow.a(t).clamp_min(1e-20))
    log_prev = 2 * torch.log(flow.a((t - k).clamp_min(0)).clamp_min(1e-20))
    beta = -torch.expm1(log_now - log_prev)
    return torch.where(t > 0, beta / flow.b(t).clamp_min(1e-12), torch.zeros_like(t))


@dataclass
class EnergyDescent:
    """The refine step of annealed energy descent, for ``sampling.sample(refine=...)``.

    At each new noise level t: jump to a(t) * clamp(x0_hat) (noise-free, scaled), then ``steps``
    steps y <- y - step_scale * eta(t) * dE/dy on the variables to generate, each step rejected
    per sample if it raises the energy, clamped to a(t) * data_range. More steps = more
    test-time compute. At t = 0 the jump lands on the clean estimate itself (no unscaling slip).

    ``score`` refines an *ordinary* model the same way: steps follow its noise estimate
    ``score(y, t) -> eps_hat`` (the gradient of its implicit energy, -b(t) grad log p) and are
    never rejected, as there is no energy value to compare; ``net`` is then unused.
    """

    net: EnergyDenoiser | None
    flow: VPFlow
    steps: int = 5
    step_scale: float = 1.0
    data_range: tuple[float, float] | None = None
    label: Tensor | None = None
    score: Callable[[Tensor, Tensor], Tensor] | None = None

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"the number of inner steps must be >= 0, got {self.steps}")

    def _clamp(self, y: Tensor, a: Tensor) -> Tensor:
        if self.data_range is None:
            return y
        lo, hi = self.data_range
        return torch.maximum(torch.minimum(y, a * hi), a * lo)

    def __call__(self, z: Tensor, t: Tensor, x0: Tensor, known: Tensor, x_known: Tensor) -> Tensor:
        a = _bcast(self.flow.a(t), x0)  # z itself is replaced by the jump
        unknown = _bcast(~known, x0)
        y = torch.where(unknown, self._clamp(a * x0, a), x_known)
        eta = _bcast(descent_step_size(self.flow, t), x0) * self.step_scale
        if self.steps == 0 or not bool((t > 0).any()):
            return y
        energy, grad = self._energy_and_grad(y, t)
        for _ in range(self.steps):
            proposal = torch.where(unknown, self._clamp(y - eta * grad, a), y)
            new_energy, new_grad = self._energy_and_grad(proposal, t)
            if energy is None:  # score descent: no energy to test the step against
                y, grad = proposal, new_grad
                continue
            better = new_energy <= energy  # [B]: reject steps that raise the energy
            y = torch.where(better[:, None, None], proposal, y)
            energy = torch.where(better, new_energy, energy)
            grad = torch.where(better[:, None, None], new_grad, grad)
        return y.detach()

    def _energy_and_grad(self, y: Tensor, t: Tensor) -> tuple[Tensor | None, Tensor]:
        if self.score is not None:
            return None, self.score(y, t)
        return self.net.energy_and_grad(y, t, self.label)
