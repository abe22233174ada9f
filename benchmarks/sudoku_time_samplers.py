"""Which training-time noise sampler lets a model generate Sudoku cells in its own order?

    python benchmarks/sudoku_time_samplers.py [--steps 600] [--width 64] [--num-samples 200]

Trains the symbolic Sudoku preset once per time sampler (shared, independent, mean_beta) at
the same reduced size and budget, then evaluates each model on the shipped hard set with the
parallel (fixed) and the uncertainty-ordered sequential (adaptive_seq) schedule, 81 steps each,
on a shipped test set (--test-set, default hard).
Prints a Markdown table; run folders go to --out (default runs/time_samplers).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

SAMPLERS = ("shared", "independent", "mean_beta")
SCHEDULES = (("fixed", {"steps": 81}), ("adaptive_seq", {"steps": 81, "overlap": 0.0}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-samples", type=int, default=200)
    p.add_argument("--test-set", default="hard", choices=["easy", "medium", "hard", "unique"])
    p.add_argument("--out", type=Path, default=Path("runs/time_samplers"))
    args = p.parse_args()

    import ponder
    from ponder.tasks.sudoku import SudokuConfig, SudokuTask

    rows = []
    for sampler in SAMPLERS:
        start = time.perf_counter()
        run = ponder.train(
            "sudoku",
            out=args.out / sampler,
            force=True,
            train__steps=args.steps,
            train__batch_size=args.batch_size,
            train__time_sampler=sampler,
            train__checkpoint_every=100_000,
            model__transformer__width=args.width,
            model__transformer__depth=args.depth,
            sample__precision="bf16",
        )
        minutes = (time.perf_counter() - start) / 60
        model = ponder.load(run, device="cpu")
        model.task = SudokuTask(SudokuConfig(test_set=args.test_set))
        for schedule, params in SCHEDULES:
            result = model.evaluate(args.num_samples, schedule, **params)
            rows.append((sampler, schedule, result.metrics, minutes))
            print(f"{sampler} {schedule}: {result.metrics['solved']:.3f}", flush=True)
    print(
        f"\n{args.steps} steps x batch {args.batch_size}, transformer width {args.width} depth "
        f"{args.depth}; {args.num_samples} puzzles of the shipped {args.test_set} set, 81 steps, "
        "bf16\n"
    )
    print("| time sampler | schedule | solved | cell accuracy | training min |")
    print("|---|---|---|---|---|")
    for sampler, schedule, m, minutes in rows:
        print(
            f"| {sampler} | {schedule} | {m['solved']:.1%} | "
            f"{m['cell_accuracy_vs_reference']:.1%} | {minutes:.1f} |"
        )


if __name__ == "__main__":
    main()
