"""ponder's benchmark suite in one command: the machine, start-up, throughput of every
denoiser, and time to accuracy; writes one Markdown report.

    python benchmarks/suite.py                                  # machine, start-up, throughput
    python benchmarks/suite.py --runs runs/sudoku runs/demo     # + time to accuracy of runs
    python benchmarks/suite.py --train even_pixels              # train a preset first
    python benchmarks/suite.py --quick --out report.md

Throughput rows run one per process (``benchmarks/throughput.py --json``), so each row's peak
memory is its own. Time to accuracy evaluates every saved checkpoint of a run (``ponder
evaluate RUN --checkpoint STEP``) against the training seconds recorded in it; ``--train``
trains with every checkpoint kept (``train.keep_checkpoints=0``). The report goes to stdout
and to ``--out`` (default ``runs/bench/suite.md``).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (denoiser, size, precision, extra throughput.py arguments)
ROWS = [
    ("transformer", "small", "fp32", []),
    ("transformer", "small", "bf16", []),
    ("unet", "small", "fp32", []),
    ("mlp", "small", "fp32", []),
    ("transformer", "dit-s2", "fp32", []),  # the spatialreasoners 1.0.5 comparison point
    ("transformer", "dit-s2", "bf16", []),
    ("transformer", "dit-s2", "fp32", ["--tokens-per-variable", "1"]),
    ("unet", "dit-s2", "fp32", []),
    ("mlp", "dit-s2", "fp32", []),
]
IMPORTS = ["torch", "ponder", "ponder.api", "lightning"]


def machine(threads: int) -> list[str]:
    import torch

    from ponder.hardware import describe_cpu

    torch.set_num_threads(threads)
    sys.path.insert(0, str(HERE))
    from throughput import matmul_peak

    cpu = torch.device("cpu")
    fp32 = matmul_peak(torch.float32, cpu) / 1e9
    bf16 = matmul_peak(torch.bfloat16, cpu) / 1e9
    return [
        f"- machine: {describe_cpu()}; Python {platform.python_version()}, torch "
        f"{torch.__version__}; {date.today().isoformat()}",
        f"- matmul peak (2048^3, {threads} threads): {fp32:.0f} GFLOP/s fp32, "
        f"{bf16:.0f} GFLOP/s bf16",
    ]


def import_seconds(module: str, repeats: int) -> float:
    """Best wall time of ``python -c 'import module'`` in a fresh interpreter."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def startup(repeats: int) -> list[str]:
    seconds = {m: import_seconds(m, repeats) for m in IMPORTS}
    lines = [f"| import | seconds (best of {repeats}) | / import torch |", "|---|---|---|"]
    for m, s in seconds.items():
        lines.append(f"| `{m}` | {s:.2f} | {s / seconds['torch']:.2f}x |")
    return lines


def throughput(threads: int, repeats: int) -> list[str]:
    lines = [
        "| denoiser | size | precision | params (M) | tokens | batch | train samples/s | "
        "sample samples/s (10 steps) | train GFLOP/s | MFU | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for denoiser, size, precision, extra in ROWS:
        cmd = [
            sys.executable,
            str(HERE / "throughput.py"),
            "--json",
            f"--denoiser={denoiser}",
            f"--size={size}",
            f"--precision={precision}",
            f"--threads={threads}",
            f"--repeats={repeats}",
            *extra,
        ]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        label = size + (" (1 token/var)" if extra else "")
        lines.append(
            f"| {denoiser} | {label} | {precision} | {r['params_M']:.2f} | {r['tokens']} | "
            f"{r['batch']} | {r['train_samples_s']:.1f} | {r['sample_samples_s']:.1f} | "
            f"{r['train_GFLOPs']:.0f} | {r['mfu']:.0%} | {r['memory_MiB']:.0f} |"
        )
        print(lines[-1], file=sys.stderr)
    return lines


def ponder_cli(*args: str) -> str:
    exe = Path(sys.executable).with_name("ponder")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "ponder.cli"]
    return subprocess.run([*cmd, *args], check=True, capture_output=True, text=True).stdout


def time_to_accuracy(run: Path, num_samples: int, metrics: list[str], extra: list[str]):
    from ponder.rundir import RunDir

    steps = RunDir(run).checkpoint_steps()
    if not steps:
        raise SystemExit(f"{run} has no saved checkpoints to evaluate")
    records = []
    for step in steps:
        out = ponder_cli(
            "evaluate", str(run), "--checkpoint", str(step), "--json",
            "--num-samples", str(num_samples), *extra,
        )  # fmt: skip
        records.append(json.loads(out))
        print(f"{run} step {step}: {records[-1]}", file=sys.stderr)
    bookkeeping = {"seconds", "train_seconds"}
    names = metrics or [k for k, v in records[-1].items() if isinstance(v, float)]
    names = [n for n in names if n not in bookkeeping]
    lines = [
        f"`{run}` ({records[-1]['schedule']}, {num_samples} test conditions"
        f"{', ' + ' '.join(extra) if extra else ''}):",
        "",
        "| step | training minutes | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for r in records:
        minutes = r.get("train_seconds")
        minutes = "?" if minutes is None else f"{minutes / 60:.1f}"
        cells = " | ".join(f"{r[n]:.4f}" if isinstance(r.get(n), float) else "-" for n in names)
        lines.append(f"| {r['step']} | {minutes} | {cells} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="fewer repeats (rougher figures)")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--runs", nargs="*", type=Path, default=[], help="runs to time to accuracy")
    p.add_argument("--train", nargs="*", default=[], help="presets to train first (run folders "
                   "runs/bench/PRESET, every checkpoint kept)")  # fmt: skip
    p.add_argument("--num-samples", type=int, default=200, help="test conditions per checkpoint")
    p.add_argument("--metrics", default="", help="comma-separated metric names (default: all)")
    p.add_argument("--eval", nargs="*", default=[], help="extra evaluate arguments, e.g. "
                   "sample.candidates=4")  # fmt: skip
    p.add_argument("--out", type=Path, default=Path("runs/bench/suite.md"))
    args = p.parse_args()
    repeats = 2 if args.quick else 6

    report = ["# ponder benchmark suite", "", *machine(args.threads), ""]
    report += ["## Start-up", "", *startup(1 if args.quick else 3), ""]
    if not args.skip_throughput:
        report += ["## Throughput (random data; train = forward + backward + AdamW)", ""]
        report += [*throughput(args.threads, repeats), ""]
    runs = list(args.runs)
    for preset in args.train:
        out = Path("runs/bench") / preset
        ponder_cli("train", preset, "train.keep_checkpoints=0", "--out", str(out), "--force")
        runs.append(out)
    if runs:
        report += ["## Time to accuracy (saved checkpoints, held-out test conditions)", ""]
        metrics = [m for m in args.metrics.split(",") if m]
        for run in runs:
            report += [*time_to_accuracy(run, args.num_samples, metrics, args.eval), ""]
    text = "\n".join(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"report -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
