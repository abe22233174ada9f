"""Energy diffusion: gradient parameterisation, annealed descent, contrastive training."""

import pytest
import torch
from torch import nn

from ponder.energy import EnergyDenoiser, EnergyDescent, EnergyModel, descent_step_size
from ponder.flows import VPFlow
from ponder.model import draw_noise
from ponder.nets.mlp import MLPConfig, MLPDenoiser
from ponder.nets.output import DenoiserOutput
from ponder.sampling import sample
from ponder.schedules import FixedSchedule
from ponder.time_samplers import SharedTimes
from ponder.variables import VariableLayout


class Quadratic(nn.Module):
    """f(z, t) = (z - a(t) mu) / sqrt(b(t)): E = 0.5 ||z - a mu||^2 / b, whose gradient
    (z - a mu) / b is the exact eps for data concentrated at mu."""

    def __init__(self, flow, mu):
        super().__init__()
        self.flow, self.mu = flow, mu
        self.out = nn.Linear(1, 1)  # present but not zero: left alone

    def forward(self, z, t, label=None):
        a, b = self.flow.a(t)[..., None], self.flow.b(t)[..., None]
        return DenoiserOutput((z - a * self.mu) / b.clamp_min(1e-3).sqrt())


def _central_difference(fn, z, index, h=1e-6):
    """d fn(z)[index[0]] / d z[index], a central difference (fn: [B, N, D] -> [B])."""
    dz = torch.zeros_like(z)
    dz[index] = h
    return ((fn(z + dz) - fn(z - dz))[index[0]] / (2 * h)).item()


def test_the_eps_prediction_is_the_energy_gradient():
    torch.manual_seed(0)
    net = EnergyDenoiser(MLPDenoiser(VariableLayout(3, 2), MLPConfig(width=16, depth=2)))
    net = net.double()
    z, t = torch.randn(2, 3, 2, dtype=torch.float64), torch.rand(2, 3, dtype=torch.float64)
    grad = net(z, t).mean
    for i, j in [(0, 1), (2, 0)]:
        numeric = _central_difference(lambda y: net.energy(y, t), z, (0, i, j))
        assert abs(numeric - grad[0, i, j].item()) < 1e-6
    assert net.base.out.weight.abs().sum() > 0  # re-initialised from zero


def test_the_x0_form_is_a_potential_whose_gradient_is_the_matching_eps():
    """x0_hat = dG/dz, and dE/dz = (z - a x0_hat) / b on the variables being generated."""
    torch.manual_seed(0)
    flow = VPFlow("cosine", steps=10)
    base = MLPDenoiser(VariableLayout(3, 2), MLPConfig(width=16, depth=2))
    net = EnergyDenoiser(base, flow, form="x0").double()
    z = torch.randn(2, 3, 2, dtype=torch.float64)
    t = torch.tensor([[0.7, 0.7, 0.0], [0.3, 0.3, 0.3]], dtype=torch.float64)  # one level each
    x0 = net(z, t).mean
    energy, eps = net.energy_and_grad(z, t)
    a, b = flow.a(t)[..., None], flow.b(t)[..., None]
    expected = (z - a * x0) / b
    moving = t > 0
    assert torch.allclose(eps[moving], expected[moving], atol=1e-10)
    numeric = _central_difference(lambda y: net.energy(y, t), z, (1, 2, 1))
    assert abs(numeric - eps[1, 2, 1].item()) < 1e-6
    assert torch.isfinite(energy).all()


@pytest.mark.parametrize("form", ["eps", "x0"])
def test_the_loss_reads_the_positives_energy_off_the_denoising_pass(form):
    """One pass of f gives the denoising output and E(y+); the loss and its parameter
    gradients equal those of the loss written out with separate energy evaluations."""
    torch.manual_seed(0)
    flow = VPFlow("cosine", steps=10)
    base = MLPDenoiser(VariableLayout(3, 2), MLPConfig(width=16, depth=2))
    model = EnergyModel(EnergyDenoiser(base, flow, form=form), flow, contrastive_weight=0.5)
    model = model.double().train()
    x = torch.randn(4, 3, 2, dtype=torch.float64)
    known = torch.tensor([[True, False, False]] * 4)
    noise = draw_noise(x.shape, known, SharedTimes(), torch.Generator().manual_seed(1))
    noise = type(noise)(*(v.double() for v in noise))
    negative = torch.where(known[..., None], x, torch.randn_like(x))
    parts = model.loss(x, noise, x_negative=negative)
    fast = torch.autograd.grad(parts.total, list(model.parameters()))

    y_pos, y_neg = flow.noise(x, noise.t, noise.eps), flow.noise(negative, noise.t, noise.eps)
    target = flow.target(model.prediction, x, noise.eps, noise.t)
    mse = ((model.net(y_pos, noise.t).mean - target) ** 2).mean(-1)
    mean = (mse * noise.weight).sum() / (noise.weight > 0).sum()
    e_pos, e_neg = model.net.energy(y_pos, noise.t), model.net.energy(y_neg, noise.t)
    contrastive = torch.nn.functional.softplus(e_pos - e_neg).mean()
    slow = torch.autograd.grad(mean + 0.5 * contrastive, list(model.parameters()))
    assert torch.allclose(parts.mean, mean) and torch.allclose(parts.contrastive, contrastive)
    assert all(torch.allclose(f, g, atol=1e-10) for f, g in zip(fast, slow, strict=True))


def test_the_residual_head_is_the_plain_prediction_plus_a_gradient_correction():
    """G = <z, f> - 0.5 ||f||^2: dG/dz = f + J^T (z - f), checked against a finite difference;
    with the zero-initialised output layer J = 0, so the model starts as the plain denoiser."""
    torch.manual_seed(0)
    flow = VPFlow("cosine", steps=10)
    base = MLPDenoiser(VariableLayout(3, 2), MLPConfig(width=16, depth=2)).double()
    net = EnergyDenoiser(base, flow, form="x0", head="residual")
    z = torch.randn(2, 3, 2, dtype=torch.float64)
    t = torch.full((2, 3), 0.4, dtype=torch.float64)
    assert not base.out.weight.any()  # left at zero: the head trains from there
    assert torch.equal(net(z, t).mean, base(z, t).mean)
    nn.init.normal_(base.out.weight, std=0.3)
    x0 = net(z, t).mean
    f = base(z, t).mean
    assert not torch.allclose(x0, f)  # the correction is there once J != 0
    numeric = _central_difference(lambda y: net.potential(y, t), z, (1, 0, 1))
    assert abs(numeric - x0[1, 0, 1].item()) < 1e-6


def test_bad_energy_form():
    base = MLPDenoiser(VariableLayout(3, 2), MLPConfig(width=16, depth=2))
    with pytest.raises(ValueError, match="unknown energy form 'v'; choose one of"):
        EnergyDenoiser(base, VPFlow(), form="v")
    with pytest.raises(ValueError, match="x0 energy form needs the VP flow"):
        EnergyDenoiser(base, form="x0")
    with pytest.raises(ValueError, match="unknown energy head 'cubic'; choose one of"):
        EnergyDenoiser(base, VPFlow(), head="cubic")
    with pytest.raises(ValueError, match="contrastive_weight must be >= 0, got -1"):
        EnergyModel(EnergyDenoiser(base, VPFlow()), VPFlow(), contrastive_weight=-1)


def test_without_the_contrastive_term_the_loss_is_the_denoising_loss():
    """lambda = 0 (the inverse_energy preset): no negatives are made, the loss is the
    denoising loss of the energy's gradient alone."""
    torch.manual_seed(0)
    flow = VPFlow("cosine", steps=10)
    base = MLPDenoiser(VariableLayout(3, 2), MLPConfig(width=16, depth=2))
    net = EnergyDenoiser(base, flow, form="x0", head="residual")
    nn.init.normal_(base.out.weight, std=0.3)
    model = EnergyModel(net, flow, contrastive_weight=0.0).train()
    model.descent_negatives = None  # calling it would fail the test
    x = torch.randn(4, 3, 2)
    known = torch.tensor([[True, False, False]] * 4)
    noise = draw_noise(x.shape, known, SharedTimes(), torch.Generator().manual_seed(1))
    parts = model.loss(x, noise)
    target = flow.target(model.prediction, x, noise.eps, noise.t)
    mse = ((net(flow.noise(x, noise.t, noise.eps), noise.t).mean - target) ** 2).mean(-1)
    expected = (mse * noise.weight).sum() / (noise.weight > 0).sum()
    assert torch.allclose(parts.total, expected) and torch.allclose(parts.mean, expected)


def test_descent_step_size_matches_the_discrete_betas():
    flow = VPFlow("cosine", steps=10)
    abar = torch.exp(flow.log_abar)  # [11]
    t = torch.tensor([0.3, 1.0, 0.0], dtype=torch.float32)
    eta = descent_step_size(flow, t)
    beta3 = 1 - abar[3] / abar[2]
    assert torch.isclose(eta[0], (beta3 / (1 - abar[3]).sqrt()).float(), rtol=1e-4)
    assert eta[2] == 0


def test_annealed_descent_finds_the_energy_minimum_and_never_climbs():
    flow = VPFlow("cosine", steps=10)
    mu = torch.tensor([0.5, -0.25])
    net = EnergyDenoiser(Quadratic(flow, mu))
    x = torch.zeros(4, 1, 2)
    known = torch.zeros(4, 1, dtype=torch.bool)
    energies = []

    class Watch(EnergyDescent):
        def __call__(self, z, t, x0, known, x_known):
            far = x0 * 0 + 2.0 if bool((t > 0).all()) else x0  # start each descent far away
            out = super().__call__(z, t, far, known, x_known)
            if bool((t > 0).all()):
                energies.append(self.net.energy(out, t))
            return out

    descent = Watch(net, flow, steps=30, step_scale=1.0)
    y = sample(
        lambda z, t: None or _predict(net, flow, z, t),
        flow,
        FixedSchedule(10),
        x,
        known,
        torch.Generator().manual_seed(0),
        refine=descent,
    )
    assert torch.allclose(y, mu.expand(4, 1, 2), atol=1e-4)
    # each level's descent starts at the jump (energy of the point 2.0) and only goes down
    t = torch.full((4, 1), 0.5)
    start = net.energy(flow.a(t)[..., None] * torch.full((4, 1, 2), 2.0), t)
    end = Watch(net, flow, steps=30)(torch.zeros(4, 1, 2), t, torch.zeros(4, 1, 2), known, x)
    assert torch.all(net.energy(end, t) <= start)


def _predict(net, flow, z, t):
    from ponder.sampling import Prediction

    eps = net(z, t).mean
    return Prediction((z - flow.b(t)[..., None] * eps) / flow.a(t)[..., None], eps)


def test_too_large_steps_are_rejected():
    flow = VPFlow("cosine", steps=10)
    net = EnergyDenoiser(Quadratic(flow, torch.zeros(2)))
    t = torch.full((3, 1), 0.5)
    known = torch.zeros(3, 1, dtype=torch.bool)
    x0 = torch.full((3, 1, 2), 1.0)
    huge = EnergyDescent(net, flow, steps=5, step_scale=1e6)
    jumped = EnergyDescent(net, flow, steps=0)(None, t, x0, known, x0)
    out = huge(None, t, x0, known, x0)
    assert torch.equal(out, jumped)  # every overshooting step raised the energy


def test_score_descent_follows_an_ordinary_models_eps_and_never_rejects():
    """With the exact eps of data at mu as the score, the descent walks towards a(t) mu, also
    with steps so large that the energy test would have rejected them."""
    flow = VPFlow("cosine", steps=10)
    mu = torch.tensor([0.5, -0.25])
    net = EnergyDenoiser(Quadratic(flow, mu))
    t = torch.full((3, 1), 0.5)
    known = torch.zeros(3, 1, dtype=torch.bool)
    far = torch.full((3, 1, 2), 1.0)
    target = flow.a(t)[..., None] * mu

    def score(y, t):
        return net.energy_and_grad(y, t)[1]

    for steps in (1, 10):
        moved = EnergyDescent(None, flow, steps=steps, score=score)(None, t, far, known, far)
        start = flow.a(t)[..., None] * far
        assert (moved - target).norm() < (start - target).norm()
    huge = EnergyDescent(None, flow, steps=1, step_scale=1e3, score=score)(None, t, far, known, far)
    rejected = EnergyDescent(net, flow, steps=1, step_scale=1e3)(None, t, far, known, far)
    assert not torch.equal(huge, rejected)  # the energy test kept the jump; the score did not


def test_bad_inner_steps():
    flow = VPFlow("cosine", steps=10)
    with pytest.raises(ValueError, match="inner steps must be >= 0, got -1"):
        EnergyDescent(EnergyDenoiser(Quadratic(flow, torch.zeros(1))), flow, steps=-1)


@pytest.mark.parametrize("form, head", [("eps", "square"), ("x0", "square"), ("x0", "residual")])
def test_a_tiny_energy_model_learns_addition_and_its_landscape(form, head):
    """Variables [a, b, y] with y = a + b: the sampled y beats the zero predictor by far, and
    the true answer has lower energy than a wrong one."""
    torch.manual_seed(0)
    flow = VPFlow("cosine", steps=10)
    base = MLPDenoiser(VariableLayout(3, 1), MLPConfig(width=64, depth=3))
    net = EnergyDenoiser(base, flow, form=form, head=head)
    model = EnergyModel(net, flow, contrastive_weight=0.5)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    known = torch.tensor([True, True, False]).expand(256, 3)

    def batch(n):
        ab = torch.rand(n, 2, 1, generator=g) - 0.5
        return torch.cat([ab, ab.sum(1, keepdim=True)], 1)

    for _ in range(500):
        x = batch(256)
        parts = model.loss(x, draw_noise(x.shape, known, SharedTimes(), g))
        opt.zero_grad()
        parts.total.backward()
        opt.step()
    assert parts.contrastive is not None and parts.contrastive < 0.69  # below log 2 (chance)
    model.eval()
    x = batch(256)
    refine = EnergyDescent(net, flow, steps=5, data_range=(-1.0, 1.0))
    y = sample(model.predict, flow, FixedSchedule(10), x, known, g, refine=refine)
    mse = (y[:, 2] - x[:, 2]).pow(2).mean().item()
    zero = x[:, 2].pow(2).mean().item()
    assert mse < 0.2 * zero, (mse, zero)
