"""How far an energy model's bf16 training gradient is from the fp32 one (issue 4).

    .venv/bin/python benchmarks/energy_grad_precision.py runs/energy/sudoku_cont 3300 --steps 4

Loads the resumable checkpoint of step STEP of a run (model weights, not EMA), rebuilds the
training batches of the next ``--steps`` steps exactly as training draws them, and compares
parameter gradients of one loss under bf16 autocast against fp32 on the same weights and
batch: their norms and cosine similarity, for

- ``denoising``: the denoising loss alone (the energy's input gradient, differentiated again);
- ``total``: the training loss, denoising + contrastive weight * softplus(E(y+) - E(y-));
- ``total, fp32 contrastive``: the denoising part in bf16, the contrastive part with E(y+),
  E(y-) evaluated in fp32 (``energy_step.py`` times this variant).

Prints a Markdown table. Not a test: it reads a trained run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from ponder.build import build_model, build_task, build_time_sampler
from ponder.checkpoint import load_tensors, unprefixed
from ponder.energy import EnergyModel
from ponder.model import DenoisingModel
from ponder.rundir import RunDir
from ponder.training.data import StepBatches

sys.path.insert(0, str(Path(__file__).parent))
from energy_step import contrastive_term  # a sibling script


def gradient(model: EnergyModel, loss, bf16: bool) -> torch.Tensor:
    """The flattened parameter gradient of ``loss()`` computed under the given precision."""
    model.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        value = loss()
    value.backward()
    return torch.cat([p.grad.flatten().float() for p in model.parameters() if p.grad is not None])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("step", type=int, help="a step with a resumable checkpoint")
    parser.add_argument("--steps", type=int, default=4, help="training batches to compare on")
    args = parser.parse_args(argv)
    run = RunDir(args.run)
    cfg = run.read_config()
    task = build_task(cfg)
    model = build_model(cfg, task.layout)
    if not isinstance(model, EnergyModel):
        parser.error(f"{args.run} is not an energy model (model.energy=false)")
    tensors, _ = load_tensors(run.checkpoint_path(args.step))
    model.net.load_state_dict(unprefixed("model", tensors))
    model.train()
    data = StepBatches(
        task,
        build_time_sampler(cfg),
        args.step,
        args.step + args.steps,
        cfg.train.batch_size,
        cfg.train.seed,
        negatives=True,
    )
    print(f"{args.run} at step {args.step}, batch {cfg.train.batch_size}")
    print("\n| step | loss | fp32 norm | bf16 norm | cosine (bf16, fp32) |\n|---|---|---|---|---|")
    for i in range(len(data)):
        batch = data[i]

        def denoising(batch=batch):
            return DenoisingModel.loss(model, batch.x, batch.noise, batch.label, 0.0).total

        def total(batch=batch):
            return model.loss(batch.x, batch.noise, batch.label, 0.0, batch.x_negative).total

        den32, den16 = gradient(model, denoising, False), gradient(model, denoising, True)
        tot32, tot16 = gradient(model, total, False), gradient(model, total, True)
        mixed = den16 + gradient(model, lambda batch=batch: contrastive_term(model, batch), False)
        rows = [
            ("denoising", den32, den16),
            ("total", tot32, tot16),
            ("total, fp32 contrastive", tot32, mixed),
        ]
        for name, g32, g16 in rows:
            cosine = F.cosine_similarity(g32, g16, dim=0).item()
            print(
                f"| {args.step + i} | {name} | {g32.norm():.4f} | {g16.norm():.4f} | {cosine:.3f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
