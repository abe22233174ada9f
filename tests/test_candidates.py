"""Best-of-K candidates ranked by the model's own uncertainty at commit time."""

import pytest
import torch

from ponder.api import Pipeline
from ponder.build import build_model, build_task
from ponder.candidates import CommitUncertainty, keep_best, mean_of
from ponder.config import ConfigError, load_config
from ponder.flows import RectifiedFlow
from ponder.sampling import Prediction, sample
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
