"""Best-of-K candidates ranked by the model's own uncertainty at commit time."""

import pytest
import torch

from ponder.api import Pipeline
from ponder.build import build_model, build_task
from ponder.candidates import CommitUncertainty, keep_best, mean_of
from ponder.config import ConfigError, load_config
from ponder.flows import RectifiedFlow
from ponder.sampling import Prediction, marginal_logvar, sample
from ponder.schedules import make_schedule
from tiny import perturb

SMALL_SUDOKU = [
    "task.pool_size=20",
    "model.transformer.width=16",
    "model.transformer.depth=1",
    "model.transformer.heads=2",
]


def test_commit_uncertainty_scores_each_sample_by_its_commit_time_logvar():
    """Raster order, one variable per step; sample b's logvar at step s is b + s, so the mean
    committed logvar over its 3 generated variables is b + 1."""
    step = {"k": 0}

    def denoise(z, t):
        logvar = torch.arange(2.0)[:, None].expand(2, 4) + step["k"]
        step["k"] += 1
        return Prediction(torch.zeros_like(z), z, logvar)

    known = torch.tensor([[True, False, False, False]] * 2)
    ranking = CommitUncertainty(~known)
    sample(
        denoise,
        RectifiedFlow(),
        make_schedule("raster", steps=3),
        torch.zeros(2, 4, 1),
        known,
        torch.Generator().manual_seed(0),
        callback=ranking,
    )
    assert torch.allclose(ranking.score, torch.tensor([1.0, 2.0]))


def test_keep_best_takes_the_lowest_score_of_each_group():
    z = torch.arange(6.0).view(6, 1, 1)  # 2 conditions x 3 candidates
    best = keep_best(z, torch.tensor([3.0, 1.0, 2.0, 0.0, 5.0, -1.0]), 3)
    assert best.flatten().tolist() == [1.0, 5.0]


def pipeline(extra=()):
    cfg = load_config("sudoku", [*SMALL_SUDOKU, *extra])
    torch.manual_seed(0)
    net = build_model(cfg, build_task(cfg).layout).net
    perturb(net)
    return Pipeline(cfg, net.state_dict(), step=0, device="cpu")


def test_pipeline_candidates_multiply_the_work_and_keep_one_sample_per_condition():
    pipe = pipeline()
    one = pipe.sample(4, "adaptive_seq", steps=81)
    pipe.cfg.sample.candidates = 3
    three = pipe.sample(4, "adaptive_seq", steps=81)
    assert three.x.shape == one.x.shape and three.nfe == 3 * one.nfe
    pipe.cfg.sample.candidates = 0
    with pytest.raises(ConfigError, match=r"sample\.candidates must be >= 1, got 0"):
        pipe.sample(2, "fixed", steps=2)
    no_head = pipeline(["model.uncertainty=false"])
    no_head.cfg.sample.candidates = 2
    with pytest.raises(ConfigError, match=r"no uncertainty head.*sample\.combine=mean"):
        no_head.sample(2, "fixed", steps=2)
    no_head.cfg.sample.combine = "median"
    with pytest.raises(ConfigError, match=r"combine must be one of \['best', 'mean'\], got 'med"):
        no_head.sample(2, "fixed", steps=2)
    with pytest.raises(ConfigError, match=r"combine must be one of .*, got 'median'"):
        load_config("sudoku", ["sample.combine=median"])  # before any training starts


def test_mean_of_averages_each_group_of_candidates():
    z = torch.arange(6.0).view(6, 1, 1)  # 2 conditions x 3 candidates
    assert mean_of(z, 3).flatten().tolist() == [1.0, 4.0]


def test_combining_by_mean_votes_on_discrete_tasks_and_keeps_the_givens():
    """Sudoku without an uncertainty head: K = 3 candidates averaged, then each cell snapped
    to its nearest digit code (a vote); the givens are the puzzle's."""
    pipe = pipeline(["model.uncertainty=false", "sample.candidates=3", "sample.combine=mean"])
    voted = pipe.sample(4, "fixed", steps=3)
    single = pipeline(["model.uncertainty=false"]).sample(4, "fixed", steps=3)
    assert voted.x.shape == single.x.shape and voted.nfe == 3 * single.nfe
    assert set(voted.x.unique().tolist()) == {-1.0, 1.0}
    assert (voted.x == 1).sum(-1).eq(1).all()  # one digit per cell
    given = voted.conditions.known
    assert torch.equal(voted.x[given], voted.conditions.x[given])


def test_marginal_logvar_is_the_variance_of_a_one_hot_code_under_its_mean():
    certain = torch.full((1, 1, 9), -1.0)
    certain[..., 3] = 1.0
    uniform = torch.full((1, 1, 9), 2 / 9 - 1)  # p = 1/9 each: m = -7/9, variance 32/81
    halves = torch.zeros(1, 1, 9)  # p = 1/2 per entry: variance 1, the most there is
    got = marginal_logvar(torch.cat([certain, uniform, halves], 1))[0]
    assert torch.allclose(got, torch.log(torch.tensor([1e-6, 32 / 81, 1.0])))


def test_marginal_uncertainty_orders_variables_without_a_head():
    """Variable 2's estimate is a sure code, variable 1's a near-uniform one: adaptive_seq
    reading the marginal commits 2 first, then 1 (index order would be the reverse)."""
    sure, unsure = torch.tensor([1.0, -1.0, -1.0]), torch.tensor([-0.3, -0.4, -0.3])
    x0 = torch.stack([unsure, unsure, sure])[None]  # [1, 3, 3]
    finished = []

    def denoise(z, t):
        return Prediction(x0, z, marginal_logvar(x0))

    sample(
        denoise,
        RectifiedFlow(),
        make_schedule("adaptive_seq", steps=2),
        torch.zeros(1, 3, 3),
        torch.tensor([[True, False, False]]),
        torch.Generator().manual_seed(0),
        callback=lambda state: finished.append((state.t[0] == 0).tolist()),
    )
    assert finished == [[True, False, True], [True, True, True]]


@pytest.mark.parametrize("energy", [False, True], ids=["plain", "energy"])
def test_pipeline_marginal_uncertainty_runs_adaptive_order_and_best_of_k(energy):
    extra = ["model.uncertainty=false", "sample.uncertainty=marginal"]
    if energy:
        extra += ["model.energy=true", "model.flow=vp", "sample.energy_steps=1"]
    pipe = pipeline(extra)
    out = pipe.sample(3, "adaptive_seq", steps=81)
    assert (out.x == 1).sum(-1).eq(1).all()  # one digit per cell
    given = out.conditions.known
    assert torch.equal(out.x[given], out.conditions.x[given])
    pipe.cfg.sample.candidates = 2  # combine=best ranks candidates by the marginal too
    assert pipe.sample(3, "adaptive_seq", steps=81).x.shape == out.x.shape


def test_bad_uncertainty_source_is_named():
    with pytest.raises(ConfigError, match=r"sample\.uncertainty must be one of \['head', 'marg"):
        load_config("sudoku", ["sample.uncertainty=entropy"])
    cfg = load_config("inverse_energy", ["sample.uncertainty=marginal", "train.batch_size=4"])
    pipe = Pipeline(cfg, build_model(cfg, build_task(cfg).layout).net.state_dict(), 0, "cpu")
    with pytest.raises(ConfigError, match=r"'matrix_inverse' has no one-hot variables"):
        pipe.sample(2)
