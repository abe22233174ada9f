"""Print the trivial-baseline table of the IRED energy tasks as Markdown.

    .venv/bin/python benchmarks/trivial_baselines.py            # 10,000 test samples per split
    .venv/bin/python benchmarks/trivial_baselines.py --samples 2000 --tasks matrix_inverse

Every number is a mean over the fixed seeded test set (``ponder.tasks.matrix_tasks.test_set``)
with its standard error; constants are fitted on fresh training draws.
"""

from __future__ import annotations

import argparse
import time

import torch

from ponder.tasks.trivial_baselines import ENERGY_TASKS, to_markdown, trivial_baselines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="test samples per split")
    parser.add_argument("--train-draws", type=int, default=10_000, help="draws to fit constants")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--tasks", nargs="*", default=None, choices=list(ENERGY_TASKS))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    rows = trivial_baselines(args.samples, args.train_draws, args.train_seed, args.tasks)
    print(to_markdown(rows))
    print(
        f"\n{args.samples} test samples per split, {args.train_draws} training draws, "
        f"{time.perf_counter() - began:.1f} s"
    )


if __name__ == "__main__":
    main()
