"""The Sudoku engine: grids, puzzles, validity, the exact solver, the shipped test sets."""

from importlib import resources

import numpy as np
import pytest
import torch

from ponder.tasks.sudoku_grids import (
    BOX_IDS,
    COL_IDS,
    DIFFICULTY_GIVENS,
    ROW_IDS,
    TEST_SETS,
    SudokuSet,
    agrees_with_givens,
    difficulty_stats,
    drop_test_grids,
    grid_keys,
    is_solved,
    is_valid_sudoku,
    load_test_set,
    make_puzzles,
    make_test_set,
    make_unique_puzzles,
    random_solutions,
    random_transform,
    shipped_test_keys,
    sudoku_dependency,
    sudoku_distance,
    sudoku_set_bytes,
    train_solutions,
)
from ponder.tasks.sudoku_solver import (
    count_solutions,
    propagate_singles,
    search,
    solve,
    unique_givens,
)


def board(text: str) -> np.ndarray:
    """81 digits, '.' or '0' = empty, whitespace ignored -> [9, 9] int8."""
    cells = [0 if c in ".0" else int(c) for c in "".join(text.split())]
    return np.array(cells, np.int8).reshape(9, 9)


# Arto Inkala's 2012 "world's hardest Sudoku" (21 givens) and its published solution
INKALA = board("""
    8........ ..36..... .7..9.2.. .5...7... ....457.. ...1...3. ..1....68 ..85...1. .9....4..
""")
INKALA_SOLUTION = board("""
    812753649 943682175 675491283 154237896 369845721 287169534 521974368 438526917 796318452
""")
# a 17-clue puzzle from Gordon Royle's list of minimal puzzles
SEVENTEEN = board("""
    000000010 400000000 020000000 000050407 008000300 001090000 300400200 050100000 000806000
""")


@pytest.fixture(scope="module")
def grids() -> np.ndarray:
    return random_solutions(300, np.random.default_rng(0))


def test_random_solutions_are_valid_varied_and_seeded(grids):
    assert grids.shape == (300, 9, 9) and grids.dtype == np.int8
    assert is_valid_sudoku(grids).all() and is_valid_sudoku(torch.from_numpy(grids)).all()
    assert len(set(grid_keys(grids))) == 300
    assert np.array_equal(grids, random_solutions(300, np.random.default_rng(0)))
    fresh = random_solutions(20, np.random.default_rng(1), grids_per_base=1)
    assert is_valid_sudoku(fresh).all()
    # a symmetry keeps validity, and keeps the empty cells of a puzzle empty (just moved)
    puzzles = np.where(make_puzzles(grids[:50], (20, 40), np.random.default_rng(2)), grids[:50], 0)
    moved = random_transform(puzzles, np.random.default_rng(3))
    assert np.array_equal((moved == 0).sum((1, 2)), (puzzles == 0).sum((1, 2)))
    assert is_valid_sudoku(random_transform(grids, np.random.default_rng(4))).all()


def test_validity_and_distance_on_hand_made_boards(grids):
    g = grids[0]

    def dist(b: np.ndarray) -> int:
        d_np = int(sudoku_distance(b[None])[0])
        assert d_np == int(sudoku_distance(torch.from_numpy(b[None]))[0])
        return d_np

    assert dist(g) == 0
    same_box = g.copy()
    same_box[0, [0, 1]] = g[0, [1, 0]]  # row stays a permutation; 2 columns: 2 + 2
    assert dist(same_box) == 4
    two_boxes = g.copy()
    two_boxes[0, [0, 3]] = g[0, [3, 0]]  # + 2 boxes: 2 + 2
    assert dist(two_boxes) == 8
    one_wrong = g.copy()
    one_wrong[4, 4] = g[4, 4] % 9 + 1  # its row, column and box: a duplicate and a gap each
    assert dist(one_wrong) == 6
    hole = g.copy()
    hole[4, 4] = 0  # one digit missing from a row, a column and a box
    assert dist(hole) == 3
    # a Latin square (rows and columns permutations) that breaks every box: each box holds
    # offsets 0..4 with counts 1,2,3,2,1 and lacks 4 digits: 0+1+2+1+0+4 = 8, times 9 boxes
    latin = ((np.arange(9)[:, None] + np.arange(9)) % 9 + 1).astype(np.int8)
    assert dist(latin) == 72
    boards = np.stack([g, same_box, two_boxes, one_wrong, hole, latin])
    assert is_valid_sudoku(boards).tolist() == [True] + [False] * 5
    givens = np.zeros_like(boards, bool)
    givens[:, 8, 8] = True  # a cell no change above touches; the Latin square has 8 there
    ref = np.repeat(g[None], 6, 0)
    assert agrees_with_givens(boards, ref, givens).tolist() == [True] * 5 + [g[8, 8] == 8]
    assert is_solved(boards, ref, givens).tolist() == [True] + [False] * 5
    t = [torch.from_numpy(a) for a in (boards, ref, givens)]
    assert is_solved(*t).tolist() == [True] + [False] * 5


def test_puzzles_have_givens_in_range_and_agree(grids):
    rng = np.random.default_rng(5)
    for name, (lo, hi) in DIFFICULTY_GIVENS.items():
        mask = make_puzzles(grids, name, rng)
        counts = mask.sum((1, 2))
        assert mask.shape == grids.shape and mask.dtype == bool
        assert counts.min() >= lo and counts.max() <= hi
    counts = make_puzzles(np.repeat(grids, 10, 0), (3, 5), rng).sum((1, 2))
    assert set(counts.tolist()) == {3, 4, 5}  # both ends reached
    mask = make_puzzles(grids, (30, 30), rng)
    puzzles = np.where(mask, grids, 0)
    assert agrees_with_givens(grids, puzzles, puzzles > 0).all()


def test_unique_puzzles_have_one_solution_the_source_grid(grids):
    rng = np.random.default_rng(6)
    masks = make_unique_puzzles(grids[:6], 25, rng)
    masks_22 = make_unique_puzzles(grids[6:8], 22, rng)
    for g, m in zip(grids[:8], np.concatenate([masks, masks_22])):
        puzzle = np.where(m, g, 0)
        assert count_solutions(puzzle, 2) == 1 and np.array_equal(solve(puzzle), g)
    assert masks.sum((1, 2)).tolist() == [25] * 6 and masks_22.sum((1, 2)).tolist() == [22] * 2
    ranged = make_unique_puzzles(grids[8:12], (26, 28), rng).sum((1, 2))
    assert ranged.min() >= 26 and ranged.max() <= 28


def test_solver_on_published_hard_puzzles():
    found = search(INKALA, 2)
    assert len(found.solutions) == 1 and found.nodes > 0  # needs guessing
    assert np.array_equal(found.solutions[0], INKALA_SOLUTION)
    assert is_solved(INKALA_SOLUTION[None], INKALA[None], INKALA[None] > 0).all()
    solution = solve(SEVENTEEN)
    assert (SEVENTEEN > 0).sum() == 17 and count_solutions(SEVENTEEN) == 1
    assert is_solved(solution[None], SEVENTEEN[None], SEVENTEEN[None] > 0).all()
    assert count_solutions(np.zeros((9, 9), int), limit=5) == 5  # stops at the limit
    clash = np.zeros((9, 9), int)
    clash[0, :2] = 5
    assert solve(clash) is None and count_solutions(clash) == 0
    assert solve(INKALA_SOLUTION) is not None  # a full valid grid solves itself


def test_singles_and_difficulty_statistics(grids):
    one_hole = grids[0].copy()
    one_hole[0, 0] = 0
    assert np.array_equal(propagate_singles(one_hole, hidden=False), grids[0])
    partial = propagate_singles(INKALA)  # the hardest puzzle does not fall to singles
    assert (partial > 0).sum() < 81 and np.all(partial[INKALA > 0] == INKALA[INKALA > 0])
    stats = difficulty_stats(np.stack([one_hole, INKALA, SEVENTEEN]))
    assert stats.n == 3 and stats.givens_histogram[[80, 21, 17]].tolist() == [1, 1, 1]
    assert stats.givens_histogram.sum() == 3 and stats.mean_nodes > 0
    assert stats.naked_singles_share >= 1 / 3 and stats.singles_share >= stats.naked_singles_share
    assert stats.singles_share < 1


def test_train_and_test_are_disjoint(grids):
    keys = shipped_test_keys()
    assert len(keys) == sum(spec.n for spec in TEST_SETS.values())  # no repeats across sets
    train = train_solutions(200, np.random.default_rng(7))
    assert len(train) == 200 and not set(grid_keys(train)) & keys
    test = load_test_set("test_hard").solutions[:3]
    mixed = np.concatenate([grids[:5], test])
    kept, keep = drop_test_grids(mixed)
    assert keep.tolist() == [True] * 5 + [False] * 3 and np.array_equal(kept, grids[:5])


@pytest.mark.parametrize("name", sorted(TEST_SETS))
def test_shipped_sets_load_are_valid_and_reproducible(name):
    spec = TEST_SETS[name]
    sset = load_test_set(name)
    assert len(sset) == spec.n and sset.name == name
    assert sset.solutions.dtype == np.int8 and sset.givens.dtype == bool
    assert is_valid_sudoku(sset.solutions).all()
    counts = sset.n_givens
    assert counts.min() >= spec.givens[0] and counts.max() <= spec.givens[1]
    if spec.unique:
        assert counts.max() - counts.min() >= 6  # a real spread of givens
        for s, p in zip(sset.solutions[:15], sset.puzzles[:15]):
            assert count_solutions(p, 2) == 1 and np.array_equal(solve(p), s)
        # quick to rebuild: two with high targets, one that needed the walk (22 givens)
        cheap = np.concatenate([np.flatnonzero(counts >= 27)[:2], np.flatnonzero(counts == 22)[:1]])
    else:
        cheap = np.arange(40)
    again = make_test_set(name, sset.seed, cheap)
    assert np.array_equal(again.solutions, sset.solutions[cheap])
    assert np.array_equal(again.givens, sset.givens[cheap])
    shipped = resources.files("ponder.assets").joinpath("sudoku").joinpath(f"{name}.npz")
    assert sudoku_set_bytes(sset) == shipped.read_bytes()  # the writer is byte-deterministic


def test_dependency_and_structure_ids():
    dep = sudoku_dependency()
    assert dep.shape == (81, 81) and dep.dtype == torch.bool
    assert not dep.diagonal().any() and torch.equal(dep, dep.T)
    assert dep.sum(1).tolist() == [20] * 81
    assert dep[0, 80].item() is False and dep[0, 20].item() is True  # (0,0)-(2,2) share a box
    assert sudoku_dependency(torch.float32).sum().item() == 81 * 20
    assert BOX_IDS[:9] == (0, 0, 0, 1, 1, 1, 2, 2, 2) and BOX_IDS[80] == 8
    assert ROW_IDS[10] == 1 and COL_IDS[10] == 1 and len(ROW_IDS) == len(COL_IDS) == 81


def test_bad_inputs_name_the_value():
    rng = np.random.default_rng(0)
    good = random_solutions(2, rng)
    with pytest.raises(ValueError, match=r"shape \[B, 9, 9\] or \[9, 9\], got \[8, 9\]"):
        solve(np.zeros((8, 9), int))
    with pytest.raises(ValueError, match=r"one grid \[9, 9\], got \[2, 9, 9\]"):
        count_solutions(good)
    with pytest.raises(ValueError, match="digits must be 0-9, got 12"):
        solve(np.full((9, 9), 12))
    with pytest.raises(ValueError, match=r"digits must be 1-9, got 0 \(accepted: 1-9\)"):
        make_puzzles(np.where(np.eye(9, dtype=bool), 0, good), (1, 2), rng)
    with pytest.raises(ValueError, match=r"0 <= lo <= hi <= 81, got \(0, 90\)"):
        make_puzzles(good, (0, 90), rng)
    with pytest.raises(ValueError, match=r"got \(30, 20\)"):
        make_puzzles(good, (30, 20), rng)
    with pytest.raises(ValueError, match="unknown difficulty 'expert'"):
        make_puzzles(good, "expert", rng)
    with pytest.raises(ValueError, match=r"n_givens must be in 17\.\.81.*got 10"):
        unique_givens(good[0], 10, rng)
    with pytest.raises(ValueError, match=r"at least 17 givens, got range \(5, 30\)"):
        make_unique_puzzles(good, (5, 30), rng)
    with pytest.raises(ValueError, match=r"shape \[B, 9, 9\], got \[81\]"):
        sudoku_distance(np.ones(81, int))
    with pytest.raises(ValueError, match=r"digits must be 0-9 .*got 10"):
        is_valid_sudoku(torch.full((1, 9, 9), 10))
    with pytest.raises(ValueError, match="unknown Sudoku test set 'expert'"):
        load_test_set("expert")
    with pytest.raises(ValueError, match=r"givens must be bool of shape \[2, 9, 9\]"):
        SudokuSet(good, np.ones((2, 9, 9), int))
