"""Metrics of a preset's model before any training (the floor a trained model must beat).

    python benchmarks/untrained_baseline.py even_pixels [--num-samples 256] [key=value ...]
"""

from __future__ import annotations

import argparse
import json

import torch

from ponder.api import Pipeline
from ponder.build import build_model, build_task
from ponder.config import load_config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("preset")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--num-samples", type=int, default=256)
    args = p.parse_args()
    cfg = load_config(args.preset, args.overrides)
    torch.manual_seed(cfg.train.seed)  # the same initial weights training starts from
    weights = build_model(cfg, build_task(cfg).layout).net.state_dict()
    pipe = Pipeline(cfg, weights, step=0, device="cpu")
    result = pipe.evaluate(args.num_samples)
    print(json.dumps({"preset": args.preset, "step": 0, "num_samples": result.num_samples,
                      "schedule": result.schedule, **result.metrics}))


if __name__ == "__main__":
    main()
