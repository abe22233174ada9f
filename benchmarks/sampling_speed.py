"""Sampling speed of a trained run under ponder's fast paths, on its own test conditions.

    python benchmarks/sampling_speed.py runs/sudoku [--num-samples 256] [key=value ...]

Times ``Pipeline.sample`` with and without dropping finished rows from the network's batch
and in fp32 and bf16 autocast, same conditions and seed; prints a Markdown table with samples/s
and whether the samples are identical to the plain fp32 ones. Overrides are as for ``ponder
evaluate`` (``steps=20``, ``task.test_set=medium``, ``sample.batch_size=128``).
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--num-samples", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_intermixed_args()
    torch.set_num_threads(args.threads)

    from ponder.cli import _pipeline, _split_overrides
    from ponder.hardware import describe_cpu

    schedule_params, sample_overrides = _split_overrides(args.overrides)
    args.device, args.checkpoint = "cpu", None
    pipe = _pipeline(args, sample_overrides)
    print(f"machine: {describe_cpu()}; run {args.run_dir} step {pipe.step}")
    print("| drop finished rows | precision | samples/s | same samples as fp32, no drop |")
    print("|---|---|---|---|")
    reference = None
    for drop in (False, True):
        for precision in ("32", "bf16"):
            pipe.drop_finished = drop
            pipe.cfg.sample.precision = precision
            start = time.perf_counter()
            x = pipe.sample(args.num_samples, **schedule_params).x
            rate = args.num_samples / (time.perf_counter() - start)
            reference = x if reference is None else reference
            same = torch.equal(x, reference)
            print(f"| {'yes' if drop else 'no'} | {precision} | {rate:.1f} | {same} |")


if __name__ == "__main__":
    main()
