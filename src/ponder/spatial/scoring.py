"""Scores of an evaluation: plain and circular accuracy with standard errors, CSV and Markdown.

Plain accuracy counts the original row of each question (copy 0), with the binomial standard
error sqrt(p (1 - p) / n). Circular accuracy counts a question group right only when every
asked copy (option rotations, flipped images) is right; its standard error is binomial over
groups. Failures (missing image, empty output, no option found, adapter error) count wrong.
Scores are given overall, per benchmark (when there are several), per type (`l2-category`)
and per subtype (`category`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ponder.spatial.benchmark_files import EvalItem


@dataclass(frozen=True)
class ItemResult:
    item: EvalItem
    predicted: str  # the parsed letter, "" when none
    status: str  # ok | no_answer | empty_output | error | bad_item
    detail: str  # why it failed ("" when ok)
    output: str  # the raw model output
    format_ok: bool = False

    @property
    def correct(self) -> bool:
        return self.status == "ok" and self.predicted == self.item.answer


@dataclass(frozen=True)
class Score:
    level: str  # overall | benchmark | type | subtype
    name: str
    n: int  # original questions
    correct: int
    accuracy: float
    se: float  # binomial standard error of `accuracy`
    n_groups: int
    circular_correct: int
    circular_accuracy: float
    circular_se: float
    n_rows: int  # every asked row (copies included)
    n_failed: int  # rows with a status other than ok
    chance: float  # expected plain accuracy of a uniform guess: mean of 1 / options
    circular_chance: float  # the same for groups: mean over groups of prod(1 / options)


def binomial_se(successes: int, n: int) -> float:
    if n == 0:
        return float("nan")
    p = successes / n
    return math.sqrt(p * (1.0 - p) / n)


def _score(level: str, name: str, results: list[ItemResult]) -> Score:
    originals = [r for r in results if r.item.is_original]
    groups: dict[str, bool] = {}
    group_chance: dict[str, float] = {}
    for result in results:
        group = result.item.group
        groups[group] = groups.get(group, True) and result.correct
        group_chance[group] = group_chance.get(group, 1.0) / len(result.item.options)
    correct = sum(r.correct for r in originals)
    circular = sum(groups.values())
    n, g = len(originals), len(groups)
    return Score(
        level=level,
        name=name,
        n=n,
        correct=correct,
        accuracy=correct / n if n else float("nan"),
        se=binomial_se(correct, n),
        n_groups=g,
        circular_correct=circular,
        circular_accuracy=circular / g if g else float("nan"),
        circular_se=binomial_se(circular, g),
        n_rows=len(results),
        n_failed=sum(r.status != "ok" for r in results),
        chance=sum(1 / len(r.item.options) for r in originals) / n if n else float("nan"),
        circular_chance=sum(group_chance.values()) / g if g else float("nan"),
    )


def _by(results: list[ItemResult], key: Callable[[EvalItem], str]) -> dict[str, list]:
    """Split by the group's original item, so all copies of a question stay together."""
    label = {r.item.group: key(r.item) for r in results if r.item.is_original}
    split: dict[str, list[ItemResult]] = {}
    for result in results:
        split.setdefault(label.get(result.item.group, key(result.item)), []).append(result)
    return dict(sorted(split.items()))


def score_results(results: list[ItemResult]) -> list[Score]:
    scores = [_score("overall", "all", results)]
    levels = [
        ("benchmark", lambda i: i.benchmark),
        ("type", lambda i: i.l2_category),
        ("subtype", lambda i: i.category),
    ]
    for level, key in levels:
        split = _by(results, key)
        if level == "benchmark" and len(split) < 2:
            continue
        if list(split) == [""]:
            continue
        scores.extend(_score(level, name or "(none)", part) for name, part in split.items())
    return scores


def scores_csv(scores: list[Score]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(asdict(scores[0])), lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(s) for s in scores)
    return buffer.getvalue()


PREDICTION_COLUMNS = (
    "key", "group", "copy", "qid", "benchmark", "l2_category", "category", "answer",
    "predicted", "correct", "status", "detail", "format_ok", "output",
)  # fmt: skip


def predictions_csv(results: list[ItemResult]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PREDICTION_COLUMNS)
    for r in results:
        i = r.item
        writer.writerow(
            [i.key, i.group, i.copy, i.qid, i.benchmark, i.l2_category, i.category, i.answer,
             r.predicted, int(r.correct), r.status, r.detail, int(r.format_ok), r.output]
        )  # fmt: skip
    return buffer.getvalue()


def _percent(value: float, se: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f} ± {100 * se:.1f}"


def markdown_report(
    title: str, settings: dict[str, str], scores: list[Score], results: list[ItemResult],
    circular: bool, max_failures: int = 50,
) -> str:  # fmt: skip
    lines = [f"# {title}", ""]
    lines += [f"- {name}: {value}" for name, value in settings.items()]
    lines += ["", "Accuracy in %, ± one standard error.", ""]
    header = "| level | name | questions | plain accuracy | chance |"
    rule = "|---|---|---:|---:|---:|"
    if circular:
        header += " groups | circular accuracy | circular chance | rows |"
        rule += "---:|---:|---:|---:|"
    lines += [header + " failed |", rule + "---:|"]
    for s in scores:
        row = f"| {s.level} | {s.name} | {s.n} | {_percent(s.accuracy, s.se)} |"
        row += f" {100 * s.chance:.1f} |"
        if circular:
            row += f" {s.n_groups} | {_percent(s.circular_accuracy, s.circular_se)} |"
            row += f" {100 * s.circular_chance:.1f} | {s.n_rows} |"
        lines.append(row + f" {s.n_failed} |")
    failed = [r for r in results if r.status != "ok"]
    if failed:
        lines += ["", f"## Failures ({len(failed)}, counted wrong)", ""]
        lines += ["| key | qid | status | detail |", "|---|---|---|---|"]
        for r in failed[:max_failures]:
            detail = r.detail.replace("|", "\\|").replace("\n", " ")[:200]
            lines.append(f"| {r.item.key} | {r.item.qid} | {r.status} | {detail} |")
        if len(failed) > max_failures:
            lines.append(f"\n... and {len(failed) - max_failures} more in predictions.csv")
    return "\n".join(lines) + "\n"
