"""Build the shipped Sudoku test sets (deterministic from the seed; same bytes on a rerun).

    python benchmarks/make_sudoku_test_sets.py                 # all four, seed TEST_SEED
    python benchmarks/make_sudoku_test_sets.py --only test_hard --workers 2

Writes ``src/ponder/assets/sudoku/<name>.npz`` (solutions [n, 9, 9] int8, givens [n, 9, 9]
bool, seed) for each set in ``ponder.tasks.sudoku_grids.TEST_SETS``: test_easy, test_medium,
test_hard (1000 puzzles each, 54-80 / 27-53 / 0-26 givens, solutions not necessarily unique)
and test_unique_hard (500 puzzles with exactly one solution, a target of 17-30 givens per
puzzle; targets below about 20-21 stop at the fewest givens the generator reaches). Puzzle i
of a set depends only on (seed, set, i), so ``--workers`` changes nothing in the output.
Prints the givens histogram and difficulty statistics of each set.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ponder.checkpoint import atomic_write
from ponder.tasks.sudoku_grids import (
    TEST_SEED,
    TEST_SETS,
    SudokuSet,
    difficulty_stats,
    make_test_set,
    sudoku_set_bytes,
)

OUT = Path(__file__).resolve().parents[1] / "src/ponder/assets/sudoku"


def _chunk(args: tuple[str, int, range]) -> SudokuSet:
    name, seed, indices = args
    return make_test_set(name, seed, indices)


def build(name: str, seed: int, workers: int) -> SudokuSet:
    n = TEST_SETS[name].n
    chunks = [(name, seed, range(i, min(i + 25, n))) for i in range(0, n, 25)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_chunk, chunks))
    else:
        parts = [_chunk(c) for c in chunks]
    solutions = np.concatenate([p.solutions for p in parts])
    givens = np.concatenate([p.givens for p in parts])
    return SudokuSet(solutions, givens, name, seed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=TEST_SEED)
    p.add_argument("--only", nargs="*", default=sorted(TEST_SETS), choices=sorted(TEST_SETS))
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    for name in args.only:
        start = time.perf_counter()
        sset = build(name, args.seed, args.workers)
        seconds = time.perf_counter() - start
        data = sudoku_set_bytes(sset)
        atomic_write(args.out / f"{name}.npz", data)
        stats = difficulty_stats(sset)
        hist = {k: int(v) for k, v in enumerate(stats.givens_histogram) if v}
        print(
            f"{name}: {len(sset)} puzzles in {seconds:.0f} s, {len(data) / 1024:.0f} KiB; "
            f"givens {hist}; solved by naked singles {stats.naked_singles_share:.3f}, "
            f"naked + hidden singles {stats.singles_share:.3f}; "
            f"mean solver branch choices {stats.mean_nodes:.2f}"
        )


if __name__ == "__main__":
    main()
