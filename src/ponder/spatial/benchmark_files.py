"""Load multiple-choice benchmark files as `EvalItem`s: VLMEvalKit TSVs and ponder's own sets.

Accepted inputs (`load_items(path)`):
  - a folder written by `ponder spatial generate` (its `questions.jsonl`; circular copies are
    made on the fly with `export.circular_rows`, so they exist even for `--no-circular` sets);
  - a `.jsonl` file of `Question.to_dict` records (images relative to the file's folder);
  - a `.tsv` file in the VLMEvalKit layout: columns `index`, `question`, option columns `A`,
    `B`, ... (empty cells mean fewer options), `answer` (a letter), optional `category`
    (subtype), `l2-category` (type), `benchmark`/`split`, `qid`, `g_index`, and the image either
    as a path (`image_path`, relative to the TSV's folder) or base64 in `image` (VLMEvalKit: a
    short cell holding another row's `index` reuses that row's image). Base64 images are
    written once to `image_dir` so that every model reads a file.

Circular groups (a group scores only if every copy is answered right):
  - a `g_index` column (ponder's TSV): the group is `g_index`, the original row has
    `index == g_index`;
  - a `qid` column (3DSRBench: `abcd1234`, `abcd1234-1`, `abcd1234-flip`, `abcd1234-flip-2`):
    the group is the part before the first `-`, the original row has no suffix; option
    rotations and flipped-image copies all join the group;
  - otherwise the MMBench convention: group `index % 1_000_000`, copy `index // 1_000_000`.
"""

from __future__ import annotations

import ast
import base64
import binascii
import csv
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ponder.spatial.export import CIRCULAR_STRIDE, circular_rows
from ponder.spatial.questions import Question

LETTERS = "ABCDEFGHIJ"
REQUIRED_COLUMNS = ("index", "question", "A", "B", "answer")
IMAGE_SUFFIXES = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"GIF8": ".gif", b"RIFF": ".webp"}


class BenchmarkFormatError(ValueError):
    """A benchmark file that cannot be read; the message names the file, line and value."""


@dataclass(frozen=True)
class EvalItem:
    key: str  # unique per row (the TSV index): the cache key of the answer
    group: str  # circular group: every copy of one question
    copy: int  # 0 for the original row, > 0 for rotated or flipped copies
    question: str
    options: tuple[str, ...]  # in letter order A, B, ...
    answer: str  # the correct letter
    category: str  # subtype (3DSRBench `category`, e.g. location_above)
    l2_category: str  # type (3DSRBench `l2-category`, e.g. location)
    benchmark: str
    image_path: str  # absolute path, or "" when the row has no image
    qid: str = ""
    problem: str = ""  # why the item cannot be asked ("" when it can): counted wrong, listed

    @property
    def is_original(self) -> bool:
        return self.copy == 0


def load_items(path: str | Path, image_dir: str | Path | None = None) -> list[EvalItem]:
    """Every row of a benchmark file (see the module docstring), in file order."""
    path = Path(path)
    if path.is_dir():
        if (path / "questions.jsonl").is_file():
            return _jsonl_items(path / "questions.jsonl")
        if (path / "questions.tsv").is_file():
            return _tsv_items(path / "questions.tsv", image_dir)
        raise BenchmarkFormatError(f"{path} holds neither questions.jsonl nor questions.tsv")
    if not path.is_file():
        raise BenchmarkFormatError(f"no benchmark file or folder at {path}")
    if path.suffix == ".jsonl":
        return _jsonl_items(path)
    if path.suffix == ".tsv":
        return _tsv_items(path, image_dir)
    raise BenchmarkFormatError(f"unknown benchmark file type {path.suffix!r} of {path}")


def _jsonl_items(path: Path) -> list[EvalItem]:
    rows, g_index = [], 0
    for number, line in enumerate(path.open(encoding="utf-8"), start=1):
        if not line.strip():
            continue
        try:
            question = Question.from_dict(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise BenchmarkFormatError(
                f"{path}:{number}: not a question record ({error})"
            ) from error
        rows.extend(circular_rows(question, g_index))
        g_index += 1
    return _rows_to_items(rows, path, path.parent, None)


def _tsv_items(path: Path, image_dir: str | Path | None) -> list[EvalItem]:
    csv.field_size_limit(sys.maxsize)  # base64 images make very long cells
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise BenchmarkFormatError(
                f"{path}: missing column(s) {missing}; found {reader.fieldnames}"
            )
        rows = []
        for row in reader:
            if None in row or None in row.values():
                raise BenchmarkFormatError(
                    f"{path}:{reader.line_num}: expected {len(reader.fieldnames)} tab-separated "
                    f"fields, got a row of another length"
                )
            rows.append(row)
    return _rows_to_items(rows, path, path.parent, Path(image_dir) if image_dir else None)


def _group_and_copy(row: dict, index: int) -> tuple[str, int]:
    if row.get("g_index", "") != "":
        group = int(row["g_index"])
        return str(group), (index - group) // CIRCULAR_STRIDE
    qid = row.get("qid", "")
    if qid:
        base, _, suffix = qid.partition("-")
        return base, 1 if suffix else 0
    return str(index % CIRCULAR_STRIDE), index // CIRCULAR_STRIDE


def _rows_to_items(rows: list[dict], path: Path, root: Path, image_dir: Path | None):
    images = {str(r["index"]): r.get("image", "") for r in rows}
    items, seen = [], set()
    for number, row in enumerate(rows, start=1):
        where = f"{path}: row {number} (index {row.get('index')!r})"
        try:
            index = int(str(row["index"]).strip())
        except ValueError as error:
            raise BenchmarkFormatError(f"{where}: index is not an integer") from error
        if str(index) in seen:
            raise BenchmarkFormatError(f"{where}: index {index} appears twice")
        seen.add(str(index))
        options = []
        for letter in LETTERS:
            value = str(row.get(letter, "") or "").strip()
            if not value or value.lower() == "nan":
                break
            options.append(value)
        if len(options) < 2:
            raise BenchmarkFormatError(f"{where}: fewer than two options")
        answer = str(row["answer"]).strip()
        if answer not in LETTERS[: len(options)]:
            raise BenchmarkFormatError(
                f"{where}: answer {answer!r} is not one of the letters "
                f"{list(LETTERS[: len(options)])}"
            )
        group, copy = _group_and_copy(row, index)
        image_path, problem = _image_of(row, images, root, image_dir)
        items.append(
            EvalItem(
                key=str(index),
                group=group,
                copy=copy,
                question=str(row["question"]),
                options=tuple(options),
                answer=answer,
                category=str(row.get("category", "") or ""),
                l2_category=str(row.get("l2-category", "") or ""),
                benchmark=str(row.get("benchmark", "") or row.get("split", "") or ""),
                image_path=image_path,
                qid=str(row.get("qid", "") or ""),
                problem=problem,
            )
        )
    return items


def _image_of(row: dict, images: dict, root: Path, image_dir: Path | None) -> tuple[str, str]:
    """(absolute image path, problem): a missing image is a per-question problem, not a crash."""
    relative = str(row.get("image_path", "") or "").strip()
    if relative.startswith("["):  # VLMEvalKit writes lists of paths as Python literals
        try:
            relative = str(ast.literal_eval(relative)[0])
        except (ValueError, SyntaxError, IndexError):
            return "", f"unreadable image_path {relative!r}"
    encoded = str(row.get("image", "") or "").strip()
    if encoded and len(encoded) <= 64 and encoded in images:  # a reference to another row
        encoded = str(images[encoded]).strip()
    if encoded and image_dir is not None:
        return _decoded_image(encoded, image_dir)
    if encoded and not relative:
        return "", "base64 image given but no image folder to write it to"
    if not relative:
        return "", "no image (neither image_path nor image)"
    image = (root / relative).resolve()
    if not image.is_file():
        return str(image), f"missing image {image}"
    return str(image), ""


def _decoded_image(encoded: str, image_dir: Path) -> tuple[str, str]:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return "", "the image column is not valid base64"
    suffix = next((s for magic, s in IMAGE_SUFFIXES.items() if data.startswith(magic)), ".img")
    target = image_dir / (hashlib.sha256(data).hexdigest()[:24] + suffix)
    if not target.is_file():
        image_dir.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(data)
        temporary.replace(target)
    return str(target), ""
