"""How good is a trained model's clean estimate at each noise level? (a diagnosis, issue 4)

    .venv/bin/python benchmarks/denoise_probe.py runs/energy/connectivity/energy
    .venv/bin/python benchmarks/denoise_probe.py runs/energy/connectivity/energy --plain-ddim 10 50

Noises the fixed test set's true answers to each level t (all generated variables at t, the
known ones clean, one seeded eps) and prints, per t, the MSE of the model's clean estimate x0
and of its noise estimate eps on the generated variables, and the share of x0 entries with the
right sign (for +-1 codes). ``--plain-ddim S ...`` also evaluates the model with the plain DDIM
loop of S steps and clipped clean estimates, with any energy descent switched off, to tell a
weak denoiser from a weak sampler.
"""

from __future__ import annotations

import argparse

import torch

import ponder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run folder")
    parser.add_argument("--num-samples", type=int, default=500)
    parser.add_argument("--levels", nargs="+", type=float, default=[0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
    parser.add_argument("--plain-ddim", nargs="*", type=int, default=[], metavar="STEPS")
    args = parser.parse_args()

    pipe = ponder.load(args.run, device="cpu")
    batch = pipe.task.test_batch(args.num_samples, pipe.cfg.sample.seed)
    x, known = batch.x, batch.known
    model, todo = pipe.model.eval(), ~known
    print(f"{'t':>5} {'x0 mse':>10} {'eps mse':>10} {'x0 sign right':>14}")
    for level in args.levels:
        t = torch.full(known.shape, level).masked_fill(known, 0.0)
        eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        z = torch.where(known[..., None], x, model.flow.noise(x, t, eps))
        pred = model.predict(z, t)
        x0_mse = (pred.x0 - x)[todo].pow(2).mean().item()
        eps_mse = (pred.eps - eps)[todo].pow(2).mean().item()
        signs = ((pred.x0[todo] > 0) == (x[todo] > 0)).float().mean().item()
        print(f"{level:5.2f} {x0_mse:10.4g} {eps_mse:10.4g} {signs:14.3f}")

    for steps in args.plain_ddim:
        pipe.energy_refine = lambda s: None  # no descent: the plain loop over the same net
        pipe.cfg.sample.clip_x0 = getattr(pipe.task, "data_range", None) is not None
        result = pipe.evaluate(args.num_samples, "fixed", steps=steps)
        print(f"plain DDIM, {steps} steps, clip_x0={pipe.cfg.sample.clip_x0}: {result.metrics}")


if __name__ == "__main__":
    main()
