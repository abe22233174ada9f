"""A tiny model learns a tiny task end to end: training loss, sampling loop, repaint."""

import torch

from ponder.flows import RectifiedFlow
from ponder.model import DenoisingModel, draw_noise
from ponder.nets.mlp import MLPConfig, MLPDenoiser
from ponder.sampling import sample
from ponder.schedules import FixedSchedule
from ponder.time_samplers import IndependentTimes
from ponder.variables import VariableLayout


def pairs(n: int, g: torch.Generator) -> torch.Tensor:
    """Two scalar variables: x0 = +-1 at random, x1 = -x0."""
    s = torch.randint(0, 2, (n, 1, 1), generator=g).float() * 2 - 1
    return torch.cat([s, -s], dim=1)  # [n, 2, 1]


def train_pairs() -> DenoisingModel:
    torch.manual_seed(0)
    net = MLPDenoiser(VariableLayout(2, 1), MLPConfig(width=64, depth=3))
    model = DenoisingModel(net, RectifiedFlow(), "velocity")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(800):
        x = pairs(256, g)
        known = torch.zeros(256, 2, dtype=torch.bool)
        loss = model.loss(x, draw_noise(x.shape, known, IndependentTimes(), g)).total
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def test_tiny_model_learns_the_pair_constraint():
    model = train_pairs()
    known = torch.zeros(500, 2, dtype=torch.bool)
    x = sample(
        model.predict,
        model.flow,
        FixedSchedule(steps=20),
        torch.zeros(500, 2, 1),
        known,
        torch.Generator().manual_seed(1),
    )
    assert (x[:, 0].abs() - 1).abs().mean() < 0.15  # lands on the modes
    assert (x[:, 0] + x[:, 1]).abs().mean() < 0.15  # and respects x1 = -x0
    assert 0.3 < (x[:, 0] > 0).float().mean() < 0.7  # both modes

    # conditional: given x0, the model infers x1 = -x0
    given = torch.zeros(500, 2, 1)
    given[:, 0] = 1.0
    known = torch.tensor([True, False]).expand(500, 2)
    x = sample(
        model.predict,
        model.flow,
        FixedSchedule(steps=20),
        given,
        known,
        torch.Generator().manual_seed(2),
    )
    assert torch.all(x[:, 0] == 1.0)
    assert (x[:, 1] + 1).abs().mean() < 0.15
