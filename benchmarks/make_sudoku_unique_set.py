"""Build the shipped unique-solution Sudoku test set (deterministic from its seed).

    python benchmarks/make_sudoku_unique_set.py [--n 500] [--seed 7]

Solutions come from the *test* grid pool of the sudoku task (disjoint from training); cells are
removed in random order while the puzzle keeps exactly one solution (checked by the exact
solver), down to 17 givens or until no cell can go; greedy removal stops at about 22-28.
Writes src/ponder/assets/sudoku_unique_test.npz: solutions [n, 9, 9] int8, givens [n, 9, 9]
bool.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from ponder.checkpoint import atomic_write
from ponder.tasks.sudoku import SudokuConfig, SudokuTask
from ponder.tasks.sudoku_solver import unique_puzzle

OUT = Path(__file__).resolve().parents[1] / "src/ponder/assets/sudoku_unique_test.npz"


def build(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    task = SudokuTask(SudokuConfig())
    rng = np.random.default_rng(seed)
    solutions = task.solutions(n, task.config.test_seed, rng)
    givens = np.stack([unique_puzzle(s, 17, rng) for s in solutions])
    return solutions.astype(np.int8), givens


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    solutions, givens = build(args.n, args.seed)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, solutions=solutions, givens=givens, seed=args.seed)
    atomic_write(OUT, buffer.getvalue())
    counts = givens.reshape(len(givens), -1).sum(1)
    print(f"{len(counts)} puzzles, givens {counts.min()}-{counts.max()} (mean {counts.mean():.1f})"
          f" -> {OUT}")


if __name__ == "__main__":
    main()
