"""The low-rank posterior mean: exact on observed entries, right on an easy problem, and better
than copy-observed on the task's own test set (what makes the task's target reachable)."""

import pytest
import torch

from ponder.tasks.lowrank_posterior import posterior_mean
from ponder.tasks.matrix_tasks import LowRankCompletion, test_set


def test_it_recovers_a_well_determined_low_rank_matrix():
    g = torch.Generator().manual_seed(1)
    u, v = torch.randn(8, 12, 2, generator=g), torch.randn(8, 12, 2, generator=g)
    clean = u @ v.mT / 4  # [8, 12, 12], rank 2: 44 degrees of freedom, ~115 entries observed
    observed = torch.rand(8, 12, 12, generator=g) < 0.8
    noisy = clean + 0.01 * torch.randn(clean.shape, generator=g)
    estimate = posterior_mean(noisy * observed, observed, 4.0, rank=2, noise=0.01, sweeps=60)
    hidden = ~observed
    assert torch.equal(estimate[observed], noisy[observed])
    error = ((estimate - clean)[hidden] ** 2).mean()
    assert error < 0.01 * (clean[hidden] ** 2).mean()  # the hidden entries, to within 1%


def test_it_beats_copy_observed_on_the_same_split():
    task = LowRankCompletion()
    batch = test_set(task, "same", 200)
    observed = batch.extra["observed"]
    copied = batch.answer * observed
    estimate = posterior_mean(copied, observed, task.divisor("same"), sweeps=60, burn_in=15)
    mse = ((estimate - batch.answer) ** 2).mean()
    copy_mse = ((copied - batch.answer) ** 2).mean()
    assert mse < 0.97 * copy_mse


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((4, 5, 6), {}, r"values must be \[B, n, n\]"),
        ((4, 5, 5), {"divisor": 0.0}, "divisor and noise must be > 0"),
        ((4, 5, 5), {"sweeps": 10, "burn_in": 10}, "burn_in=10, sweeps=10"),
    ],
)
def test_bad_arguments_are_named(shape, kwargs, message):
    values = torch.zeros(shape)
    arguments = {"divisor": 20.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        posterior_mean(values, values > 0, **arguments)
