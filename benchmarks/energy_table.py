"""Energy diffusion against its baselines on one IRED task, as one Markdown table (issue 4).

    .venv/bin/python benchmarks/energy_table.py inverse_energy --out runs/energy/inverse
    .venv/bin/python benchmarks/energy_table.py connectivity_energy --out runs/energy/conn \\
        --splits same --train train.steps=1000

From one preset it trains three models with the same network, data and number of steps
(a model whose run folder already holds ``model.safetensors`` is reused, not retrained):

- ``energy``: the preset itself (denoising + the preset's weight of the energy-landscape loss),
  sampled by annealed energy descent with each ``--inner-steps`` value (the test-time compute
  curve);
- ``energy_x0`` (not run by default): the same with ``model.prediction=x0``, the energy form
  whose potential's gradient is the clean estimate, so no 1 / a(1) amplification at t = 1;
- ``diffusion``: ``model.energy=false model.prediction=x0``: the same net trained with the
  denoising loss alone, sampled by the plain DDIM loop with each clean estimate clipped to the
  data range; ``diffusion_eps`` the same with the preset's eps prediction (the energy model's
  parameterisation, which a plain MLP learns poorly: it must pass the noise through);
- ``regressor``: ``model.energy=false model.flow=rectified model.prediction=x0
  train.time_sampler=terminal``: the same net trained only at pure noise (a(1) = 0 on the
  rectified path, so no trace of the answer) to output the answer, sampled in one step, i.e. a
  feed-forward regressor of equal size;
- ``adaptive`` (not run by default): the same net as a Spatial Reasoning Model, per-variable
  noise levels (mean_beta) and an uncertainty head, sampled one variable group at a time in
  the order of its own uncertainty (``adaptive_seq``; pass its number of steps, e.g.
  ``--train sample.schedule_params.steps=12`` for the 12 rows of connectivity).

Every model is scored with ``ponder evaluate --json`` on the task's fixed, seeded test sets; the
trivial predictors come from the same evaluations (same test batch). The table is printed and
written to ``OUT/table.md`` with the commands behind it, and the raw records to
``OUT/records.jsonl``. ``--validation`` scores the validation sets instead
(``task.validation=true``; ``OUT/validation.md``, ``OUT/validation_records.jsonl``), where
sampling settings are chosen; ``--sample`` passes overrides to every evaluation, e.g.
``--sample sample.schedule_params.steps=3``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

VARIANTS = {
    "energy": [],
    "energy_x0": ["model.prediction=x0"],  # the x0 energy form (ponder.energy.EnergyDenoiser)
    "diffusion": ["model.energy=false", "model.prediction=x0", "sample.clip_x0=true"],
    "diffusion_eps": ["model.energy=false", "sample.clip_x0=true"],
    "regressor": [
        "model.energy=false",
        "model.flow=rectified",  # a(1) = 0 exactly: the answer never leaks into the input
        "model.prediction=x0",
        "train.time_sampler=terminal",
        "sample.schedule_params.steps=1",
    ],
    "adaptive": [  # an SRM: per-variable noise levels, generated in the model's own order
        "model.energy=false",
        "model.prediction=x0",
        "model.uncertainty=true",
        "train.time_sampler=mean_beta",
        "sample.clip_x0=true",
        "sample.schedule=adaptive_seq",
    ],
}
TRIVIAL_PREFIXES = ("mse_", "accuracy_", "first_action_success_")


def ponder_command() -> list[str]:
    return [sys.executable, "-m", "ponder.cli"]


def run(command: list[str], log: Path | None = None) -> str:
    print("$", shlex.join(command), flush=True)
    if log is None:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout
    with log.open("w") as handle:
        subprocess.run(command, check=True, stdout=handle, stderr=subprocess.STDOUT)
    return ""


def train(preset: str, folder: Path, overrides: list[str]) -> None:
    if (folder / "model.safetensors").is_file():
        print(f"reusing {folder}", flush=True)
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    command = [*ponder_command(), "train", preset, *overrides, "--out", str(folder)]
    if folder.exists():
        command.append("--resume")  # an interrupted earlier run of this script
    run(command, folder.parent / f"{folder.name}.train.log")


def evaluate(folder: Path, split: str, samples: int, extra: list[str]) -> dict:
    command = [*ponder_command(), "evaluate", str(folder), "--num-samples", str(samples)]
    command += ["--json", f"task.test_split={split}", *extra]
    record = json.loads(run(command).strip().splitlines()[-1])
    record["command"] = shlex.join(["ponder", *command[3:]])
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="an energy preset, e.g. inverse_energy")
    parser.add_argument("--out", type=Path, required=True, help="folder for the three runs")
    parser.add_argument("--splits", nargs="+", default=["same", "harder"])
    parser.add_argument("--inner-steps", nargs="+", type=int, default=[0, 1, 5, 20])
    parser.add_argument("--num-samples", type=int, default=2000, help="test problems per split")
    parser.add_argument("--train", nargs="*", default=[], help="overrides for all three runs")
    parser.add_argument("--sample", nargs="*", default=[], help="overrides for every evaluation")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score on the validation sets (task.validation=true): choose settings there",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[v for v in VARIANTS if v not in ("adaptive", "energy_x0")],
        choices=list(VARIANTS),
    )
    args = parser.parse_args()

    for name in args.variants:
        train(args.preset, args.out / name, [*VARIANTS[name], *args.train])

    records: list[dict] = []
    for name in args.variants:
        settings = (
            [[f"sample.energy_steps={steps}"] for steps in args.inner_steps]
            if name.startswith("energy")
            else [[]]
        )
        for extra in settings:
            for split in args.splits:
                overrides = [*args.sample, *extra]
                if args.validation:
                    overrides.append("task.validation=true")
                record = evaluate(args.out / name, split, args.num_samples, overrides)
                record.update(variant=name, split=split, settings=" ".join(extra))
                records.append(record)
    # a validation pass writes beside the test pass's files, not over them
    problems = "validation" if args.validation else "test"
    prefix = "validation_" if args.validation else ""
    with (args.out / f"{prefix}records.jsonl").open("w") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
    table = to_markdown(records, args.splits, problems)
    (args.out / ("validation.md" if args.validation else "table.md")).write_text(table)
    print(table)


def to_markdown(records: list[dict], splits: list[str], problems: str = "test") -> str:
    metric = next(k for k in ("mse", "accuracy", "first_action_success") if k in records[0])
    header = f"| model | settings | NFE | training min | {' | '.join(splits)} |"
    lines = [header, "|" + "---|" * (4 + len(splits))]
    rows: dict[tuple[str, str], dict] = {}
    for r in records:
        rows.setdefault((r["variant"], r["settings"]), {})[r["split"]] = r
    for (variant, settings), by_split in rows.items():
        first = next(iter(by_split.values()))
        minutes = first.get("train_seconds")
        minutes = "-" if minutes is None else f"{minutes / 60:.1f}"
        values = " | ".join(_fmt(by_split[s][metric]) if s in by_split else "-" for s in splits)
        lines.append(f"| {variant} | {settings or '-'} | {first['nfe']} | {minutes} | {values} |")
    trivial = sorted({k for r in records for k in r if k.startswith(TRIVIAL_PREFIXES)})
    for key in trivial:  # the same test batch for every record of a split
        values = []
        for split in splits:
            found = [r[key] for r in records if r["split"] == split and key in r]
            values.append(_fmt(found[0]) if found else "-")
        lines.append(f"| trivial: {key} | - | - | - | {' | '.join(values)} |")
    lines.append("")
    lines.append(f"{records[0]['num_samples']} {problems} problems per split; commands:")
    lines.append("")
    lines.extend(f"    {r['command']}" for r in records)
    return "\n".join(lines) + "\n"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


if __name__ == "__main__":
    main()
