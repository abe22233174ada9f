"""``ponder ...``: the command line. Only ``train`` imports Lightning."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_USAGE = 2
CHECKPOINT = "the training checkpoint of this step (default: the final EMA model)"


def _split_overrides(items: list[str]) -> tuple[dict, dict]:
    """Sample/evaluate overrides: ``key=value`` are schedule parameters, ``sample.key=value``
    are fields of the run's sample config."""
    from ponder.config import ConfigError, parse_overrides

    tree = parse_overrides(items)
    sample = tree.pop("sample", {})
    if "task" in tree:
        sample = {**sample, "task": tree.pop("task")}
    for key, value in tree.items():
        if isinstance(value, dict):
            raise ConfigError(
                f"override {key}.* is not allowed here: use schedule parameters (key=value) or "
                f"sample.KEY=value"
            )
    return tree, sample


def _pipeline(args, sample_overrides: dict):
    from dataclasses import replace

    from ponder.api import load
    from ponder.config import SampleConfig, build, merge, sample_base, to_dict

    pipe = load(args.run_dir, device=args.device, step=args.checkpoint)
    task_overrides = sample_overrides.pop("task", None)
    if task_overrides:  # e.g. task.test_givens=[54,80]: other test conditions, same model
        from ponder.build import build_task

        task_cls = type(pipe.cfg.task)
        merged = merge(to_dict(pipe.cfg.task), task_overrides)
        pipe.cfg = replace(pipe.cfg, task=build(task_cls, merged, "task."))
        pipe.task = build_task(pipe.cfg)
    if sample_overrides:
        current = sample_base(to_dict(pipe.cfg.sample), sample_overrides)
        merged = merge(current, sample_overrides)
        pipe.cfg = replace(pipe.cfg, sample=build(SampleConfig, merged, "sample."))
    return pipe


def cmd_presets(args) -> int:
    from ponder.config import preset_names, read_preset

    for name in preset_names():
        preset = read_preset(name)
        print(
            f"{name:24s} task={preset.get('task', {}).get('name', '?')}  {preset.get('about', '')}"
        )
    return 0


def cmd_train(args) -> int:
    from ponder.config import ConfigError

    preset, overrides = args.preset, list(args.overrides)
    if preset is None and not args.resume:
        raise ConfigError("name a preset (see `ponder presets`) or pass --resume")
    if preset is not None and "=" in preset:
        if not args.resume:
            raise ConfigError(f"expected a preset name before the overrides, got {preset!r}")
        # --resume takes the run's saved config: its first override lands in the preset slot
        preset, overrides = None, [preset, *overrides]
    from ponder.training import train

    path = train(preset, args.out, overrides, resume=args.resume, force=args.force)
    print(f"trained: {path}")
    return 0


def cmd_sample(args) -> int:
    from ponder.distributed import init_from_environment, leave_process_group

    schedule_params, sample = _split_overrides(args.overrides)
    rank, _ = init_from_environment()
    pipe = _pipeline(args, sample)
    result = pipe.sample(args.num_samples, args.schedule, args.seed, **schedule_params)
    leave_process_group()  # every rank holds the gathered samples
    if rank > 0:
        return 0  # rank 0 writes the gathered samples
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = pipe.save_grid(result.x, out / "samples.png")
    from ponder.checkpoint import save_tensors

    save_tensors(
        out / "samples.safetensors",
        {"x": result.x, "known": result.conditions.known},
        {"schedule": result.schedule, "params": result.schedule_params},
    )
    print(
        f"{args.num_samples} samples ({result.schedule}, {result.nfe} NFE, "
        f"{result.seconds:.1f} s) -> {path}"
    )
    return 0


def cmd_evaluate(args) -> int:
    from ponder.distributed import init_from_environment, leave_process_group

    schedule_params, sample = _split_overrides(args.overrides)
    rank, _ = init_from_environment()  # under torchrun: each rank samples its share
    pipe = _pipeline(args, sample)
    result = pipe.evaluate(args.num_samples, args.schedule, **schedule_params)
    leave_process_group()  # every rank holds the gathered result
    if rank > 0:
        return 0  # rank 0 reports the gathered result
    record = {
        "run": str(args.run_dir),
        "step": result.step,
        "schedule": result.schedule,
        "schedule_params": result.schedule_params,
        "num_samples": result.num_samples,
        "nfe": result.nfe,
        "seconds": round(result.seconds, 3),
        **result.metrics,
    }
    if pipe.train_seconds is not None:  # training time behind the weights (time to accuracy)
        record["train_seconds"] = pipe.train_seconds
    if args.json:
        print(json.dumps(record))
        return 0
    print(f"{'metric':28s} value")
    for key, value in record.items():
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{key:28s} {text}")
    return 0


def cmd_study(args) -> int:
    from ponder.config import ConfigError
    from ponder.study import run_study

    def split(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    try:
        overlaps = [float(o) for o in split(args.overlaps)]
    except ValueError as err:
        raise ConfigError(f"--overlaps must be numbers in [0, 1): {err}") from err
    _, overrides = _split_overrides(args.overrides)
    pipe = _pipeline(args, overrides)
    out = Path(args.out or Path(args.run_dir) / "study")
    try:
        rows = run_study(pipe, split(args.schedules), overlaps, args.num_samples, out, args.steps)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    print((out / "study.md").read_text())
    print(f"{len(rows)} rows -> {out}/study.md, study.csv and pictures")
    return 0


def parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser (for help and errors) and one parser per subcommand."""
    p = argparse.ArgumentParser(prog="ponder", description="Reasoning with denoising models.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("presets", help="list the shipped presets")
    s.set_defaults(func=cmd_presets)

    s = sub.add_parser(
        "train", help="train a preset: ponder train PRESET [key=value ...] --out DIR"
    )
    s.add_argument("preset", nargs="?")
    s.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.steps=500")
    s.add_argument("--out", required=True, help="run folder")
    s.add_argument("--resume", action="store_true", help="continue the run in --out")
    s.add_argument("--force", action="store_true", help="replace an existing run in --out")
    s.set_defaults(func=cmd_train)

    for name, func, helptext in (
        ("sample", cmd_sample, "sample a trained run into a PNG grid"),
        ("evaluate", cmd_evaluate, "evaluate a trained run on its task's metrics"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("run_dir")
        s.add_argument(
            "overrides",
            nargs="*",
            help="schedule parameters (steps=20 overlap=0) or sample.KEY=VALUE",
        )
        s.add_argument("--num-samples", type=int, default=16 if name == "sample" else None)
        s.add_argument("--schedule", default=None, help="inference schedule (default: the run's)")
        s.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
        s.add_argument("--checkpoint", type=int, default=None, metavar="STEP", help=CHECKPOINT)
        if name == "sample":
            s.add_argument("--out", required=True)
            s.add_argument("--seed", type=int, default=None)
        else:
            s.add_argument("--json", action="store_true", help="one JSON object on stdout")
        s.set_defaults(func=func)

    s = sub.add_parser("study", help="evaluate one run under many schedules and overlaps")
    s.add_argument("run_dir")
    s.add_argument("overrides", nargs="*", help="task.KEY=VALUE or sample.KEY=VALUE")
    s.add_argument("--schedules", default="fixed,random_seq,graph_seq,adaptive_seq")
    s.add_argument("--overlaps", default="0,0.75")
    s.add_argument("--num-samples", type=int, default=64)
    s.add_argument(
        "--steps",
        type=int,
        default=None,
        help="steps per run (default: the run's for fixed, max(N, that) otherwise)",
    )
    s.add_argument("--out", default=None, help="default: RUN_DIR/study")
    s.add_argument("--device", default=None)
    s.add_argument("--checkpoint", type=int, default=None, metavar="STEP", help=CHECKPOINT)
    s.set_defaults(func=cmd_study)

    from ponder.mnist.cli import add_commands as add_mnist_commands

    add_mnist_commands(sub)

    # listed for --help only: main() hands `ponder spatial ...` to ponder.spatial.cli first
    sub.add_parser("spatial", help="3D spatial reasoning tools (ponder spatial --help)")
    return p, dict(sub.choices)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["spatial"]:  # its own parser; nothing of the denoising stack is imported
        from ponder.spatial.cli import main as spatial_main

        return spatial_main(argv[1:])
    top, commands = parser()
    if not argv or argv[0] not in commands:
        top.parse_args(argv)  # prints help or names the valid commands, exits
    # intermixed: overrides may come before or after options (`evaluate RUN --json steps=5`)
    args = commands[argv[0]].parse_intermixed_args(argv[1:])
    from ponder.checkpoint import CheckpointError  # after parsing: --help stays instant
    from ponder.config import ConfigError

    try:
        return args.func(args)
    except ConfigError as err:
        print(f"ponder: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (CheckpointError, FileNotFoundError) as err:
        print(f"ponder: error: {err}", file=sys.stderr)
        return 1
    except RuntimeError as err:
        if type(err).__name__ == "NonFiniteLossError":
            print(f"ponder: error: {err}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
