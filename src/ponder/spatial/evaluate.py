"""Run a model over a multiple-choice benchmark, resumable, and score it.

`evaluate(data, adapter, out_dir, ...)`:
  1. loads the items (`benchmark_files.load_items`); without `circular` only the original row
     of each question is asked; `limit` keeps the first `limit` questions (all their copies);
  2. asks the adapter in batches the items not answered yet, and appends one JSON record per
     answer to `out_dir/answers.jsonl`, flushed and fsynced after every batch. A rerun with the
     same `out_dir` reads the records and never asks an answered item again; items whose
     adapter call failed (`AnswerError`) are asked again. `run.json` pins the model and prompt
     of a folder, and each record carries a fingerprint of the prompt, so answers of another
     model, prompt or data set are never mixed in;
  3. parses every output (`parser.parse_output`), scores (`scoring.score_results`) and writes
     `scores.csv`, `predictions.csv` (one line per row, failures included) and `report.md`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ponder.spatial.adapters import Adapter, AnswerError, Query
from ponder.spatial.benchmark_files import EvalItem, load_items
from ponder.spatial.export import write_atomic
from ponder.spatial.parser import parse_output
from ponder.spatial.prompts import PROMPT_TAGS, PROMPTS
from ponder.spatial.scoring import (
    ItemResult,
    Score,
    markdown_report,
    predictions_csv,
    score_results,
    scores_csv,
)

ANSWERS_FILE = "answers.jsonl"


class EvaluationError(RuntimeError):
    """The evaluation cannot run as asked (mismatched cache, bad prompt name)."""


@dataclass(frozen=True)
class EvalReport:
    model: str
    data: str
    prompt: str
    circular: bool
    out_dir: str
    n_asked: int  # rows sent to the model in this run (answers from the cache excluded)
    scores: list[Score]
    results: list[ItemResult]

    @property
    def overall(self) -> Score:
        return self.scores[0]


def select_items(items: list[EvalItem], circular: bool, limit: int | None) -> list[EvalItem]:
    chosen = items if circular else [i for i in items if i.is_original]
    if limit is not None:
        groups: list[str] = []
        for item in chosen:
            if item.group not in groups:
                groups.append(item.group)
        keep = set(groups[:limit])
        chosen = [i for i in chosen if i.group in keep]
    return chosen


def image_size(path: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def build_query(item: EvalItem, prompt: str) -> Query:
    text = PROMPTS[prompt](item.question, list(item.options), image_size(item.image_path))
    return Query(item.key, text, item.options, item.image_path, item.question, item.qid)


def fingerprint(query: Query) -> str:
    return hashlib.sha256(f"{query.prompt}\x00{query.options}".encode()).hexdigest()[:16]


def read_answers(path: Path) -> dict[str, dict]:
    """The last record per key; a torn last line (a crash mid-write) is ignored."""
    records: dict[str, dict] = {}
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "key" in record:
            records[str(record["key"])] = record
    return records


def _check_run(out: Path, model: str, prompt: str, data: str) -> None:
    run_file = out / "run.json"
    settings = {"model": model, "prompt": prompt}
    if run_file.is_file():
        before = json.loads(run_file.read_text())
        for name, value in settings.items():
            if before.get(name) != value:
                raise EvaluationError(
                    f"{out} holds answers of {name} {before.get(name)!r}, not {value!r}; "
                    "use another --out folder"
                )
    else:
        write_atomic(run_file, json.dumps({**settings, "data": data}, indent=2).encode())


def _ask(adapter: Adapter, batch: list[Query], answers, handle) -> None:
    outputs = adapter.answer_batch(batch)
    if len(outputs) != len(batch):
        raise EvaluationError(f"the adapter gave {len(outputs)} outputs for {len(batch)} queries")
    for query, output in zip(batch, outputs):
        record = {"key": query.key, "fingerprint": fingerprint(query)}
        if isinstance(output, AnswerError):
            record |= {"status": "error", "output": "", "error": output.message}
        else:
            record |= {"status": "ok", "output": str(output), "error": ""}
        answers[query.key] = record
        handle.write(json.dumps(record) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _result(item: EvalItem, record: dict | None, prompt: str) -> ItemResult:
    if item.problem:
        return ItemResult(item, "", "bad_item", item.problem, "")
    if record is None:
        return ItemResult(item, "", "error", "not answered", "")
    if record["status"] == "error":
        return ItemResult(item, "", "error", record["error"], "")
    output = record["output"]
    if not output.strip():
        return ItemResult(item, "", "empty_output", "the model returned empty text", output)
    parsed = parse_output(output, list(item.options), PROMPT_TAGS.get(prompt, ()))
    if parsed.letter is None:
        detail = "; ".join(parsed.answer_problems) or "no option letter found"
        return ItemResult(item, "", "no_answer", detail, output, parsed.format_ok)
    return ItemResult(item, parsed.letter, "ok", "", output, parsed.format_ok)


def evaluate(
    data: str | Path,
    adapter: Adapter,
    out_dir: str | Path,
    model: str = "model",
    prompt: str = "multiple_choice",
    circular: bool = False,
    batch_size: int = 8,
    limit: int | None = None,
) -> EvalReport:
    if prompt not in PROMPTS:
        raise EvaluationError(f"unknown prompt {prompt!r}; choices: {', '.join(PROMPTS)}")
    if batch_size < 1:
        raise EvaluationError(f"batch_size must be at least 1, got {batch_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_run(out, model, prompt, str(data))
    items = select_items(load_items(data, out / "images"), circular, limit)
    answers = read_answers(out / ANSWERS_FILE)
    pending: list[Query] = []
    for position, item in enumerate(items):
        if item.problem:
            continue
        try:
            query = build_query(item, prompt)
        except (OSError, ValueError) as error:  # unreadable image, empty question ...
            items[position] = replace(item, problem=f"cannot build the prompt: {error}")
            continue
        record = answers.get(item.key)
        if record is not None and record.get("fingerprint") != fingerprint(query):
            raise EvaluationError(
                f"{out / ANSWERS_FILE} holds an answer to item {item.key!r} for another "
                "prompt or data set; use another --out folder"
            )
        if record is None or record.get("status") == "error":
            pending.append(query)
    with open(out / ANSWERS_FILE, "a", encoding="utf-8") as handle:
        for start in range(0, len(pending), batch_size):
            _ask(adapter, pending[start : start + batch_size], answers, handle)
    results = [_result(item, answers.get(item.key), prompt) for item in items]
    scores = score_results(results)
    settings = {"model": model, "data": str(data), "prompt": prompt, "circular": str(circular)}
    write_atomic(out / "scores.csv", scores_csv(scores).encode())
    write_atomic(out / "predictions.csv", predictions_csv(results).encode())
    report = markdown_report("Spatial evaluation", settings, scores, results, circular)
    write_atomic(out / "report.md", report.encode())
    return EvalReport(model, str(data), prompt, circular, str(out), len(pending), scores, results)
