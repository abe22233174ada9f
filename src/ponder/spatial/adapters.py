"""Model adapters for evaluation: one class per kind of model, picked by a prefix.

Every adapter has `answer_batch(queries) -> list[str | AnswerError]`: one raw output text per
query (the evaluator parses the option letter), or an `AnswerError` when that one question
failed (it is recorded, counted wrong and asked again on a resumed run). An adapter raises
`AdapterError` when it cannot go on at all (an unreachable endpoint, an unknown question).

  hf:PATH       a local Hugging Face vision-language model (Qwen2-VL / Qwen2.5-VL), `adapter_hf`
  openai:URL    an OpenAI-compatible chat-completions endpoint (vLLM, ...), `adapter_openai`
  oracle        the explicit 3D solver with perfect perception (ponder sets only)
  random        a seeded uniform guess, the chance baseline
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from ponder.spatial.adapter_base import (
    Adapter,
    AdapterError,
    AdapterOptions,
    AnswerError,
    Query,
    answer_text,
)
from ponder.spatial.adapter_hf import HFAdapter
from ponder.spatial.adapter_openai import OpenAIAdapter
from ponder.spatial.prompts import OPTION_LETTERS

__all__ = [
    "ADAPTERS",
    "Adapter",
    "AdapterError",
    "AdapterOptions",
    "AnswerError",
    "HFAdapter",
    "OpenAIAdapter",
    "OracleAdapter",
    "Query",
    "RandomAdapter",
    "answer_text",
    "make_adapter",
]


class RandomAdapter:
    """Uniform guess per question, seeded by (seed, key): a resumed run guesses the same."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    @classmethod
    def from_spec(cls, argument: str, options: AdapterOptions) -> RandomAdapter:
        return cls(int(argument) if argument else options.seed)

    def answer_batch(self, queries: list[Query]) -> list[str | AnswerError]:
        answers: list[str | AnswerError] = []
        for query in queries:
            pick = random.Random(f"{self.seed}:{query.key}").randrange(len(query.options))
            answers.append(answer_text(OPTION_LETTERS[pick], query.options))
        return answers


class OracleAdapter:
    """The explicit 3D solver: reads `scenes.jsonl` and `questions.jsonl` of a ponder set and
    answers every copy of a question (options in any order) from the 3D scene."""

    def __init__(self, folder: str | Path):
        from ponder.spatial.questions import Question
        from ponder.spatial.scene import scene_from_dict
        from ponder.spatial.solver import ExplicitSolver

        folder = Path(folder)
        missing = [n for n in ("scenes.jsonl", "questions.jsonl") if not (folder / n).is_file()]
        if missing:
            raise AdapterError(
                f"the oracle needs {' and '.join(missing)} in {folder} "
                "(a folder written by `ponder spatial generate`)"
            )
        scenes = [
            scene_from_dict(json.loads(x)) for x in (folder / "scenes.jsonl").open() if x.strip()
        ]
        self.solver = ExplicitSolver(scenes)
        self.questions = {}
        for line in (folder / "questions.jsonl").open():
            if line.strip():
                question = Question.from_dict(json.loads(line))
                self.questions[question.qid] = question

    @classmethod
    def from_spec(cls, argument: str, options: AdapterOptions) -> OracleAdapter:
        if argument:
            return cls(argument)
        data = Path(options.data_path)
        return cls(data if data.is_dir() else data.parent)

    def answer_batch(self, queries: list[Query]) -> list[str | AnswerError]:
        answers: list[str | AnswerError] = []
        for query in queries:
            question = self.questions.get(query.qid)
            if question is None:
                raise AdapterError(f"the oracle knows no question with qid {query.qid!r}")
            value_of = dict(zip(question.options, question.option_values))
            if set(query.options) != set(value_of):
                raise AdapterError(
                    f"options {list(query.options)} of {query.qid!r} differ from the set's "
                    f"{list(question.options)}"
                )
            shown = replace(
                question,
                options=query.options,
                option_values=tuple(value_of[o] for o in query.options),
            )
            letter, trace = self.solver.answer(shown)
            answers.append(f"<think>{trace}</think>\n{answer_text(letter, query.options)}")
        return answers


# prefix -> class; `cls.from_spec(argument after "prefix:", options)` builds one. The hf
# adapter imports torch and transformers only when it is built.
ADAPTERS: dict[str, type] = {
    "hf": HFAdapter,
    "openai": OpenAIAdapter,
    "oracle": OracleAdapter,
    "random": RandomAdapter,
}


def make_adapter(spec: str, options: AdapterOptions | None = None) -> Adapter:
    """`hf:PATH`, `openai:URL`, `oracle[:FOLDER]`, `random[:SEED]` -> an adapter."""
    prefix, _, argument = spec.partition(":")
    if prefix not in ADAPTERS:
        raise AdapterError(
            f"unknown model {spec!r}; expected one of "
            "hf:PATH, openai:URL, oracle, random (prefixes: " + ", ".join(ADAPTERS) + ")"
        )
    if prefix in ("hf", "openai") and not argument:
        raise AdapterError(f"model {spec!r} needs a {'path' if prefix == 'hf' else 'URL'}")
    return ADAPTERS[prefix].from_spec(argument, options or AdapterOptions())
