"""`ponder spatial ...`: generate 3D spatial reasoning question sets.

ponder spatial generate --n 200 --out runs/spatial --families 3dsr cvbench --seed 0
ponder spatial families
ponder spatial eval --model hf:PATH|openai:URL|oracle|random DATA [--circular] [--out DIR]
ponder spatial train-grpo --model PATH --data DIR_or_JSONL [--reward total] [--steps N]
"""

from __future__ import annotations

import argparse
import sys

from ponder.spatial.families import FAMILIES, FAMILY_GROUPS


def _family_name(value: str) -> str:
    if value not in FAMILIES and value not in FAMILY_GROUPS:
        raise argparse.ArgumentTypeError(
            f"unknown family {value!r}; valid choices: {', '.join([*FAMILY_GROUPS, *FAMILIES])}"
        )
    return value


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from error
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ponder spatial", description="3D spatial reasoning question sets."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write images, JSONL and a circular TSV")
    generate.add_argument("--n", type=_positive, required=True, help="number of questions")
    generate.add_argument("--out", required=True, help="output folder")
    generate.add_argument(
        "--families",
        nargs="+",
        type=_family_name,
        default=None,
        help="families or groups (3dsr, cvbench, spatialthinker, all)",
    )
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument(
        "--per-scene", type=_positive, default=4, help="at most this many questions per image"
    )
    generate.add_argument(
        "--no-circular", action="store_true", help="write only the original option order in the TSV"
    )
    generate.add_argument(
        "--supersample",
        type=int,
        choices=(1, 2, 3, 4),
        default=1,
        help="anti-aliasing factor of the renderer",
    )
    commands.add_parser("families", help="list the question families")
    _add_eval(commands)
    _add_train_grpo(commands)
    return parser


def _add_eval(commands) -> None:
    from ponder.spatial.prompts import PROMPTS

    ev = commands.add_parser("eval", help="run a model over a benchmark and score it")
    ev.add_argument("data", help="ponder set folder, questions.jsonl, or a VLMEvalKit TSV")
    ev.add_argument("--model", required=True, help="hf:PATH | openai:URL | oracle | random[:SEED]")
    ev.add_argument("--circular", action="store_true", help="ask every copy; score groups")
    ev.add_argument("--out", default=None, help="answers and scores (default runs/eval/<model>)")
    ev.add_argument("--prompt", choices=sorted(PROMPTS), default="multiple_choice")
    ev.add_argument("--batch-size", type=_positive, default=8)
    ev.add_argument("--limit", type=_positive, default=None, help="first N questions only")
    ev.add_argument("--model-name", default="", help="openai: the served model name")
    ev.add_argument("--dtype", choices=("auto", "bfloat16", "float16", "float32"), default="auto")
    ev.add_argument("--device", default="auto", help="hf: auto, cpu, cuda, cuda:1 ...")
    ev.add_argument("--max-new-tokens", type=_positive, default=512)
    ev.add_argument("--timeout", type=float, default=120.0, help="openai: seconds per request")
    ev.add_argument("--retries", type=int, default=3, help="openai: extra attempts")
    ev.add_argument("--seed", type=int, default=0, help="random: the seed")


def _add_train_grpo(commands) -> None:
    train = commands.add_parser(
        "train-grpo", help="GRPO fine-tuning of a Hugging Face vision-language model"
    )
    train.add_argument("--model", required=True, help="local Hugging Face model folder")
    train.add_argument("--data", required=True, help="ponder set folder or questions.jsonl")
    train.add_argument("--reward", default="total", help="total | sparse | accuracy | ...")
    train.add_argument("--prompt", default="spatialthinker", help="prompt template name")
    train.add_argument("--group-size", type=_positive, default=8, help="completions per prompt")
    train.add_argument("--batch-size", type=_positive, default=1, help="prompts per step")
    train.add_argument("--steps", type=_positive, default=75)
    train.add_argument("--lr", type=float, default=1e-6)
    train.add_argument("--kl", type=float, default=0.01, help="k3 KL weight; 0: no reference")
    train.add_argument("--clip-low", type=float, default=0.2)
    train.add_argument("--clip-high", type=float, default=0.3)
    train.add_argument("--iterations", type=_positive, default=1, help="updates per batch")
    train.add_argument("--max-new-tokens", type=_positive, default=512)
    train.add_argument("--temperature", type=float, default=1.0)
    train.add_argument(
        "--dtype", choices=("auto", "bfloat16", "float16", "float32"), default="auto"
    )
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default="runs/grpo", help="fine-tuned weights and log")


def _run_eval(args) -> int:
    import re

    from ponder.spatial.adapters import AdapterError, AdapterOptions, make_adapter
    from ponder.spatial.benchmark_files import BenchmarkFormatError
    from ponder.spatial.evaluate import EvaluationError, evaluate

    options = AdapterOptions(
        data_path=args.data,
        model_name=args.model_name,
        dtype=args.dtype,
        device=args.device,
        max_new_tokens=args.max_new_tokens,
        timeout_s=args.timeout,
        retries=args.retries,
        seed=args.seed,
    )
    out = args.out or f"runs/eval/{re.sub(r'[^A-Za-z0-9_.-]+', '_', args.model).strip('_')}"
    try:
        adapter = make_adapter(args.model, options)
        report = evaluate(
            args.data, adapter, out, args.model, args.prompt, args.circular,
            args.batch_size, args.limit,
        )  # fmt: skip
    except (AdapterError, BenchmarkFormatError, EvaluationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    s = report.overall
    line = f"{args.model}: plain {100 * s.accuracy:.1f} ± {100 * s.se:.1f} % over {s.n} questions"
    if args.circular:
        line += (
            f", circular {100 * s.circular_accuracy:.1f} ± {100 * s.circular_se:.1f} % "
            f"over {s.n_groups} groups ({s.n_rows} rows)"
        )
    print(line + f"; {s.n_failed} failed; asked {report.n_asked}; report in {out}/report.md")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits 2 on bad input, 0 on --help
        return int(stop.code or 0)
    if args.command == "families":
        for family in FAMILIES.values():
            print(f"{family.name:45s} {family.benchmark:15s} {family.category}")
        return 0
    if args.command == "eval":
        return _run_eval(args)
    if args.command == "train-grpo":
        from ponder.spatial.grpo_train import run_from_args

        return run_from_args(args)
    from ponder.spatial.export import export_dataset

    summary = export_dataset(
        args.out,
        args.n,
        args.families,
        args.seed,
        args.per_scene,
        circular=not args.no_circular,
        supersample=args.supersample,
    )
    print(
        f"wrote {summary.n_questions} questions over {summary.n_scenes} scenes "
        f"({summary.n_tsv_rows} TSV rows) to {summary.out_dir}"
    )
    if summary.n_questions < summary.n_requested:
        print(
            f"only {summary.n_questions} of {summary.n_requested} questions could be made "
            "for these families",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
