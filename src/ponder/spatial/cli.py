"""`ponder spatial ...`: generate 3D spatial reasoning question sets.

ponder spatial generate --n 200 --out runs/spatial --families 3dsr cvbench --seed 0
ponder spatial families
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
    return parser


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
