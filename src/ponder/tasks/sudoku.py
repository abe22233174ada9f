"""Symbolic Sudoku (REFERENCE 1.6 / 3.4): 81 variables, each a +-1 one-hot code of its digit.

Solved grids: a pool of random grids made by randomised backtracking, each draw then passed
through a random validity-preserving transformation (digit relabelling, row swaps inside a
band, band swaps, column swaps inside a stack, stack swaps, transposition). Train and test
draw from pools built from different seeds; with pools of thousands of random grids among the
~5.5e9 essentially different Sudokus, a test grid sharing a train grid's equivalence class is
vanishingly unlikely (checked exactly for the base grids in the tests).

Givens: a uniform number in the configured range, at random cells (SRM: easy 54-80,
medium 27-53, hard 0-26; training 0-80). Puzzles need not have a unique solution, so the
headline metric is "solved": a valid Sudoku that agrees with every given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ponder.tasks.base import Batch
from ponder.variables.layout import VariableLayout

DIFFICULTY_GIVENS = {"easy": (54, 80), "medium": (27, 53), "hard": (0, 26), "train": (0, 80)}

CELL = np.arange(81)
ROW, COL = CELL // 9, CELL % 9
BOX = (ROW // 3) * 3 + COL // 3


def sudoku_dependency() -> Tensor:
    """``[81, 81]``: 1 where two cells share a row, column or box (0 on the diagonal)."""
    same = (ROW[:, None] == ROW) | (COL[:, None] == COL) | (BOX[:, None] == BOX)
    return torch.from_numpy(same & ~np.eye(81, dtype=bool)).float()


def check_grids(grids: np.ndarray, allow_empty: bool = False) -> np.ndarray:
    """Validate ``[B, 9, 9]`` digits 1-9 (0 = empty when ``allow_empty``); returns int8."""
    grids = np.asarray(grids)
    if grids.ndim != 3 or grids.shape[1:] != (9, 9):
        raise ValueError(f"expected Sudoku grids of shape [B, 9, 9], got {list(grids.shape)}")
    lo = 0 if allow_empty else 1
    if grids.size and (grids.min() < lo or grids.max() > 9):
        bad = grids[(grids < lo) | (grids > 9)][0]
        raise ValueError(f"Sudoku digits must be {lo}-9, got {bad}")
    return grids.astype(np.int8)


def _solve_random(rng: np.random.Generator) -> np.ndarray:
    """One random solved grid by backtracking with random digit order (bitmasks)."""
    grid = np.zeros(81, dtype=np.int8)
    rows, cols, boxes = [0] * 9, [0] * 9, [0] * 9
    order = [rng.permutation(9) + 1 for _ in range(81)]

    def place(cell: int) -> bool:
        if cell == 81:
            return True
        r, c, b = ROW[cell], COL[cell], BOX[cell]
        used = rows[r] | cols[c] | boxes[b]
        for d in order[cell]:
            bit = 1 << int(d)
            if not used & bit:
                rows[r] |= bit
                cols[c] |= bit
                boxes[b] |= bit
                grid[cell] = d
                if place(cell + 1):
                    return True
                rows[r] ^= bit
                cols[c] ^= bit
                boxes[b] ^= bit
        return False

    place(0)
    return grid.reshape(9, 9)


def random_transform(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply one random validity-preserving transformation per grid ``[B, 9, 9]``."""
    b = grids.shape[0]

    def band_perm() -> np.ndarray:  # [B, 9]: permute bands, then lines inside each band
        bands = np.argsort(rng.random((b, 3)), 1)
        inner = np.argsort(rng.random((b, 3, 3)), 2)
        return (bands[:, :, None] * 3 + np.take_along_axis(inner, bands[:, :, None], 1)).reshape(
            b, 9
        )

    rows, cols = band_perm(), band_perm()
    out = np.take_along_axis(grids, rows[:, :, None], 1)
    out = np.take_along_axis(out, cols[:, None, :], 2)
    flip = rng.random(b) < 0.5
    out[flip] = out[flip].transpose(0, 2, 1)
    relabel = np.concatenate(
        [np.zeros((b, 1), np.int8), (np.argsort(rng.random((b, 9)), 1) + 1).astype(np.int8)], 1
    )
    return np.take_along_axis(relabel, out.reshape(b, 81), 1).reshape(b, 9, 9)


def grid_validity(grids: Tensor) -> Tensor:
    """``[B, 9, 9]`` digits -> bool ``[B]``: every row, column and box holds 1-9 once."""
    return grid_distance(grids) == 0


def grid_distance(grids: Tensor) -> Tensor:
    """SRM's distance: sum over the 27 units of sum over digits |count - 1|: ``[B]``."""
    g = torch.as_tensor(grids).long().reshape(-1, 81)
    onehot = torch.nn.functional.one_hot(g.clamp(0, 9), 10)[..., 1:]  # [B, 81, 9]
    units = torch.stack([torch.as_tensor(u) for u in (ROW, COL, BOX)])  # [3, 81]
    counts = torch.zeros(g.shape[0], 3, 9, 9, dtype=torch.long)
    counts.scatter_add_(
        2,
        units[None, :, :, None].expand(g.shape[0], 3, 81, 9),
        onehot[:, None].expand(-1, 3, -1, -1),
    )
    return (counts - 1).abs().sum((1, 2, 3))


@dataclass
class SudokuConfig:
    name: str = "sudoku"
    train_givens: tuple[int, int] = (0, 80)
    test_givens: tuple[int, int] = (0, 26)  # hard, as in SRM
    test_set: str = "random"  # random (test_givens) | unique (shipped unique-solution puzzles)
    pool_size: int = 5000  # random base grids per split (about 4 s to build)
    train_seed: int = 0
    test_seed: int = 1


class SudokuTask:
    Config = SudokuConfig
    name = "sudoku"

    def __init__(self, config: SudokuConfig) -> None:
        for key in ("train_givens", "test_givens"):
            lo, hi = getattr(config, key)
            if not 0 <= lo <= hi <= 81:
                raise ValueError(f"{key} must satisfy 0 <= lo <= hi <= 81, got ({lo}, {hi})")
        if config.test_set not in ("random", "unique"):
            raise ValueError(f"test_set must be 'random' or 'unique', got {config.test_set!r}")
        if config.train_seed == config.test_seed:
            raise ValueError("train_seed and test_seed must differ (disjoint grid pools)")
        self.config = config
        self.layout = VariableLayout(
            81,
            9,
            grid=(9, 9),
            structure={
                "row": tuple(ROW.tolist()),
                "col": tuple(COL.tolist()),
                "box": tuple(BOX.tolist()),
            },
        )
        self._pools: dict[int, np.ndarray] = {}

    def pool(self, seed: int) -> np.ndarray:
        if seed not in self._pools:
            rng = np.random.default_rng(seed)
            self._pools[seed] = np.stack([_solve_random(rng) for _ in range(self.config.pool_size)])
        return self._pools[seed]

    def solutions(self, n: int, seed: int, rng: np.random.Generator) -> np.ndarray:
        pool = self.pool(seed)
        return random_transform(pool[rng.integers(0, len(pool), n)], rng)

    @staticmethod
    def givens_mask(n: int, givens: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        count = rng.integers(givens[0], givens[1] + 1, size=n)
        rank = np.argsort(rng.random((n, 81)), 1).argsort(1)
        return rank < count[:, None]  # [n, 81]

    def to_batch(self, solutions: np.ndarray, known: np.ndarray) -> Batch:
        digits = torch.from_numpy(solutions.reshape(-1, 81).astype(np.int64)) - 1
        x = torch.nn.functional.one_hot(digits, 9).float() * 2 - 1  # [B, 81, 9] in +-1
        return Batch(x, torch.from_numpy(known))

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        sol = self.solutions(batch_size, self.config.train_seed, rng)
        return self.to_batch(sol, self.givens_mask(batch_size, self.config.train_givens, rng))

    def test_batch(self, n: int, seed: int) -> Batch:
        if self.config.test_set == "unique":
            return self.unique_test_batch(n)
        rng = np.random.default_rng(seed)
        sol = self.solutions(n, self.config.test_seed, rng)
        return self.to_batch(sol, self.givens_mask(n, self.config.test_givens, rng))

    def unique_test_batch(self, n: int) -> Batch:
        """The first ``n`` of the shipped unique-solution puzzles (22-28 givens, made by
        ``benchmarks/make_sudoku_unique_set.py`` from the test grid pool)."""
        from importlib import resources

        with resources.files("ponder.assets").joinpath("sudoku_unique_test.npz").open("rb") as f:
            data = np.load(f)
            solutions, givens = data["solutions"], data["givens"]
        if n > len(solutions):
            raise ValueError(
                f"the unique-solution test set has {len(solutions)} puzzles, asked {n}"
            )
        return self.to_batch(solutions[:n], givens[:n].reshape(n, 81))

    @staticmethod
    def negatives(
        x: Tensor, known: Tensor, generator: torch.Generator, fraction: float = 0.05
    ) -> Tensor:
        """IRED's Sudoku negatives: ``fraction`` of the unknown cells get a random digit."""
        pick = (torch.rand(known.shape, generator=generator) < fraction) & ~known  # [B, 81]
        digits = torch.randint(0, 9, known.shape, generator=generator)
        wrong = torch.nn.functional.one_hot(digits, 9).float() * 2 - 1
        return torch.where(pick[..., None], wrong, x)

    @staticmethod
    def digits(x: Tensor) -> Tensor:
        """Variables ``[B, 81, 9]`` -> grids ``[B, 9, 9]`` of digits 1-9 (argmax of the code)."""
        return (x.argmax(-1) + 1).view(-1, 9, 9)

    def evaluate(self, x: Tensor, batch: Batch) -> dict[str, float]:
        grids, truth = self.digits(x), self.digits(batch.x)
        valid = grid_validity(grids)
        consistent = ((grids == truth) | ~batch.known.view(-1, 9, 9)).flatten(1).all(1)
        unknown = ~batch.known.view(-1, 9, 9)
        return {
            "solved": (valid & consistent).float().mean().item(),
            "exact": (grids == truth).flatten(1).all(1).float().mean().item(),
            "valid": valid.float().mean().item(),
            "consistent": consistent.float().mean().item(),
            "cell_accuracy_vs_reference": ((grids == truth) | ~unknown).float().mean().item(),
            "distance": grid_distance(grids).float().mean().item(),
        }

    def to_images(self, x: Tensor) -> Tensor:
        """Digits drawn as grey levels on a 9x9 grid, upscaled: ``[B, 1, 36, 36]``."""
        grids = self.digits(x).float() / 9
        return grids.repeat_interleave(4, 1).repeat_interleave(4, 2)[:, None]

    def dependency(self) -> Tensor:
        return sudoku_dependency()
