"""Low-rank completion's Bayes posterior mean on the fixed test sets: the best MSE reachable.

    .venv/bin/python benchmarks/lowrank_bayes.py                      # 2,000 problems per split
    .venv/bin/python benchmarks/lowrank_bayes.py --num-samples 500 --sweeps 200 800

Prints a Markdown table: copy-observed (the trivial predictor), the posterior mean's leading
statistic c R_o R_o^T R_o / v (one constant fitted on training draws; v the observed entries'
mean square), the posterior mean under the
training prior (R = U V^T / 20 + noise: what a model trained on the training distribution could
know) and under each split's own prior (on "harder" U V^T / 5: an oracle that knows the shift),
each for every ``--sweeps`` count (Gibbs sweeps, a quarter of them burn-in), with the standard
error over problems; beside each, one draw from the same posterior: the score of an exact
*sampler* of the task's distribution, which is what a diffusion model sampled from noise aims
to be (its MSE is the posterior mean's plus the posterior variance).
``ponder.tasks.lowrank_posterior`` explains the Gibbs sampler.
"""

from __future__ import annotations

import argparse
import time

import torch

from ponder.tasks.lowrank_posterior import posterior_mean_and_sample
from ponder.tasks.matrix_tasks import LowRankCompletion, test_set


def scored(prediction: torch.Tensor, answer: torch.Tensor) -> str:
    per_problem = ((prediction - answer) ** 2).flatten(1).mean(1)  # [B]
    sem = per_problem.std() / per_problem.numel() ** 0.5
    return f"{per_problem.mean():.5f} +- {sem:.5f}"


def cubic(values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """R_o R_o^T R_o / v per problem ``[B, n, n]``, v the mean square of the observed entries:
    the leading statistic of the posterior mean (R's entries are uncorrelated, but a hidden entry
    co-varies with products around 4-cycles), divided by v so that it scales with R as the
    answer does (a matrix twice as large gets a guess twice as large)."""
    v = (values**2).sum((1, 2)) / observed.sum((1, 2)).clamp_min(1)  # [B]
    return values @ values.mT @ values / v[:, None, None]


def fit_cubic(task: LowRankCompletion, draws: int = 2000) -> float:
    """The c of c * R_o R_o^T R_o / v that minimises the hidden entries' MSE on fresh training
    draws (seed 0; never the test set)."""
    batch = task.make_batch(draws, "train", torch.Generator().manual_seed(0))
    observed = batch.extra["observed"]
    x, y = cubic(batch.answer * observed, observed)[~observed], batch.answer[~observed]
    return float((x * y).sum() / (x * x).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-samples", type=int, default=2000, help="test problems per split")
    parser.add_argument("--sweeps", type=int, nargs="+", default=[400], help="Gibbs sweeps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = LowRankCompletion()
    c = fit_cubic(task)
    print("| split | predictor | Gibbs sweeps | MSE | seconds |")
    print("|---|---|---|---|---|")
    for split in ("same", "harder"):
        batch = test_set(task, split, args.num_samples)
        observed = batch.extra["observed"]
        given = batch.answer * observed  # the observed values, zero elsewhere: copy-observed
        print(
            f"| {split} | copy observed, zero elsewhere | - | {scored(given, batch.answer)} | - |"
        )
        guess = torch.where(observed, batch.answer, c * cubic(given, observed))
        print(
            f"| {split} | c R_o R_o^T R_o / v, c = {c:.4g} fitted on training draws | - | "
            f"{scored(guess, batch.answer)} | - |"
        )
        train_d, split_d = task.divisor("train"), task.divisor(split)
        priors = {f"training prior (d = {train_d:g})": train_d}
        if split_d != train_d:
            priors[f"the split's own prior (d = {split_d:g}, oracle)"] = split_d
        for name, divisor in priors.items():
            for sweeps in args.sweeps:
                began = time.perf_counter()
                mean, draw = posterior_mean_and_sample(
                    given,
                    observed,
                    divisor,
                    rank=task.rank,
                    noise=task.noise,
                    sweeps=sweeps,
                )
                seconds = time.perf_counter() - began
                for predictor, estimate in (("posterior mean", mean), ("one posterior draw", draw)):
                    print(
                        f"| {split} | {predictor}, {name} | {sweeps} | "
                        f"{scored(estimate, batch.answer)} | {seconds:.0f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
