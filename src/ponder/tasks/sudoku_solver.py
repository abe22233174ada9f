"""An exact Sudoku solver (bitmask backtracking, most-constrained cell first) and
unique-solution puzzles made from it.

Grids are ``[9, 9]`` int arrays, 0 = empty. ``count_solutions(grid, limit=2)`` stops at
``limit``, which is all a uniqueness check needs.
"""

from __future__ import annotations

import numpy as np

from ponder.tasks.sudoku import BOX, COL, ROW, check_grids

_BITS = [1 << d for d in range(10)]


def _search(cells: list[int], rows, cols, boxes, empty: list[int], limit: int, out: list) -> int:
    if not empty:
        out.append(list(cells))
        return 1
    # most-constrained empty cell: fewest candidate digits
    best, best_free = -1, None
    for i in empty:
        free = ~(rows[ROW[i]] | cols[COL[i]] | boxes[BOX[i]]) & 0x3FE
        n = free.bit_count()
        if best_free is None or n < best_free.bit_count():
            best, best_free = i, free
            if n <= 1:
                break
    if best_free == 0:
        return 0
    rest = [i for i in empty if i != best]
    r, c, b = ROW[best], COL[best], BOX[best]
    found = 0
    for d in range(1, 10):
        bit = _BITS[d]
        if best_free & bit:
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            cells[best] = d
            found += _search(cells, rows, cols, boxes, rest, limit - found, out)
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit
            cells[best] = 0
            if found >= limit:
                break
    return found


def _solve(grid: np.ndarray, limit: int) -> list[list[int]]:
    cells = [int(v) for v in check_grids(np.asarray(grid)[None], allow_empty=True)[0].ravel()]
    rows, cols, boxes = [0] * 9, [0] * 9, [0] * 9
    for i, d in enumerate(cells):
        if d:
            bit = _BITS[d]
            if (rows[ROW[i]] | cols[COL[i]] | boxes[BOX[i]]) & bit:
                return []  # the givens already clash
            rows[ROW[i]] |= bit
            cols[COL[i]] |= bit
            boxes[BOX[i]] |= bit
    out: list[list[int]] = []
    _search(cells, rows, cols, boxes, [i for i, d in enumerate(cells) if d == 0], limit, out)
    return out


def solve(grid: np.ndarray) -> np.ndarray | None:
    """A solution of the puzzle ``[9, 9]`` (0 = empty), or None if it has none."""
    found = _solve(grid, 1)
    return np.array(found[0], dtype=np.int8).reshape(9, 9) if found else None


def count_solutions(grid: np.ndarray, limit: int = 2) -> int:
    return len(_solve(grid, limit))


def unique_puzzle(solution: np.ndarray, min_givens: int, rng: np.random.Generator) -> np.ndarray:
    """Remove cells of ``solution`` in random order while the puzzle stays uniquely solvable,
    down to ``min_givens`` givens or until no cell can go; returns the given mask ``[9, 9]``."""
    if not 17 <= min_givens <= 81:
        raise ValueError(
            f"min_givens must be in 17..81 (no 16-clue Sudoku exists), got {min_givens}"
        )
    puzzle = check_grids(np.asarray(solution)[None])[0].copy()
    givens = 81
    for cell in rng.permutation(81):
        if givens <= min_givens:
            break
        r, c = divmod(int(cell), 9)
        keep = puzzle[r, c]
        puzzle[r, c] = 0
        if count_solutions(puzzle, 2) == 1:
            givens -= 1
        else:
            puzzle[r, c] = keep
    return puzzle > 0
