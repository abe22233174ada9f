import pytest
import torch

from ponder.flows import PREDICTIONS, CosineFlow, RectifiedFlow, VPFlow, make_flow

FLOWS = [RectifiedFlow(), CosineFlow(), CosineFlow(skew=0.1), VPFlow("linear"), VPFlow("cosine")]


@pytest.mark.parametrize("flow", FLOWS, ids=repr)
def test_boundary_values(flow):
    t0, t1 = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    if isinstance(flow, CosineFlow) and flow.skew > 0:
        # skew starts the path slightly noisy: b(0) = sin(pi/2 * s / (1 + s))
        assert torch.allclose(
            flow.b(t0), torch.sin(torch.tensor(torch.pi / 2 * 0.1 / 1.1)).double()
        )
        return
    assert torch.allclose(flow.a(t0), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(flow.b(t0), torch.zeros(3, dtype=torch.float64))
    assert flow.b(t1).min() > 0.99
    assert flow.a(t1).max() < 0.01


def test_vp_alphabar_matches_the_discrete_betas():
    flow = VPFlow("linear")
    betas = torch.linspace(1e-4, 2e-2, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0)
    k = torch.tensor([1, 10, 500, 1000])
    t = (k / 1000).double()
    assert torch.allclose(flow.a(t) ** 2, abar[k - 1], rtol=1e-10)
    assert torch.allclose(flow.a(t) ** 2 + flow.b(t) ** 2, torch.ones(4, dtype=torch.float64))


@pytest.mark.parametrize("flow", FLOWS, ids=repr)
def test_derivatives_match_finite_differences(flow):
    # mid-segment points: the VP path is piecewise smooth on the 1000-step grid
    t = torch.tensor([0.1135, 0.3705, 0.6105, 0.8805], dtype=torch.float64)
    h = 1e-7
    for f, df in ((flow.a, flow.da), (flow.b, flow.db)):
        numeric = (f(t + h) - f(t - h)) / (2 * h)
        assert torch.allclose(df(t), numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("flow", FLOWS, ids=repr)
@pytest.mark.parametrize("kind", PREDICTIONS)
def test_float64_round_trip_between_parameterisations(flow, kind):
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(4, 5, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(4, 5, 3, generator=g, dtype=torch.float64)
    t = torch.rand(4, 5, generator=g, dtype=torch.float64) * 0.96 + 0.02  # away from 0 and 1
    z = flow.noise(x0, t, eps)
    target = flow.target(kind, x0, eps, t)
    back = flow.split(kind, target, z, t)
    assert torch.allclose(back.x0, x0, atol=1e-9)
    assert torch.allclose(back.eps, eps, atol=1e-9)
    for other in PREDICTIONS:  # and on to every other parameterisation
        assert torch.allclose(
            flow.target(other, back.x0, back.eps, t), flow.target(other, x0, eps, t), atol=1e-9
        )


def test_rectified_velocity_is_eps_minus_x():
    flow = RectifiedFlow()
    x0, eps, t = torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.rand(2, 3)
    assert torch.allclose(flow.target("velocity", x0, eps, t), eps - x0)
    # velocity and v conversions stay exact at the ends, where x0 / eps forms divide by zero
    for tt in (torch.zeros(2, 3), torch.ones(2, 3)):
        z = flow.noise(x0, tt, eps)
        back = flow.split("velocity", eps - x0, z, tt)
        assert torch.allclose(back.x0, x0, atol=1e-6) and torch.allclose(back.eps, eps, atol=1e-6)


def test_unknown_names_are_errors():
    with pytest.raises(ValueError, match="unknown flow 'straight'"):
        make_flow("straight")
    with pytest.raises(ValueError, match="choose one of"):
        RectifiedFlow().target(
            "score", torch.zeros(1, 1, 1), torch.zeros(1, 1, 1), torch.zeros(1, 1)
        )
