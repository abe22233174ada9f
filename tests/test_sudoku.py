"""Symbolic Sudoku: grids, givens, metrics, the exact solver and the unique-solution set."""

import numpy as np
import pytest
import torch

from ponder.tasks.sudoku import SudokuConfig, SudokuTask, sudoku_dependency
from ponder.tasks.sudoku_solver import count_solutions


def small_task(**kw) -> SudokuTask:
    return SudokuTask(SudokuConfig(pool_size=50, **kw))


def test_givens_ranges_and_metrics():
    task = small_task(test_givens=(27, 53))
    batch = task.test_batch(200, seed=0)
    counts = batch.known.sum(1)
    assert counts.min() >= 27 and counts.max() <= 53
    m = task.evaluate(batch.x, batch)
    assert m["solved"] == m["valid"] == m["consistent"] == m["exact"] == 1.0
    wrong = batch.x.clone()
    wrong = wrong[:, [1, *range(1, 81)], :]  # cell 0 copies cell 1
    m = task.evaluate(wrong, batch)
    assert m["valid"] == 0.0 and m["solved"] == 0.0


def test_train_and_test_pools_are_disjoint():
    task = small_task()
    train, test = task.pool(task.config.train_seed), task.pool(task.config.test_seed)
    assert not {g.tobytes() for g in train} & {g.tobytes() for g in test}


def test_the_shipped_unique_set():
    task = small_task(test_set="unique")
    batch = task.test_batch(40, seed=123)
    counts = batch.known.sum(1)
    assert counts.min() >= 17 and counts.max() <= 30
    m = task.evaluate(batch.x, batch)
    assert m["solved"] == m["exact"] == 1.0
    grids = task.digits(batch.x).numpy()
    for g, known in zip(grids[:10], batch.known[:10].view(-1, 9, 9).numpy(), strict=True):
        assert count_solutions(np.where(known, g, 0)) == 1
    with pytest.raises(ValueError, match="has 500 puzzles, asked 501"):
        task.test_batch(501, 0)


@pytest.mark.parametrize(
    ("name", "givens"), [("easy", (54, 80)), ("medium", (27, 53)), ("hard", (0, 26))]
)
def test_the_shipped_difficulty_sets(name, givens):
    batch = small_task(test_set=name).test_batch(1000, seed=5)
    counts = batch.known.sum(1)
    assert givens[0] <= counts.min() and counts.max() <= givens[1]
    again = small_task(test_set=name).test_batch(10, seed=6)  # the seed plays no part
    assert torch.equal(again.x, batch.x[:10]) and torch.equal(again.known, batch.known[:10])


def test_project_snaps_to_the_nearest_digit_code():
    x = torch.tensor([[[0.2, 0.9, -0.3, 0, 0, 0, 0, 0, -1.0]]])
    code = SudokuTask.project(x)
    assert torch.equal(code, torch.tensor([[[-1.0, 1, -1, -1, -1, -1, -1, -1, -1]]]))
    assert torch.equal(SudokuTask.digits(code.expand(1, 81, 9))[0, 0, 0], torch.tensor(2))


def test_dependency_and_bad_input():
    dep = sudoku_dependency()
    assert dep.shape == (81, 81) and dep.trace() == 0 and torch.all(dep.sum(1) == 20)
    with pytest.raises(ValueError, match=r"train_givens must satisfy.*\(0, 90\)"):
        SudokuTask(SudokuConfig(train_givens=(0, 90)))
    with pytest.raises(ValueError, match=r"unknown Sudoku test_set 'hardest'.*'unique'"):
        SudokuTask(SudokuConfig(test_set="hardest"))


def test_energy_negatives_resample_unknown_cells_only():
    task = small_task()
    batch = task.test_batch(64, seed=0)
    wrong = task.negatives(batch.x, batch.known, torch.Generator().manual_seed(0), fraction=0.5)
    changed = (wrong != batch.x).any(-1)  # [B, 81]
    assert not changed[batch.known].any()
    share = changed[~batch.known].float().mean().item()
    assert 0.35 < share < 0.5  # half are resampled, 1/9 of those land on the same digit
    assert torch.all(wrong.abs() == 1) and torch.all((wrong == 1).sum(-1) == 1)  # +-1 one-hot
