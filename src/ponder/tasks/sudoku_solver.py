"""An exact Sudoku solver in pure Python, singles propagation, and unique-solution puzzles.

Conventions: a grid is a ``[9, 9]`` integer array of digits 1-9, 0 = empty; cells are numbered
``9 * row + col``; a digit ``d`` is the bit ``1 << (d - 1)`` of a 9-bit candidate mask.

The solver is depth-first search over bitmasks (used digits per row, column and box). At every
node it takes forced moves first: a cell with one candidate (naked single) and, when no such
cell is left, a digit with one place in a row, column or box (hidden single); only then does it
branch, on the empty cell with the fewest candidates. ``nodes`` counts the branch choices tried
(0 for a puzzle solved by singles alone). It stops after ``limit`` solutions, so a uniqueness
check costs one search to the second solution, and ``other_solution`` (used to make unique
puzzles) costs one search for a solution that differs from a known one in one given cell.

Measured on one busy CPU core (process time): about 1000 random full grids per second; the
hardest published puzzles (Inkala's 21 givens) in a few milliseconds; unique puzzles
(``unique_givens``) about 55-80 per second at 25 givens, 4-7 per second at 22, 1.5 at 21,
20 rarely and 17-19 not in practice (greedy removal alone stops at about 22-28 givens).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALL = 0x1FF  # candidate mask with all nine digits
_R = [i // 9 for i in range(81)]
_C = [i % 9 for i in range(81)]
_B = [(i // 27) * 3 + (i % 9) // 3 for i in range(81)]
_UNITS = (
    [[9 * r + c for c in range(9)] for r in range(9)]
    + [[9 * r + c for r in range(9)] for c in range(9)]
    + [[9 * (3 * (b // 3) + k // 3) + 3 * (b % 3) + k % 3 for k in range(9)] for b in range(9)]
)
_DIGIT = {1 << k: k + 1 for k in range(9)}  # single-bit mask -> digit
_BITS = [[1 << k for k in range(9) if m >> k & 1] for m in range(512)]  # mask -> its bits


def check_grids(grids: np.ndarray, allow_empty: bool = False) -> np.ndarray:
    """Validate ``[B, 9, 9]`` (or one ``[9, 9]``) digits 1-9, or 0-9 with ``allow_empty``
    (0 = empty); returns the same shape as int8. Raises ``ValueError`` naming the bad value."""
    grids = np.asarray(grids)
    if grids.ndim not in (2, 3) or grids.shape[-2:] != (9, 9):
        raise ValueError(
            f"expected a Sudoku grid: shape [B, 9, 9] or [9, 9], got {list(grids.shape)}"
        )
    if grids.dtype == bool or not np.issubdtype(grids.dtype, np.integer):
        if not (np.issubdtype(grids.dtype, np.floating) and np.all(grids == np.round(grids))):
            raise ValueError(f"Sudoku digits must be integers, got dtype {grids.dtype}")
    lo = 0 if allow_empty else 1
    bad = (grids < lo) | (grids > 9)
    if bad.any():
        what = "0-9 (0 = empty)" if allow_empty else "1-9"
        raise ValueError(f"Sudoku digits must be {lo}-9, got {grids[bad][0]} (accepted: {what})")
    return grids.astype(np.int8)


@dataclass
class SolveResult:
    """Solutions found (each ``[9, 9]`` int8, at most ``limit``) and the branch choices tried."""

    solutions: list[np.ndarray]
    nodes: int


class _Search:
    """One depth-first search; ``ban[i]`` is a mask of digits forbidden in cell ``i``."""

    def __init__(self, cells: list[int], ban: list[int], limit: int, order=None) -> None:
        self.cells, self.ban, self.limit, self.order = cells, ban, limit, order
        self.rows, self.cols, self.boxes = [0] * 9, [0] * 9, [0] * 9
        self.found: list[list[int]] = []
        self.nodes = 0

    def start(self) -> None:
        rows, cols, boxes = self.rows, self.cols, self.boxes
        for i, d in enumerate(self.cells):
            if d:
                bit = 1 << (d - 1)
                if (rows[_R[i]] | cols[_C[i]] | boxes[_B[i]]) & bit:
                    return  # the givens already clash
                rows[_R[i]] |= bit
                cols[_C[i]] |= bit
                boxes[_B[i]] |= bit
        self.dfs([i for i, d in enumerate(self.cells) if d == 0])

    def _set(self, i: int, bit: int) -> None:
        self.rows[_R[i]] ^= bit
        self.cols[_C[i]] ^= bit
        self.boxes[_B[i]] ^= bit
        self.cells[i] = _DIGIT[bit] if self.cells[i] == 0 else 0

    def dfs(self, empty: list[int]) -> None:
        rows, cols, boxes, ban, cells = self.rows, self.cols, self.boxes, self.ban, self.cells
        trail: list[tuple[int, int]] = []  # forced moves made here, undone on return
        free = [0] * 81
        while True:
            if not empty:
                self.found.append(list(cells))
                break
            best, best_n, forced = -1, 10, []
            for i in empty:  # candidates of every empty cell; naked singles
                f = ~(rows[_R[i]] | cols[_C[i]] | boxes[_B[i]] | ban[i]) & ALL
                if f & (f - 1) == 0:
                    if f == 0:
                        break
                    forced.append((i, f))
                elif not forced:
                    n = f.bit_count()
                    if n < best_n:
                        best, best_n = i, n
                free[i] = f
            else:
                if not forced:  # hidden singles: a digit with one place in a unit
                    forced = self._hidden_singles(free)
                    if forced is None:
                        break  # a unit has no place left for a digit it needs
                if forced:
                    for i, bit in forced:
                        if cells[i]:
                            if cells[i] != _DIGIT[bit]:
                                break  # one cell, two hidden singles: contradiction
                        elif (rows[_R[i]] | cols[_C[i]] | boxes[_B[i]]) & bit:
                            break  # two singles put one digit twice in a unit
                        else:
                            self._set(i, bit)
                            trail.append((i, bit))
                    else:
                        empty = [i for i in empty if cells[i] == 0]
                        continue
                    break
                bits = _BITS[free[best]]
                if self.order is not None:
                    bits = [bits[k] for k in self.order.permutation(len(bits))]
                rest = [i for i in empty if i != best]
                for bit in bits:  # branch on the most constrained cell
                    self.nodes += 1
                    self._set(best, bit)
                    self.dfs(rest)
                    self._set(best, bit)
                    if len(self.found) >= self.limit:
                        break
            break
        for i, bit in reversed(trail):
            self._set(i, bit)

    def _hidden_singles(self, free: list[int]) -> list[tuple[int, int]] | None:
        """``(cell, bit)`` of every hidden single, or None if some unit is dead."""
        cells, placed = self.cells, self.rows + self.cols + self.boxes
        out = []
        for u, unit in enumerate(_UNITS):
            once = twice = 0
            for i in unit:
                if cells[i] == 0:
                    twice |= once & free[i]
                    once |= free[i]
            if (once | placed[u]) != ALL:
                return None
            single = once & ~twice
            while single:
                bit = single & -single
                single ^= bit
                for i in unit:
                    if cells[i] == 0 and free[i] & bit:
                        out.append((i, bit))
                        break
        return out


def search(
    grid: np.ndarray, limit: int = 1, rng: np.random.Generator | None = None, ban=None
) -> SolveResult:
    """Search puzzle ``grid [9, 9]`` (0 = empty) for up to ``limit`` solutions.

    ``rng`` randomises the digit order at branch points (for random grids); ``ban`` is an
    optional ``[81]`` list of digit masks forbidden per cell."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    grid = check_grids(grid, allow_empty=True)
    if grid.size != 81:
        raise ValueError(f"the solver takes one grid [9, 9], got {list(grid.shape)}")
    cells = [int(v) for v in grid.reshape(81)]
    s = _Search(cells, list(ban) if ban is not None else [0] * 81, limit, rng)
    s.start()
    return SolveResult([np.array(f, np.int8).reshape(9, 9) for f in s.found], s.nodes)


def solve(grid: np.ndarray) -> np.ndarray | None:
    """A solution ``[9, 9]`` int8 of the puzzle ``grid [9, 9]`` (0 = empty), or None."""
    found = search(grid, 1).solutions
    return found[0] if found else None


def count_solutions(grid: np.ndarray, limit: int = 2) -> int:
    """Number of solutions of ``grid [9, 9]``, counted up to ``limit`` (2 suffices for
    uniqueness)."""
    return len(search(grid, limit).solutions)


def random_grid(rng: np.random.Generator) -> np.ndarray:
    """One random solved grid ``[9, 9]`` int8: the three diagonal boxes are independent random
    permutations, the rest is filled by the solver with a random digit order at each branch."""
    grid = np.zeros((9, 9), np.int8)
    for b in range(3):
        grid[3 * b : 3 * b + 3, 3 * b : 3 * b + 3] = (rng.permutation(9) + 1).reshape(3, 3)
    return search(grid, 1, rng).solutions[0]


def propagate_singles(grid: np.ndarray, hidden: bool = True) -> np.ndarray:
    """Fill ``grid [9, 9]`` (0 = empty) by naked singles (and hidden singles when ``hidden``)
    until none is left; returns the partly filled grid ``[9, 9]`` int8 (no guessing)."""
    cells = [int(v) for v in check_grids(grid, allow_empty=True).reshape(81)]
    placed = [0] * 27  # rows, columns, boxes
    for i, d in enumerate(cells):
        if d:
            for u in (_R[i], 9 + _C[i], 18 + _B[i]):
                placed[u] |= 1 << (d - 1)
    progress = True
    while progress:
        progress = False
        free = [0] * 81
        for i in range(81):
            if cells[i] == 0:
                free[i] = ~(placed[_R[i]] | placed[9 + _C[i]] | placed[18 + _B[i]]) & ALL
        moves = [(i, f) for i, f in enumerate(free) if cells[i] == 0 and f.bit_count() == 1]
        if hidden and not moves:
            for unit in _UNITS:
                once = twice = 0
                for i in unit:
                    twice |= once & free[i]
                    once |= free[i]
                single = once & ~twice
                for i in unit:
                    if cells[i] == 0 and free[i] & single:
                        moves.append((i, free[i] & single & -(free[i] & single)))
        for i, bit in moves:
            if cells[i] == 0 and not (
                (placed[_R[i]] | placed[9 + _C[i]] | placed[18 + _B[i]]) & bit
            ):
                cells[i] = _DIGIT[bit]
                for u in (_R[i], 9 + _C[i], 18 + _B[i]):
                    placed[u] |= bit
                progress = True
    return np.array(cells, np.int8).reshape(9, 9)


def other_solution(puzzle: list[int], cell: int, digit: int) -> list[int] | None:
    """A solution (81 digits) of the puzzle (81 digits, 0 = empty) that does NOT have ``digit``
    in ``cell``, or None."""
    ban = [0] * 81
    ban[cell] = 1 << (digit - 1)
    s = _Search(list(puzzle), ban, 1)
    s.start()
    return s.found[0] if s.found else None


class _Reducer:
    """Empties cells of a solved grid while its puzzle stays unique. ``witness[i]`` caches a
    second solution found when cell ``i`` could not go; it keeps proving that while it agrees
    with every given but ``i``, which saves most searches after a cell is put back."""

    def __init__(self, solution: list[int]) -> None:
        self.full, self.puzzle, self.givens = solution, list(solution), 81
        self.witness: dict[int, list[int]] = {}

    def reduce(self, order: list[int], target: int) -> None:
        puzzle = self.puzzle
        for i in order:
            if self.givens <= target:
                break
            if not puzzle[i] or i in self.witness:
                continue
            puzzle[i] = 0
            other = other_solution(puzzle, i, self.full[i])
            if other is None:
                self.givens -= 1
            else:
                puzzle[i] = self.full[i]
                self.witness[i] = other

    def put_back(self, i: int) -> None:
        self.puzzle[i] = d = self.full[i]
        self.givens += 1
        self.witness = {j: w for j, w in self.witness.items() if w[i] == d}


def unique_givens(
    solution: np.ndarray, n_givens: int, rng: np.random.Generator, moves: int = 600
) -> tuple[np.ndarray, int]:
    """A given-mask ``[9, 9]`` bool whose puzzle has exactly one solution (``solution``).

    Cells are emptied in random order while the puzzle stays unique. If that stops above
    ``n_givens`` (at a minimal puzzle), up to ``moves`` steps of a random walk follow: put back
    one emptied cell at random, then try to empty the givens again in random order (which can
    drop two); a step that ends with more givens than the best so far is undone. Returns the
    mask with the fewest givens reached (exactly ``n_givens`` when reached) and that number."""
    if not 17 <= n_givens <= 81:
        raise ValueError(f"n_givens must be in 17..81 (no 16-clue Sudoku exists), got {n_givens}")
    red = _Reducer([int(v) for v in check_grids(solution).reshape(81)])
    red.reduce([int(i) for i in rng.permutation(81)], n_givens)
    best = (list(red.puzzle), red.givens, dict(red.witness))
    for _ in range(moves):
        if best[1] <= n_givens:
            break
        holes = [i for i in range(81) if red.puzzle[i] == 0]
        red.put_back(holes[int(rng.integers(len(holes)))])
        red.reduce([int(i) for i in rng.permutation(81)], n_givens)
        if red.givens <= best[1]:  # ties move the walk on; the best is kept
            best = (list(red.puzzle), red.givens, dict(red.witness))
        else:
            red.puzzle, red.givens, red.witness = list(best[0]), best[1], dict(best[2])
    return np.array(best[0], np.int8).reshape(9, 9) > 0, best[1]


def unique_puzzle(solution: np.ndarray, min_givens: int, rng: np.random.Generator) -> np.ndarray:
    """Remove cells of ``solution [9, 9]`` in random order while the puzzle stays uniquely
    solvable, down to ``min_givens`` givens or until no cell can go (one greedy pass, no
    restarts); returns the given mask ``[9, 9]`` bool."""
    if not 17 <= min_givens <= 81:
        raise ValueError(
            f"min_givens must be in 17..81 (no 16-clue Sudoku exists), got {min_givens}"
        )
    return unique_givens(solution, min_givens, rng, moves=0)[0]
