"""Every schedule on exact grids, and the invariants they all keep."""

import math

import pytest
import torch

from ponder.flows import RectifiedFlow
from ponder.sampling import Prediction, sample
from ponder.schedules import (
    SCHEDULES,
    AdaptiveSoftmaxSchedule,
    BlockSchedule,
    certainty_weights,
    make_schedule,
)


def sudoku_dependency() -> torch.Tensor:
    cell = torch.arange(81)
    r, c = cell // 9, cell % 9
    box = (r // 3) * 3 + c // 3
    same = (r[:, None] == r) | (c[:, None] == c) | (box[:, None] == box)
    return (same & ~torch.eye(81, dtype=torch.bool)).float()


def run(schedule, to_generate, logvar=None, dependency=None, seed=0):
    """All t vectors the schedule produces, through the real sampling loop: [S, B, N]."""
    b, n = to_generate.shape
    record = []

    def denoise(z, t):
        lv = None if logvar is None else logvar.expand(b, n)
        return Prediction(torch.zeros_like(z), z, lv)

    sample(
        denoise,
        RectifiedFlow(),
        schedule,
        torch.zeros(b, n, 1),
        ~to_generate,
        torch.Generator().manual_seed(seed),
        dependency=dependency,
        callback=lambda s: record.append(s.t.clone()),
    )
    return torch.stack(record)


SETTINGS = {
    "fixed": {"steps": 12},
    "raster": {"steps": 12},
    "random_seq": {"steps": 12, "overlap": 0.75},
    "graph_seq": {"steps": 12, "overlap": 0.5},
    "adaptive_seq": {"steps": 12},
    "maskgit": {"groups": 4, "steps_per_group": 3},
    "adaptive_inverse": {"steps": 12},
    "adaptive_softmax": {"steps": 12},
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_invariants(name):
    assert set(SETTINGS) == set(SCHEDULES)
    n = 9
    to_generate = torch.ones(3, n, dtype=torch.bool)
    to_generate[1, :4] = False  # some known variables
    to_generate[2, ::2] = False
    dep = torch.ones(n, n) - torch.eye(n)
    logvar = torch.linspace(-2, 2, n)[None]
    ts = run(make_schedule(name, **SETTINGS[name]), to_generate, logvar, dep)
    assert torch.all(ts[:, ~to_generate] == 0)  # known variables never move
    start = to_generate.float()[None]
    assert torch.all(torch.diff(torch.cat([start, ts]), dim=0) <= 0)  # t never increases
    assert torch.all(ts[-1] == 0)  # everything finished at the last step
    again = run(make_schedule(name, **SETTINGS[name]), to_generate, logvar, dep)
    assert torch.equal(ts, again)  # same seed, same trajectory


@pytest.mark.parametrize(
    "n,steps,overlap", [(9, 9, 0.0), (9, 20, 0.0), (9, 20, 0.75), (5, 33, 0.5), (81, 81, 0.0)]
)
def test_block_length_and_starts_follow_the_formula(n, steps, overlap):
    sched = make_schedule("raster", steps=steps, overlap=overlap)
    length, starts = sched.timing(torch.ones(1, n, dtype=torch.bool))
    expected = math.floor(steps / ((n - 1) * (1 - overlap) + 1))
    assert int(length) == expected
    assert starts[0].tolist() == [math.floor(k * expected * (1 - overlap) + 1e-9) for k in range(n)]
    ts = run(sched, torch.ones(1, n, dtype=torch.bool))[:, 0]  # [S, N]
    for k in range(n):  # variable k (raster order) starts at its block's step
        s0 = int(starts[0, k])
        if s0 < steps - 1:
            assert ts[s0, k] == pytest.approx(max(0.0, 1 - 1 / expected))
        if s0 > 0:
            assert ts[s0 - 1, k] == 1.0


def test_overlap_zero_moves_exactly_one_variable_at_a_time():
    ts = run(make_schedule("random_seq", steps=18, overlap=0.0), torch.ones(2, 9, dtype=torch.bool))
    before = torch.cat([torch.ones(1, 2, 9), ts[:-1]])
    moving = (ts < before).sum(-1)  # [S, B]
    assert torch.all(moving == 1)
    finished_order = (ts == 0).float().argmax(0)  # step at which each variable hit 0
    assert sorted(finished_order[0].tolist()) == list(range(1, 18, 2))


def test_too_few_steps_is_an_error():
    with pytest.raises(ValueError, match="5 steps are too few for 9 blocks"):
        make_schedule("random_seq", steps=5).start(torch.ones(1, 9, dtype=torch.bool))


def test_graph_seq_picks_a_most_constrained_sudoku_cell():
    dep = sudoku_dependency()
    to_generate = torch.ones(4, 81, dtype=torch.bool)
    # known: row 0 except cell 8, column 8 except cell 8 ... so cell (0, 8) is most constrained
    for cell in list(range(8)) + [9 * r + 8 for r in range(1, 9)]:
        to_generate[:, cell] = False
    sched = make_schedule("graph_seq", steps=81)
    keys = sched.order_keys(to_generate, torch.Generator().manual_seed(0), dep)
    first = keys.argmin(1)
    assert torch.all(first == 8)
    # the certainty of the first pick is maximal under W
    w = certainty_weights(dep)
    certainty = (~to_generate).float() @ w
    assert torch.isclose(certainty[0, 8], certainty[0][to_generate[0]].max())


def test_graph_seq_breaks_ties_with_the_generator():
    dep = sudoku_dependency()
    to_generate = torch.ones(1, 81, dtype=torch.bool)  # empty board: all tied
    sched = make_schedule("graph_seq", steps=81)
    firsts = {
        int(sched.order_keys(to_generate, torch.Generator().manual_seed(s), dep).argmin())
        for s in range(6)
    }
    assert len(firsts) > 1


def test_graph_seq_without_dependency_is_an_error():
    with pytest.raises(ValueError, match="needs the task's dependency matrix"):
        make_schedule("graph_seq", steps=4).start(torch.ones(1, 4, dtype=torch.bool))


def test_adaptive_seq_starts_the_lowest_sigma_variable():
    logvar = torch.tensor([[0.5, -1.0, 2.0, -3.0, 1.0]])
    ts = run(make_schedule("adaptive_seq", steps=5), torch.ones(1, 5, dtype=torch.bool), logvar)
    finished = (ts[:, 0] == 0).float().argmax(0)  # [N]
    assert finished.argsort().tolist() == [3, 1, 0, 4, 2]  # ascending logvar


def test_adaptive_without_uncertainty_is_an_error():
    for name in ("adaptive_seq", "adaptive_inverse", "adaptive_softmax"):
        with pytest.raises(ValueError, match="uncertainty"):
            run(make_schedule(name, steps=6), torch.ones(1, 3, dtype=torch.bool), None)


def test_adaptive_softmax_keeps_the_total_noise_budget():
    sched = AdaptiveSoftmaxSchedule(steps=10, temperature=2.0)
    to_generate = torch.ones(2, 6, dtype=torch.bool)
    stepper = sched.start(to_generate)
    t = torch.ones(2, 6)
    logvar = torch.tensor([[-1.0, 0.0, 1.0, 0.5, -0.5, 0.2]]).expand(2, 6)
    t_next = stepper(0, t, logvar)
    removed = (t - t_next).sum(1)
    assert torch.allclose(removed, torch.full((2,), 6 / 10))  # = the fixed schedule's
    dec = (t - t_next)[0]
    assert dec.argmax() == 0 and dec.argmin() == 2  # confident variables step further


def test_maskgit_group_sizes_follow_the_cosine():
    sched = make_schedule("maskgit", groups=4, steps_per_group=2)
    ts = run(sched, torch.ones(1, 20, dtype=torch.bool))[:, 0]
    finished = (ts == 0).float().argmax(0)  # group g finishes at step 2g + 1
    counts = [int((finished == 2 * g + 1).sum()) for g in range(4)]
    bounds = [round(20 * (1 - math.cos(math.pi / 2 * g / 4))) for g in range(5)]
    assert counts == [bounds[g + 1] - bounds[g] for g in range(4)]


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"name": "random_seq", "overlap": 1.0}, "overlap must be in"),
        ({"name": "random_seq", "overlap": -0.1}, "overlap must be in"),
        ({"name": "fixed", "steps": 0}, "steps must be >= 1"),
        ({"name": "adaptive_seq", "top_k": 0}, "top_k must be >= 1"),
        ({"name": "fixed", "overlap": 0.5}, "has no parameter 'overlap'"),
        ({"name": "sequential"}, "unknown schedule 'sequential'; choose one of"),
    ],
)
def test_bad_parameters(bad, match):
    params = dict(bad)
    with pytest.raises(ValueError, match=match):
        make_schedule(params.pop("name"), **params)


def test_block_schedule_is_abstract():
    with pytest.raises(TypeError):
        BlockSchedule()
