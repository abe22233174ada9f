"""Symbolic Sudoku: grids, givens, metrics, the exact solver and the unique-solution set."""

import numpy as np
import pytest
import torch

from ponder.tasks.sudoku import (
    SudokuConfig,
    SudokuTask,
    _solve_random,
    grid_distance,
    grid_validity,
    random_transform,
    sudoku_dependency,
)
from ponder.tasks.sudoku_solver import count_solutions, solve, unique_puzzle

# a published 17-clue puzzle (one solution)
SEVENTEEN = "000000010400000000020000000000050407008000300001090000300400200050100000000806000"


def small_task(**kw) -> SudokuTask:
    return SudokuTask(SudokuConfig(pool_size=50, **kw))


def test_grids_are_valid_and_transforms_keep_them_valid():
    rng = np.random.default_rng(0)
    grids = np.stack([_solve_random(rng) for _ in range(5)])
    assert grid_validity(torch.from_numpy(grids)).all()
    moved = random_transform(np.repeat(grids, 20, 0), rng)
    assert grid_validity(torch.from_numpy(moved)).all()
    assert len({m.tobytes() for m in moved}) == 100  # the transforms really vary


def test_distance_on_hand_made_boards():
    rng = np.random.default_rng(1)
    grid = _solve_random(rng)
    assert grid_distance(torch.from_numpy(grid[None])).item() == 0
    bad = grid.copy()
    bad[0, 0], bad[0, 1] = bad[0, 1], bad[0, 0]  # swap two cells of a row
    # the row stays a permutation; the two columns each get one digit twice and lose one
    # (2 x 2), and the box is unchanged: distance 4
    assert grid_distance(torch.from_numpy(bad[None])).item() == 4
    assert not grid_validity(torch.from_numpy(bad[None])).item()


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


def test_solver_and_unique_puzzles():
    grid = np.array([int(c) for c in SEVENTEEN]).reshape(9, 9)
    solution = solve(grid)
    assert solution is not None and grid_validity(torch.from_numpy(solution[None])).item()
    assert np.all(solution[grid > 0] == grid[grid > 0]) and count_solutions(grid) == 1
    rng = np.random.default_rng(3)
    full = _solve_random(rng)
    mask = unique_puzzle(full, 17, rng)
    puzzle = np.where(mask, full, 0)
    assert count_solutions(puzzle) == 1 and np.array_equal(solve(puzzle), full)
    assert count_solutions(np.zeros((9, 9), int)) == 2  # stops at the limit
    clash = np.zeros((9, 9), int)
    clash[0, :2] = 5
    assert solve(clash) is None


def test_the_shipped_unique_set():
    task = small_task(test_set="unique")
    batch = task.test_batch(40, seed=123)
    counts = batch.known.sum(1)
    assert counts.min() >= 17 and counts.max() <= 30
    grids = task.digits(batch.x).numpy()
    for g, known in zip(grids[:10], batch.known[:10].view(-1, 9, 9).numpy(), strict=True):
        assert count_solutions(np.where(known, g, 0)) == 1
    with pytest.raises(ValueError, match="has 500 puzzles, asked 501"):
        task.test_batch(501, 0)


def test_dependency_and_bad_input():
    dep = sudoku_dependency()
    assert dep.shape == (81, 81) and dep.trace() == 0 and torch.all(dep.sum(1) == 20)
    with pytest.raises(ValueError, match=r"train_givens must satisfy.*\(0, 90\)"):
        SudokuTask(SudokuConfig(train_givens=(0, 90)))
    with pytest.raises(ValueError, match="test_set must be 'random' or 'unique'"):
        SudokuTask(SudokuConfig(test_set="hard"))
    with pytest.raises(ValueError, match=r"shape \[B, 9, 9\]"):
        solve(np.zeros((8, 9), int))
    with pytest.raises(ValueError, match="digits must be 0-9, got 12"):
        solve(np.full((9, 9), 12))
    with pytest.raises(ValueError, match=r"min_givens must be in 17\.\.81"):
        unique_puzzle(_solve_random(np.random.default_rng(0)), 10, np.random.default_rng(0))


def test_energy_negatives_resample_unknown_cells_only():
    task = small_task()
    batch = task.test_batch(64, seed=0)
    wrong = task.negatives(batch.x, batch.known, torch.Generator().manual_seed(0), fraction=0.5)
    changed = (wrong != batch.x).any(-1)  # [B, 81]
    assert not changed[batch.known].any()
    share = changed[~batch.known].float().mean().item()
    assert 0.35 < share < 0.5  # half are resampled, 1/9 of those land on the same digit
    assert torch.all(wrong.abs() == 1) and torch.all((wrong == 1).sum(-1) == 1)  # +-1 one-hot
