"""Symbolic Sudoku (REFERENCE 1.6 / 3.4): 81 variables, each a +-1 one-hot code of its digit.

The grids, puzzles, checks and shipped test sets come from the Sudoku engine
(``ponder.tasks.sudoku_grids``). Training grids: a pool of random base grids from the exact
solver, each draw passed through a random validity-preserving symmetry. Test puzzles: the
shipped sets (``test_set=easy|medium|hard``: 1000 puzzles each with 54-80 / 27-53 / 0-26 givens
as in SRM; ``unique``: 500 puzzles with exactly one solution and 20-30 givens), or drawn from a
pool of another seed (``random``, with ``test_givens``). Train and test base grids come from
independent seed streams; two random grids share one of the ~5.5e9 symmetry classes with
probability ~2e-10, so a few thousand train bases meet a test class with odds ~1e-3.

Puzzles with few givens need not have a unique solution, so the headline metric is "solved":
a valid Sudoku that agrees with every given; "exact" compares with the reference solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ponder.tasks import sudoku_grids as grids
from ponder.tasks.base import Batch
from ponder.tasks.sudoku_solver import random_grid
from ponder.variables.layout import VariableLayout

SHIPPED_SETS = ("easy", "medium", "hard", "unique")  # ponder/assets/sudoku/test_*.npz


def sudoku_dependency() -> Tensor:
    """``[81, 81]`` float: 1 where two cells share a row, column or box (0 on the diagonal)."""
    return grids.sudoku_dependency(torch.float32)


@dataclass
class SudokuConfig:
    name: str = "sudoku"
    train_givens: tuple[int, int] = (0, 80)
    test_givens: tuple[int, int] = (0, 26)  # hard, as in SRM
    # random: drawn from test_seed with test_givens | easy, medium, hard: the shipped 1000-puzzle
    # sets | unique: the shipped 500 unique-solution puzzles (20-30 givens)
    test_set: str = "random"
    pool_size: int = 5000  # random base grids per split (about 4 s to build)
    train_seed: int = 0
    test_seed: int = 1


class SudokuTask:
    Config = SudokuConfig
    name = "sudoku"
    one_hot_codes = True  # variables are +-1 one-hot digits (sample.commit_temperature)

    def __init__(self, config: SudokuConfig) -> None:
        for key in ("train_givens", "test_givens"):
            lo, hi = getattr(config, key)
            if not 0 <= lo <= hi <= 81:
                raise ValueError(f"{key} must satisfy 0 <= lo <= hi <= 81, got ({lo}, {hi})")
        if config.test_set not in ("random", *SHIPPED_SETS):
            raise ValueError(
                f"unknown Sudoku test_set {config.test_set!r}; accepted: "
                f"{['random', *SHIPPED_SETS]}"
            )
        if config.train_seed == config.test_seed:
            raise ValueError("train_seed and test_seed must differ (disjoint grid pools)")
        self.config = config
        self.layout = VariableLayout(
            81,
            9,
            grid=(9, 9),
            structure=dict(grids.STRUCTURE),
        )
        self._pools: dict[int, np.ndarray] = {}

    def pool(self, seed: int) -> np.ndarray:
        if seed not in self._pools:
            rng = np.random.default_rng(seed)
            self._pools[seed] = np.stack([random_grid(rng) for _ in range(self.config.pool_size)])
        return self._pools[seed]

    def solutions(self, n: int, seed: int, rng: np.random.Generator) -> np.ndarray:
        pool = self.pool(seed)
        return grids.random_transform(pool[rng.integers(0, len(pool), n)], rng)

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
        """``n`` test puzzles: the first ``n`` of a shipped set, or drawn from ``seed``."""
        name = self.config.test_set
        if name == "random":
            rng = np.random.default_rng(seed)
            sol = self.solutions(n, self.config.test_seed, rng)
            return self.to_batch(sol, self.givens_mask(n, self.config.test_givens, rng))
        shipped = grids.load_test_set("unique_hard" if name == "unique" else name)
        if n > len(shipped):
            raise ValueError(f"the {name} Sudoku test set has {len(shipped)} puzzles, asked {n}")
        return self.to_batch(shipped.solutions[:n], shipped.givens[:n].reshape(n, 81))

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
    def project(x: Tensor) -> Tensor:
        """The nearest digit code: ``[B, N, 9]`` -> +-1 one-hot of the argmax."""
        return torch.nn.functional.one_hot(x.argmax(-1), 9).to(x.dtype) * 2 - 1

    @staticmethod
    def digits(x: Tensor) -> Tensor:
        """Variables ``[B, 81, 9]`` -> grids ``[B, 9, 9]`` of digits 1-9 (argmax of the code)."""
        return (x.argmax(-1) + 1).view(-1, 9, 9)

    def evaluate(self, x: Tensor, batch: Batch) -> dict[str, float]:
        digits, truth = self.digits(x), self.digits(batch.x)
        givens = batch.known.view(-1, 9, 9)
        valid = grids.is_valid_sudoku(digits)
        consistent = grids.agrees_with_givens(digits, truth, givens)
        return {
            "solved": (valid & consistent).float().mean().item(),
            "exact": (digits == truth).flatten(1).all(1).float().mean().item(),
            "valid": valid.float().mean().item(),
            "consistent": consistent.float().mean().item(),
            "cell_accuracy_vs_reference": ((digits == truth) | givens).float().mean().item(),
            "distance": grids.sudoku_distance(digits).float().mean().item(),
        }

    def to_images(self, x: Tensor) -> Tensor:
        """Digits drawn as grey levels on a 9x9 grid, upscaled: ``[B, 1, 36, 36]``."""
        shade = self.digits(x).float() / 9
        return shade.repeat_interleave(4, 1).repeat_interleave(4, 2)[:, None]

    def dependency(self) -> Tensor:
        return sudoku_dependency()
