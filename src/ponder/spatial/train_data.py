"""Training examples and rewards for GRPO on spatial questions.

`load_train_examples(path, prompt)` reads `Question.to_dict` records (a folder written by
`ponder spatial generate`, or any JSONL of such records with images relative to its folder)
and renders each question with a prompt template. `REWARDS` maps a name to a function
`(completion text, example) -> float`, built on `ponder.spatial.rewards`:

  total            SpatialThinker's gated dense reward 0.1 f + 0.2 c + 0.5 a + 0.2 s
  format, count, accuracy, spatial   one component of it (ungated)
  sparse           accuracy + format (the tags of the prompt, think/answer by default)
  spatialreasoner  accuracy + format + 0.5 process (3D phrases in the reasoning)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ponder.spatial.prompts import PROMPT_TAGS, PROMPTS
from ponder.spatial.rewards import (
    SPATIALREASONER_WEIGHTS,
    sparse_reward,
    spatialthinker_reward,
)


@dataclass(frozen=True)
class TrainExample:
    prompt: str  # the rendered prompt
    options: tuple[str, ...]
    answer: str  # the correct letter
    image_path: str = ""  # absolute; "" for a text-only example
    image_size: tuple[int, int] = (1, 1)  # (width, height) of the image in pixels
    gold_scene: dict = field(default_factory=dict)  # SpatialThinker JSON, pixel boxes
    tags: tuple[str, ...] = ("think", "answer")  # the tags the prompt asks for
    qid: str = ""


def load_train_examples(path: str | Path, prompt: str = "spatialthinker") -> list[TrainExample]:
    from PIL import Image

    if prompt not in PROMPTS:
        raise ValueError(f"unknown prompt {prompt!r}; choices: {', '.join(PROMPTS)}")
    path = Path(path)
    file = path / "questions.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise ValueError(f"no questions file at {file}")
    examples = []
    for number, line in enumerate(file.open(encoding="utf-8"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text, options, answer = record["question"], tuple(record["options"]), record["answer"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{file}:{number}: not a question record ({error})") from error
        image_path = str((file.parent / record["image_path"]).resolve())
        with Image.open(image_path) as image:
            size = image.size
        examples.append(
            TrainExample(
                prompt=PROMPTS[prompt](text, list(options), size),
                options=options,
                answer=answer,
                image_path=image_path,
                image_size=size,
                gold_scene=record.get("gold_scene") or {},
                tags=PROMPT_TAGS[prompt] or ("think", "answer"),
                qid=record.get("qid", ""),
            )
        )
    if not examples:
        raise ValueError(f"{file} holds no questions")
    return examples


def _dense(text: str, ex: TrainExample):
    return spatialthinker_reward(text, ex.options, ex.answer, ex.gold_scene, ex.image_size)


REWARDS: dict[str, Callable[[str, TrainExample], float]] = {
    "total": lambda text, ex: _dense(text, ex).total,
    "format": lambda text, ex: _dense(text, ex).format,
    "count": lambda text, ex: _dense(text, ex).count,
    "accuracy": lambda text, ex: _dense(text, ex).accuracy,
    "spatial": lambda text, ex: _dense(text, ex).spatial,
    "sparse": lambda text, ex: (
        sparse_reward(text, ex.options, ex.answer, required_tags=ex.tags).total
    ),
    "spatialreasoner": lambda text, ex: (
        sparse_reward(
            text, ex.options, ex.answer, required_tags=ex.tags, weights=SPATIALREASONER_WEIGHTS
        ).total
    ),
}
