"""The Sudoku engine: random solved grids, puzzles, validity checks, shipped test sets.

Conventions: a grid is int8 ``[B, 9, 9]`` of digits 1-9; in a puzzle 0 = empty; a given-mask
is bool ``[B, 9, 9]``, True where the digit is shown (``known``). Cells are numbered
``9 * row + col``; boxes ``3 * (row // 3) + col // 3``.

**Random grids** (``random_solutions``): base grids are solved from scratch by the randomised
exact solver (random diagonal boxes, random digit order at each branch, see
``sudoku_solver.random_grid``; about 1000 per second), and every output grid is an independent
random symmetry of a base grid (digit relabelling, rows within bands, bands, columns within
stacks, stacks, transposition: 9! * 6^8 * 2 ~ 1.2e12 images per base). ``grids_per_base`` sets
how many outputs share one base (1 = every grid from its own fresh solve). The distribution is
not exactly uniform over the 6.67e21 grids; different seeds give independent base grids.

**Train and test are disjoint exactly**: the test sets are fixed by ``TEST_SEED`` and shipped
in ``ponder/assets/sudoku``; ``drop_test_grids`` removes any train grid whose 81 digits equal a
test solution. The key is exact, not canonical: a symmetric image of a test grid is not
dropped. Train and test base grids come from different seed streams; two independent random
grids fall in one symmetry class with probability about 1 / 5.5e9 (the number of essentially
different grids), so ``k`` train base grids meet one of the 3500 test classes about
``k * 3500 / 5.5e9`` times (about 0.6 for a million bases).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import torch
from torch import Tensor

from ponder.tasks.sudoku_solver import (
    check_grids,
    propagate_singles,
    random_grid,
    search,
    unique_givens,
)

DIFFICULTY_GIVENS: dict[str, tuple[int, int]] = {
    "easy": (54, 80),
    "medium": (27, 53),
    "hard": (0, 26),
    "train": (0, 80),
}
ROW_IDS: tuple[int, ...] = tuple(i // 9 for i in range(81))
COL_IDS: tuple[int, ...] = tuple(i % 9 for i in range(81))
BOX_IDS: tuple[int, ...] = tuple(3 * (i // 27) + (i % 9) // 3 for i in range(81))
STRUCTURE: dict[str, tuple[int, ...]] = {"row": ROW_IDS, "col": COL_IDS, "box": BOX_IDS}


def sudoku_dependency(dtype: torch.dtype = torch.bool) -> Tensor:
    """``[81, 81]``: True (1) where two cells share a row, column or box; False on the
    diagonal. Each row has 20 peers."""
    ids = torch.tensor([ROW_IDS, COL_IDS, BOX_IDS])  # [3, 81]
    same = (ids[:, :, None] == ids[:, None, :]).any(0)  # [81, 81]
    return (same & ~torch.eye(81, dtype=torch.bool)).to(dtype)


# ---------------------------------------------------------------- grids and puzzles


def random_transform(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One independent random symmetry per grid ``[B, 9, 9]`` -> ``[B, 9, 9]`` int8: rows
    within bands and bands, columns within stacks and stacks, transposition, digit relabelling.
    Valid grids stay valid; puzzles (0 = empty) stay puzzles."""
    grids = check_grids(grids, allow_empty=True)
    if grids.ndim != 3:
        raise ValueError(f"expected grids of shape [B, 9, 9], got {list(grids.shape)}")
    b = len(grids)

    def line_order() -> np.ndarray:  # [B, 9]: bands (stacks) permuted, lines inside each
        bands = rng.permuted(np.tile(np.arange(3), (b, 1)), axis=1)  # [B, 3]
        inner = rng.permuted(np.tile(np.arange(3), (b, 3, 1)), axis=2)  # [B, 3, 3]
        return (3 * bands[:, :, None] + inner).reshape(b, 9)

    out = np.take_along_axis(grids, line_order()[:, :, None], 1)
    out = np.take_along_axis(out, line_order()[:, None, :], 2)
    flip = rng.random(b) < 0.5
    out[flip] = out[flip].transpose(0, 2, 1)
    relabel = np.zeros((b, 10), np.int8)  # [B, 10]: 0 stays 0, digits permuted
    relabel[:, 1:] = rng.permuted(np.tile(np.arange(1, 10, dtype=np.int8), (b, 1)), axis=1)
    return np.take_along_axis(relabel, out.reshape(b, 81).astype(np.intp), 1).reshape(b, 9, 9)


def random_solutions(n: int, rng: np.random.Generator, grids_per_base: int = 8) -> np.ndarray:
    """``n`` random solved grids ``[n, 9, 9]`` int8: ``ceil(n / grids_per_base)`` base grids
    from the randomised solver, each output a random symmetry of one of them (module doc)."""
    if n < 0 or grids_per_base < 1:
        raise ValueError(f"need n >= 0 and grids_per_base >= 1, got {n} and {grids_per_base}")
    if n == 0:
        return np.zeros((0, 9, 9), np.int8)
    n_base = -(-n // grids_per_base)
    base = np.stack([random_grid(rng) for _ in range(n_base)])  # [n_base, 9, 9]
    return random_transform(base[rng.permutation(np.arange(n) % n_base)], rng)


def _givens_range(givens_range: tuple[int, int] | str) -> tuple[int, int]:
    if isinstance(givens_range, str):
        if givens_range not in DIFFICULTY_GIVENS:
            raise ValueError(
                f"unknown difficulty {givens_range!r}; accepted: {sorted(DIFFICULTY_GIVENS)}"
            )
        return DIFFICULTY_GIVENS[givens_range]
    lo, hi = (int(v) for v in givens_range)
    if not 0 <= lo <= hi <= 81:
        raise ValueError(f"givens range must satisfy 0 <= lo <= hi <= 81, got ({lo}, {hi})")
    return lo, hi


def make_puzzles(
    solutions: np.ndarray, givens_range: tuple[int, int] | str, rng: np.random.Generator
) -> np.ndarray:
    """Given-masks ``[B, 9, 9]`` bool for ``solutions [B, 9, 9]``: per grid, a number of
    givens drawn uniformly in ``[lo, hi]`` (or a ``DIFFICULTY_GIVENS`` name) at random cells.
    Puzzles made this way may have several solutions."""
    lo, hi = _givens_range(givens_range)
    solutions = check_grids(solutions)
    b = len(solutions.reshape(-1, 81))
    count = rng.integers(lo, hi + 1, size=b)  # [B]
    rank = rng.random((b, 81)).argsort(1).argsort(1)  # [B, 81] a random order of the cells
    return (rank < count[:, None]).reshape(b, 9, 9)


def make_unique_puzzles(
    solutions: np.ndarray,
    n_givens: int | tuple[int, int],
    rng: np.random.Generator,
    moves: int = 600,
) -> np.ndarray:
    """Given-masks ``[B, 9, 9]`` bool whose puzzles have exactly one solution, the grid itself.

    ``n_givens``: a number in 17..81, or a range from which each grid draws its target
    uniformly. A target the generator cannot reach within ``moves`` walk steps (see
    ``sudoku_solver.unique_givens``; in practice below about 21) gives the fewest givens
    reached; read the counts with ``mask.sum((1, 2))``."""
    solutions = check_grids(solutions).reshape(-1, 9, 9)
    if isinstance(n_givens, tuple):
        lo, hi = _givens_range(n_givens)
        if lo < 17:
            raise ValueError(f"unique puzzles need at least 17 givens, got range ({lo}, {hi})")
        targets = rng.integers(lo, hi + 1, size=len(solutions))
    else:
        targets = np.full(len(solutions), int(n_givens))
    masks = [unique_givens(s, int(t), rng, moves)[0] for s, t in zip(solutions, targets)]
    return np.stack(masks) if masks else np.zeros((0, 9, 9), bool)


# ---------------------------------------------------------------- vectorised checks


def _unit_counts(grids: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """``[B, 9, 9]`` digits -> ``[B, 27, 9]``: how often each digit 1-9 occurs in each row,
    column and box (0 = empty counts nowhere)."""
    is_torch = isinstance(grids, Tensor)
    shape = tuple(grids.shape)
    if len(shape) != 3 or shape[1:] != (9, 9):
        raise ValueError(f"expected Sudoku grids of shape [B, 9, 9], got {list(shape)}")
    bad = (grids < 0) | (grids > 9)
    if bad.any():
        raise ValueError(f"Sudoku digits must be 0-9 (0 = empty), got {int(grids[bad][0])}")
    b = shape[0]
    if is_torch:
        onehot = (grids[..., None] == torch.arange(1, 10, device=grids.device)).long()
        boxes = onehot.reshape(b, 3, 3, 3, 3, 9).sum((2, 4)).reshape(b, 9, 9)
        return torch.cat([onehot.sum(2), onehot.sum(1), boxes], 1)
    onehot = (np.asarray(grids)[..., None] == np.arange(1, 10)).astype(np.int64)  # [B,9,9,9]
    boxes = onehot.reshape(b, 3, 3, 3, 3, 9).sum((2, 4)).reshape(b, 9, 9)
    return np.concatenate([onehot.sum(2), onehot.sum(1), boxes], 1)


def sudoku_distance(grids: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """SRM's distance ``[B]`` (int64, same library as the input): sum over the 27 units of sum
    over digits 1-9 of ``|count_d - 1|``; 0 exactly for a valid solved grid."""
    off = _unit_counts(grids) - 1  # [B, 27, 9]
    return off.abs().sum((1, 2)) if isinstance(off, Tensor) else np.abs(off).sum((1, 2))


def is_valid_sudoku(grids: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """``[B, 9, 9]`` -> bool ``[B]``: every row, column and box is a permutation of 1-9."""
    return sudoku_distance(grids) == 0


def agrees_with_givens(grids, reference, givens) -> np.ndarray | Tensor:
    """bool ``[B]``: ``grids`` equal ``reference`` on every given cell (``givens`` True); all
    three ``[B, 9, 9]``, numpy or torch alike. For a puzzle, pass it and ``puzzle > 0``."""
    if tuple(grids.shape) != tuple(reference.shape) or tuple(grids.shape) != tuple(givens.shape):
        raise ValueError(
            "grids, reference and givens must share one shape [B, 9, 9], got "
            f"{list(grids.shape)}, {list(reference.shape)}, {list(givens.shape)}"
        )
    if isinstance(givens, Tensor):
        ok = (grids == reference) | ~givens.bool()
    else:
        ok = (np.asarray(grids) == np.asarray(reference)) | ~np.asarray(givens, bool)
    return ok.flatten(1).all(1) if isinstance(ok, Tensor) else ok.reshape(len(ok), -1).all(1)


def is_solved(grids, reference, givens) -> np.ndarray | Tensor:
    """bool ``[B]``: a valid Sudoku that agrees with every given."""
    return is_valid_sudoku(grids) & agrees_with_givens(grids, reference, givens)


# ---------------------------------------------------------------- puzzle sets


@dataclass(frozen=True)
class SudokuSet:
    """Puzzles: ``solutions [B, 9, 9]`` int8 (digits 1-9), ``givens [B, 9, 9]`` bool."""

    solutions: np.ndarray
    givens: np.ndarray
    name: str = ""
    seed: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        sol = check_grids(self.solutions).reshape(-1, 9, 9)
        givens = np.asarray(self.givens)
        if givens.shape != sol.shape or givens.dtype != bool:
            raise ValueError(
                f"givens must be bool of shape {list(sol.shape)}, got {givens.dtype} "
                f"{list(givens.shape)}"
            )
        object.__setattr__(self, "solutions", sol)

    def __len__(self) -> int:
        return len(self.solutions)

    @property
    def puzzles(self) -> np.ndarray:
        """``[B, 9, 9]`` int8 with 0 on the cells to fill."""
        return np.where(self.givens, self.solutions, 0).astype(np.int8)

    @property
    def n_givens(self) -> np.ndarray:
        """``[B]`` number of givens per puzzle."""
        return self.givens.reshape(len(self), 81).sum(1)

    def subset(self, index) -> SudokuSet:
        """The puzzles at ``index`` (a slice or index array)."""
        return SudokuSet(self.solutions[index], self.givens[index], self.name, self.seed)


@dataclass(frozen=True)
class TestSetSpec:
    """How a shipped test set is made: ``n`` puzzles, givens range, unique solutions or not;
    puzzle ``i`` uses ``np.random.default_rng([seed, stream, i])`` alone."""

    n: int
    givens: tuple[int, int]
    unique: bool
    stream: int


TEST_SEED = 2025
TEST_SETS: dict[str, TestSetSpec] = {
    "test_easy": TestSetSpec(1000, DIFFICULTY_GIVENS["easy"], False, 1),
    "test_medium": TestSetSpec(1000, DIFFICULTY_GIVENS["medium"], False, 2),
    "test_hard": TestSetSpec(1000, DIFFICULTY_GIVENS["hard"], False, 3),
    "test_unique_hard": TestSetSpec(500, (17, 30), True, 4),
}
UNIQUE_MOVES = 300  # walk steps per unique test puzzle (targets below ~21 stop there)


def _test_name(name: str) -> str:
    full = name if name.startswith("test_") else f"test_{name}"
    if full not in TEST_SETS:
        raise ValueError(f"unknown Sudoku test set {name!r}; accepted: {sorted(TEST_SETS)}")
    return full


def make_test_set(name: str, seed: int = TEST_SEED, indices=None) -> SudokuSet:
    """Regenerate the test set ``name`` (puzzles at ``indices``, default all) from ``seed``:
    each puzzle from its own generator, so any slice can be rebuilt alone. The unique set is
    slow (up to a second a puzzle: 10 minutes for 500 on two busy cores); the others take a
    second or two."""
    name = _test_name(name)
    spec = TEST_SETS[name]
    indices = range(spec.n) if indices is None else indices
    solutions, givens = [], []
    for i in indices:
        rng = np.random.default_rng([seed, spec.stream, int(i)])
        solution = random_transform(random_grid(rng)[None], rng)
        if spec.unique:
            target = int(rng.integers(spec.givens[0], spec.givens[1] + 1))
            mask = unique_givens(solution[0], target, rng, UNIQUE_MOVES)[0][None]
        else:
            mask = make_puzzles(solution, spec.givens, rng)
        solutions.append(solution[0])
        givens.append(mask[0])
    return SudokuSet(
        np.array(solutions, np.int8).reshape(-1, 9, 9),
        np.array(givens, bool).reshape(-1, 9, 9),
        name,
        seed,
    )


def sudoku_set_bytes(sset: SudokuSet) -> bytes:
    """A ``.npz`` (solutions int8, givens bool, seed) with fixed zip timestamps, so the same
    set always gives the same bytes."""
    buffer = io.BytesIO()
    arrays = {
        "solutions": sset.solutions,
        "givens": sset.givens,
        "seed": np.array(-1 if sset.seed is None else sset.seed, np.int64),
    }
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            array_bytes = io.BytesIO()
            np.lib.format.write_array(array_bytes, np.asarray(value))
            zf.writestr(info, array_bytes.getvalue())
    return buffer.getvalue()


def load_test_set(name: str) -> SudokuSet:
    """A shipped test set: ``test_easy``, ``test_medium``, ``test_hard`` (1000 puzzles each,
    givens as in ``DIFFICULTY_GIVENS``, not necessarily unique) or ``test_unique_hard`` (500
    unique-solution puzzles, 17-30 givens targeted); the ``test_`` prefix may be left out."""
    name = _test_name(name)
    with (
        resources.files("ponder.assets").joinpath("sudoku").joinpath(f"{name}.npz").open("rb") as f
    ):
        data = np.load(io.BytesIO(f.read()), allow_pickle=False)
        seed = int(data["seed"])
        return SudokuSet(data["solutions"], data["givens"], name, None if seed < 0 else seed)


# ---------------------------------------------------------------- train / test disjointness


def grid_keys(grids: np.ndarray) -> list[bytes]:
    """Exact keys of ``[B, 9, 9]`` grids: their 81 digits as int8 bytes."""
    grids = check_grids(grids, allow_empty=True).reshape(-1, 81)
    return [g.tobytes() for g in grids]


@lru_cache(maxsize=1)
def shipped_test_keys() -> frozenset[bytes]:
    """Exact keys of every solution in every shipped test set."""
    return frozenset(k for name in TEST_SETS for k in grid_keys(load_test_set(name).solutions))


def drop_test_grids(grids: np.ndarray, keys=None) -> tuple[np.ndarray, np.ndarray]:
    """Remove from ``grids [B, 9, 9]`` those whose exact key is in ``keys`` (default: the
    shipped test solutions); returns the kept grids ``[B', 9, 9]`` and the bool mask ``[B]``."""
    keys = shipped_test_keys() if keys is None else keys
    keep = np.array([k not in keys for k in grid_keys(grids)], bool)
    return check_grids(grids).reshape(-1, 9, 9)[keep], keep


def train_solutions(n: int, rng: np.random.Generator, grids_per_base: int = 8) -> np.ndarray:
    """``n`` random solved grids ``[n, 9, 9]`` none of which is a shipped test solution."""
    out = drop_test_grids(random_solutions(n, rng, grids_per_base))[0]
    while len(out) < n:
        more = drop_test_grids(random_solutions(n - len(out), rng, grids_per_base))[0]
        out = np.concatenate([out, more])
    return out


# ---------------------------------------------------------------- difficulty


@dataclass
class DifficultyStats:
    """How hard a puzzle set is: ``givens_histogram[k]`` puzzles with k givens (``[82]``),
    share solved by naked singles alone and by naked + hidden singles, and the solver's mean
    branch choices to the first solution (0 when singles suffice)."""

    n: int
    givens_histogram: np.ndarray
    naked_singles_share: float
    singles_share: float
    mean_nodes: float


def difficulty_stats(puzzles: SudokuSet | np.ndarray) -> DifficultyStats:
    """Statistics of a ``SudokuSet`` or of puzzles ``[B, 9, 9]`` (0 = empty). Pure Python:
    about a millisecond a puzzle, more for very hard ones."""
    if isinstance(puzzles, SudokuSet):
        puzzles = puzzles.puzzles
    puzzles = check_grids(puzzles, allow_empty=True).reshape(-1, 9, 9)
    naked = [bool(propagate_singles(p, hidden=False).all()) for p in puzzles]
    both = [bool(propagate_singles(p, hidden=True).all()) for p in puzzles]
    nodes = [search(p, 1).nodes for p in puzzles]
    n = len(puzzles)
    return DifficultyStats(
        n=n,
        givens_histogram=np.bincount((puzzles > 0).reshape(n, 81).sum(1), minlength=82),
        naked_singles_share=float(np.mean(naked)) if n else 0.0,
        singles_share=float(np.mean(both)) if n else 0.0,
        mean_nodes=float(np.mean(nodes)) if n else 0.0,
    )
