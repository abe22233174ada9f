"""Write a question set to disk: PNG images, JSONL (scenes, questions) and a VLMEvalKit TSV.

Layout of `out_dir`:
  images/<scene_id>.png   rendered scenes
  scenes.jsonl            one full 3D scene per line (`scene.scene_to_dict`)
  questions.jsonl         one question per line (`Question.to_dict`), with trace and gold graph
  questions.tsv           VLMEvalKit-style multiple choice, with circular copies (see below)
  manifest.json           counts, seed, families; written last, so its presence marks a
                          complete set
Every file is written to a temporary name in the same folder and renamed into place, so no
reader ever sees a half-written file.

TSV columns: index, g_index, question, A, B, C, D, answer, category, l2-category, benchmark,
family, image_path, qid, scene_id. Circular copy k (k = 0 .. n_options - 1) rotates the
options left by k; its index is g_index + k * 1_000_000 (the MMBench convention, so
index % 1_000_000 groups the copies), and g_index holds the original index explicitly.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ponder.spatial.families import resolve_families
from ponder.spatial.generate import SceneConfig, generate_scene
from ponder.spatial.geometry import visible_fractions
from ponder.spatial.questions import Question, make_question
from ponder.spatial.render import render_png
from ponder.spatial.scene import scene_to_dict
from ponder.spatial.solver import LETTERS

CIRCULAR_STRIDE = 1_000_000
TSV_COLUMNS = (
    "index",
    "g_index",
    "question",
    "A",
    "B",
    "C",
    "D",
    "answer",
    "category",
    "l2-category",
    "benchmark",
    "family",
    "image_path",
    "qid",
    "scene_id",
)


@dataclass(frozen=True)
class ExportSummary:
    out_dir: str
    n_requested: int
    n_questions: int
    n_scenes: int
    n_tsv_rows: int
    per_family: dict[str, int]


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it onto `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def circular_rows(question: Question, g_index: int, circular: bool = True) -> list[dict]:
    """TSV rows of one question: the original and (if circular) its rotated-option copies."""
    n = len(question.options)
    correct = LETTERS.index(question.answer)
    rows = []
    for k in range(n if circular else 1):
        rotated = question.options[k:] + question.options[:k]
        row = {
            "index": g_index + k * CIRCULAR_STRIDE,
            "g_index": g_index,
            "question": question.text,
            "answer": LETTERS[(correct - k) % n],
            "category": question.category,
            "l2-category": question.l2_category,
            "benchmark": question.benchmark,
            "family": question.family,
            "image_path": question.image_path,
            "qid": question.qid,
            "scene_id": question.scene_id,
        }
        for j, letter in enumerate(LETTERS):
            row[letter] = rotated[j] if j < n else ""
        rows.append(row)
    return rows


def tsv_text(questions: list[Question], circular: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=TSV_COLUMNS,
        delimiter="\t",
        lineterminator="\n",
        quoting=csv.QUOTE_MINIMAL,
    )
    writer.writeheader()
    for g_index, question in enumerate(questions):
        writer.writerows(circular_rows(question, g_index, circular))
    return buffer.getvalue()


def _jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()


def build_questions(
    n_questions: int,
    families: list[str] | None,
    seed: int,
    questions_per_scene: int = 4,
    scene_config: SceneConfig | None = None,
):
    """(scenes, questions): scenes generated until `n_questions` exist, families balanced.

    Scene k uses the generator seeded with (seed, k), so a set is reproducible from its seed.
    Each scene gets at most `questions_per_scene` questions, from the families made least so
    far. Stops early (fewer questions) when 50 scenes in a row give nothing new.
    """
    if n_questions < 1:
        raise ValueError(f"n_questions must be at least 1, got {n_questions}")
    if questions_per_scene < 1:
        raise ValueError(f"questions_per_scene must be at least 1, got {questions_per_scene}")
    names = resolve_families(families)
    counts = dict.fromkeys(names, 0)
    scenes, questions, barren = [], [], 0
    k = 0
    while len(questions) < n_questions and barren < 50:
        scene = generate_scene(np.random.default_rng([seed, k]), scene_config, f"scene_{k:05d}")
        rng = np.random.default_rng([seed, k, 1])
        visible = visible_fractions(scene)
        order = sorted(names, key=lambda n: (counts[n], (names.index(n) - k) % len(names)))
        made = []
        for name in order:
            if len(made) >= min(questions_per_scene, n_questions - len(questions)):
                break
            question = make_question(scene, name, rng, visible, f"{scene.scene_id}-{name}")
            if question is not None:
                made.append(question)
                counts[name] += 1
        barren = 0 if made else barren + 1
        if made:
            scenes.append(scene)
            questions.extend(made)
        k += 1
    return scenes, questions


def export_dataset(
    out_dir: str | Path,
    n_questions: int,
    families: list[str] | None = None,
    seed: int = 0,
    questions_per_scene: int = 4,
    circular: bool = True,
    scene_config: SceneConfig | None = None,
    supersample: int = 1,
) -> ExportSummary:
    """Generate, render and write a question set (see the module docstring for the layout)."""
    out = Path(out_dir)
    scenes, questions = build_questions(
        n_questions, families, seed, questions_per_scene, scene_config
    )
    questions = [replace(q, image_path=f"images/{q.scene_id}.png") for q in questions]
    for scene in scenes:
        write_atomic(out / "images" / f"{scene.scene_id}.png", render_png(scene, supersample))
    write_atomic(out / "scenes.jsonl", _jsonl([scene_to_dict(s) for s in scenes]))
    write_atomic(out / "questions.jsonl", _jsonl([q.to_dict() for q in questions]))
    tsv = tsv_text(questions, circular)
    write_atomic(out / "questions.tsv", tsv.encode())
    per_family: dict[str, int] = {}
    for q in questions:
        per_family[q.family] = per_family.get(q.family, 0) + 1
    summary = ExportSummary(
        str(out), n_questions, len(questions), len(scenes), tsv.count("\n") - 1, per_family
    )
    manifest = {
        **summary.__dict__,
        "seed": seed,
        "families": resolve_families(families),
        "questions_per_scene": questions_per_scene,
        "circular": circular,
    }
    write_atomic(out / "manifest.json", json.dumps(manifest, indent=2).encode())
    return summary
