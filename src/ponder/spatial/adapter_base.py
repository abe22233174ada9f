"""Types shared by the model adapters (see `ponder.spatial.adapters`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ponder.spatial.prompts import OPTION_LETTERS


@dataclass(frozen=True)
class Query:
    key: str  # the item's cache key
    prompt: str  # the full text shown to the model (a prompt template applied to the question)
    options: tuple[str, ...]  # option texts in letter order
    image_path: str  # absolute path of the image
    question: str = ""  # the bare question
    qid: str = ""  # ponder's question id (the oracle finds the question by it)


@dataclass(frozen=True)
class AnswerError:
    """One question failed (after retries); the message says why."""

    message: str


class AdapterError(RuntimeError):
    """The adapter cannot go on (unreachable endpoint, unknown question, bad model path)."""


@dataclass(frozen=True)
class AdapterOptions:
    data_path: str = ""  # the benchmark file or folder (the oracle reads scenes beside it)
    model_name: str = ""  # openai: the served model's name
    dtype: str = "auto"  # hf: auto | bfloat16 | float16 | float32
    device: str = "auto"  # hf: auto | cpu | cuda | cuda:1 ...
    max_new_tokens: int = 512
    timeout_s: float = 120.0  # openai: per request
    retries: int = 3  # openai: extra attempts after a failed request
    backoff_s: float = 1.0  # openai: first wait between attempts (doubles each time)
    seed: int = 0  # random


class Adapter(Protocol):
    def answer_batch(self, queries: list[Query]) -> list[str | AnswerError]: ...


def answer_text(letter: str, options: tuple[str, ...]) -> str:
    return f"<answer>({letter}) {options[OPTION_LETTERS.index(letter)]}</answer>"
