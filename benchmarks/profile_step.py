"""Where the time of a training step and of a sampling step goes (torch.profiler, CPU).

    python benchmarks/profile_step.py [PRESET] [key=value ...] [--rows 12] [--precision bf16]

Self CPU time per operator over 3 repeats, after a warm-up; ``--precision bf16`` runs both under
bf16 autocast, as ``precision: auto`` does on a CPU with native bf16.
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from ponder.build import build_model, build_task, build_time_sampler
from ponder.config import load_config
from ponder.model import draw_noise
from ponder.sampling import sample
from ponder.schedules import FixedSchedule


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("preset", nargs="?", default="even_pixels")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--rows", type=int, default=12)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="autocast")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.preset, args.overrides)
    task = build_task(cfg)
    model = build_model(cfg, task.layout)
    g = torch.Generator().manual_seed(0)
    batch = task.train_batch(cfg.train.batch_size, g)
    noise = draw_noise(batch.x.shape, batch.known, build_time_sampler(cfg), g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    bf16 = args.precision == "bf16"

    def train_step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss(batch.x, noise, batch.label).total
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sample_steps():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            sample(model.predict, model.flow, FixedSchedule(5), batch.x, batch.known, g)

    for name, fn in (("training step", train_step), ("5 sampling steps", sample_steps)):
        fn()  # warm-up
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                fn()
        print(
            f"\n## {args.preset}: {name} (3 repeats, batch {cfg.train.batch_size}, "
            f"{args.precision})\n"
        )
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
