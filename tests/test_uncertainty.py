"""The uncertainty head is trained and its sigma tracks the true error."""

import torch

from ponder.flows import RectifiedFlow
from ponder.model import DenoisingModel, draw_noise
from ponder.nets.mlp import MLPConfig, MLPDenoiser
from ponder.time_samplers import IndependentTimes
from ponder.variables import VariableLayout


def toy_batch(n: int, g: torch.Generator) -> torch.Tensor:
    """4 variables of 2 features: 0 and 1 are constants, 2 is N(0, 0.25), 3 is N(0, 1)."""
    x = torch.zeros(n, 4, 2)
    x[:, 0] = 0.5
    x[:, 1] = -0.5
    x[:, 2] = 0.5 * torch.randn(n, 2, generator=g)
    x[:, 3] = torch.randn(n, 2, generator=g)
    return x


def test_sigma_tracks_the_true_error_of_the_mean():
    torch.manual_seed(0)
    layout = VariableLayout(num_variables=4, dim=2)
    net = MLPDenoiser(layout, MLPConfig(width=64, depth=3), uncertainty=True)
    model = DenoisingModel(net, RectifiedFlow(), prediction="x0")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    known = torch.zeros(256, 4, dtype=torch.bool)
    before = None
    for step in range(600):
        x = toy_batch(256, g)
        parts = model.loss(
            x, draw_noise(x.shape, known, IndependentTimes(), g), uncertainty_weight=1.0
        )
        opt.zero_grad()
        parts.total.backward()
        opt.step()
        if step == 0:
            before = parts.nll.item()
    assert parts.nll.item() < before - 0.5  # the head was trained

    # at a high noise level the x0 error grows with each variable's spread
    g = torch.Generator().manual_seed(1)
    x = toy_batch(4000, g)
    t = torch.full((4000, 4), 0.9)
    z = model.flow.noise(x, t, torch.randn(x.shape, generator=g))
    with torch.no_grad():
        out = net(z, t)
    true_mse = (out.mean - x).pow(2).mean(-1).mean(0)  # [4]
    sigma2 = out.logvar.exp().mean(0)  # [4]
    assert torch.argsort(sigma2).tolist()[-2:] == [2, 3]
    assert sigma2[3] > sigma2[2] > sigma2[[0, 1]].max()
    ratio = sigma2 / true_mse
    assert torch.all(ratio[2:] > 0.5) and torch.all(ratio[2:] < 2.0)  # calibrated where it matters
