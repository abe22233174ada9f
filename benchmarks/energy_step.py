"""What one energy training step costs, against the plain step of the same network (issue 4).

    .venv/bin/python benchmarks/energy_step.py sudoku model.energy=true model.prediction=x0 \\
        model.flow=vp model.vp_steps=10 model.uncertainty=false train.time_sampler=shared \\
        model.transformer.width=64 model.transformer.depth=4 train.batch_size=64

One batch of the preset (with its overrides, which must make an energy model), and the median
time of one forward + backward of three losses on it, taken in turn so that a machine shared
with other work slows all three alike:

- ``plain``: the denoising loss of the network itself, not as an energy gradient (one pass);
- ``energy``: ``EnergyModel.loss``, which reads E(y+) off the denoising pass and runs the
  network again on the negatives only;
- ``energy, fp32 contrastive``: the same with E(y+), E(y-) evaluated again in fp32 (under
  ``--precision bf16`` only the denoising pass is bf16; see ``energy_grad_precision.py`` for
  why one would want that);
- ``energy, two passes``: the same loss written out as before 2026-12-02, E evaluated again
  on [y+, y-] (kept here to measure what reading E(y+) off the denoising pass saves).

``--precision bf16`` runs all three under bf16 autocast, as ``train.precision=bf16-mixed`` does
(the double backward included). Prints a Markdown table with the machine's description. Not a
test: timings vary with load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from ponder.build import build_model, build_task, build_time_sampler
from ponder.config import load_config
from ponder.energy import EnergyModel
from ponder.hardware import describe_cpu
from ponder.model import DenoisingModel
from ponder.training.data import StepBatches


def contrastive_term(model: EnergyModel, batch, fp32: bool = False) -> torch.Tensor:
    """lambda * softplus(E(y+) - E(y-)) with both energies from one pass over [y+, y-] (the
    loss as written before 2026-12-02); ``fp32``: that pass with autocast off, whatever the
    caller's precision."""
    noise = batch.noise
    y_pos = model.flow.noise(batch.x, noise.t, noise.eps)
    negative = batch.x_negative  # None: made by short energy descent, as the loss does
    if negative is None:
        negative = model.descent_negatives(batch.x, noise, batch.label)
    y_neg = model.flow.noise(negative, noise.t, noise.eps)
    both, t = torch.cat([y_pos, y_neg]), torch.cat([noise.t, noise.t])
    with torch.autocast("cpu", enabled=False) if fp32 else nullcontext():
        e_pos, e_neg = model.net.energy(both.float() if fp32 else both, t).chunk(2)
    return model.contrastive_weight * F.softplus(e_pos - e_neg).mean()


def two_pass_loss(model: EnergyModel, batch, fp32_contrastive: bool = False) -> torch.Tensor:
    """The energy loss with E(y+) computed a second time (the formula before 2026-12-02); with
    ``fp32_contrastive`` the denoising pass keeps the caller's autocast and the energies are
    fp32: what keeping bf16's speed without its rounding in E(y+) - E(y-) would cost."""
    base = DenoisingModel.loss(model, batch.x, batch.noise, batch.label, 0.0)
    return base.total + contrastive_term(model, batch, fp32_contrastive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("preset")
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args(argv)
    cfg = load_config(args.preset, args.overrides)
    task = build_task(cfg)
    model = build_model(cfg, task.layout).train()
    if not isinstance(model, EnergyModel):
        parser.error("the overrides must make an energy model (model.energy=true)")
    data = StepBatches(
        task, build_time_sampler(cfg), 0, 1, cfg.train.batch_size, cfg.train.seed, negatives=True
    )
    batch = data[0]  # x_negative is None for tasks without their own negatives
    x, noise, label = batch.x, batch.noise, batch.label
    plain = DenoisingModel(model.net.base, model.flow, model.prediction)  # same net, no energy
    losses = {
        "plain": lambda: plain.loss(x, noise, label, 0.0).total,
        "energy": lambda: model.loss(x, noise, label, 0.0, batch.x_negative).total,
        "energy, fp32 contrastive": lambda: two_pass_loss(model, batch, fp32_contrastive=True),
        "energy, two passes": lambda: two_pass_loss(model, batch),
    }
    times: dict[str, list[float]] = {name: [] for name in losses}
    for repeat in range(args.repeats + 1):  # the first round warms up
        for name, loss in losses.items():
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                value = loss()
            value.backward()
            model.zero_grad(set_to_none=True)
            if repeat:
                times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(v) for name, v in times.items()}
    setup = f"{args.preset} {' '.join(args.overrides)}".strip()
    print(f"{setup}; {describe_cpu()}; {args.precision}; batch {list(x.shape)}")
    print("\n| loss | median s | x plain |\n|---|---|---|")
    for name, seconds in median.items():
        print(f"| {name} | {seconds:.3f} | {seconds / median['plain']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
