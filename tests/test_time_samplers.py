import numpy as np
import pytest
import torch

from ponder.time_samplers import (
    IndependentTimes,
    MeanBetaTimes,
    SequentialTimes,
    SharedTimes,
    TerminalTimes,
    WithZeros,
    make_time_sampler,
    mean_beta_times,
)


def test_shared_and_independent(generator):
    t, w = SharedTimes()(64, 10, generator)
    assert t.shape == (64, 10) and torch.all(t == t[:, :1]) and torch.all(w == 1)
    t, _ = IndependentTimes()(4096, 10, generator)
    assert abs(t.mean().item() - 0.5) < 0.01 and abs(t.var().item() - 1 / 12) < 0.005


def test_terminal_puts_every_variable_at_pure_noise(generator):
    from ponder.model import draw_noise

    t, w = make_time_sampler("terminal")(8, 5, generator)
    assert (
        torch.all(t == 1)
        and torch.all(w == 1)
        and isinstance(make_time_sampler("terminal"), TerminalTimes)
    )
    known = torch.zeros(8, 5, dtype=torch.bool)
    known[:, :2] = True  # known variables stay clean and carry no loss, as with every sampler
    draw = draw_noise(torch.Size([8, 5, 3]), known, TerminalTimes(), generator)
    assert torch.all(draw.t[:, :2] == 0) and torch.all(draw.t[:, 2:] == 1)
    assert torch.all(draw.weight[:, :2] == 0) and torch.all(draw.weight[:, 2:] == 1)


@pytest.mark.parametrize("n", [1, 2, 7, 81, 256])
@pytest.mark.parametrize("sharpness", [0.5, 1.0])
def test_mean_beta_has_the_exact_mean_and_stays_in_bounds(n, sharpness):
    rng = np.random.default_rng(0)
    means = rng.uniform(size=1)  # the sampler draws its own; check via the sum
    del means
    t = mean_beta_times(2000, n, sharpness, np.random.default_rng(1))
    assert t.min() >= 0 and t.max() <= 1
    m = t.mean(1)
    # the per-sample mean is itself U(0, 1)
    assert abs(m.mean() - 0.5) < 0.03 and abs(m.var() - 1 / 12) < 0.01


def test_mean_beta_mean_is_exactly_the_drawn_mean():
    # reproduce the draw of the mean: it is the first uniform the generator gives
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    t = mean_beta_times(500, 81, 1.0, rng_a)
    m = rng_b.uniform(0.0, 1.0, size=500)
    assert np.allclose(t.mean(1), m, atol=1e-12)


def test_mean_beta_sharpness_controls_the_spread():
    loose = mean_beta_times(2000, 81, 0.25, np.random.default_rng(0)).std(1).mean()
    tight = mean_beta_times(2000, 81, 4.0, np.random.default_rng(0)).std(1).mean()
    assert tight < 0.7 * loose


def test_mean_beta_weights_flatten_the_marginal(generator):
    sampler = MeanBetaTimes(sharpness=1.0)
    t, w = sampler(8000, 81, generator)
    raw, _ = np.histogram(t.numpy().ravel(), bins=10, range=(0, 1))
    flat, _ = np.histogram(t.numpy().ravel(), bins=10, range=(0, 1), weights=w.numpy().ravel())
    raw, flat = raw / raw.mean(), flat / flat.mean()
    assert raw.max() / raw.min() > 3  # mean_beta piles t up near 0 and 1 ...
    assert flat.max() / flat.min() < 1.35  # ... and the weights undo it


def test_sequential_noises_a_large_random_subset(generator):
    t, w = SequentialTimes()(2000, 50, generator)
    noisy = w.sum(1)
    assert noisy.min() >= 35 and noisy.max() <= 50  # ceil(r n), r in [0.7, 1]
    assert torch.all(t[w == 0] == 0)
    assert abs(t[w == 1].mean().item() - 0.5) < 0.02


def test_add_zeros_makes_clean_context_without_loss(generator):
    t, w = WithZeros(IndependentTimes())(2000, 40, generator)
    zero = w == 0
    assert torch.all(t[zero] == 0)
    assert abs(zero.float().mean().item() - 0.5) < 0.03  # r ~ U(0, 1) on average 1/2


def test_seeded_draws_repeat():
    a = make_time_sampler("mean_beta")(8, 9, torch.Generator().manual_seed(3))
    b = make_time_sampler("mean_beta")(8, 9, torch.Generator().manual_seed(3))
    assert torch.equal(a.t, b.t) and torch.equal(a.weight, b.weight)


def test_unknown_sampler():
    with pytest.raises(ValueError, match="unknown time sampler 'meanbeta'"):
        make_time_sampler("meanbeta")
