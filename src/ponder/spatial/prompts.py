"""Prompt templates for spatial multiple-choice questions.

Every template is a function ``(question, options, image_size) -> str``:

- ``spatialthinker_prompt``: observe / scene / think / answer tags (SpatialThinker,
  arXiv 2511.07403); the scene tag holds a JSON scene graph whose boxes are in pixels of the
  stated image size.
- ``spatialreasoner_prompt``: think / answer tags with explicit 3D reasoning (SpatialReasoner,
  arXiv 2504.20024): camera-centred frame with +x left, +y up, +z forward; 3D locations,
  vectors, directions, cosine similarities and angles.
- ``multiple_choice_prompt``: the question and options only, answer with the letter.

Options are rendered one per line as ``(A) first option``. ``PROMPTS`` names the templates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

SCENE_JSON_EXAMPLE = (
    '{"objects": [{"id": "man.1", "bbox": [x1, y1, x2, y2]}, '
    '{"id": "bike.1", "bbox": [x1, y1, x2, y2]}], '
    '"relationships": [{"subject": "man.1", "predicate": "behind", "object": "bike.1"}]}'
)


def check_prompt_inputs(
    question: str, options: Sequence[str], image_size: tuple[int, int]
) -> tuple[str, list[str], tuple[int, int]]:
    """Validate the inputs shared by every template; return them cleaned (stripped, tuples).

    Raises ValueError naming the bad value: an empty question, fewer than 2 or more than 26
    options, an empty or non-string option, an image size that is not two positive integers.
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"question must be a non-empty string, got {question!r}")
    if isinstance(options, str) or not isinstance(options, Sequence):
        raise ValueError(f"options must be a list of strings, got {options!r}")
    if not 2 <= len(options) <= len(OPTION_LETTERS):
        raise ValueError(
            f"need between 2 and {len(OPTION_LETTERS)} options, got {len(options)}: {options!r}"
        )
    cleaned = []
    for index, option in enumerate(options):
        if not isinstance(option, str) or not option.strip():
            raise ValueError(f"option {index} must be a non-empty string, got {option!r}")
        cleaned.append(" ".join(option.split()))
    size = tuple(image_size) if isinstance(image_size, Sequence) else image_size
    if (
        not isinstance(size, tuple)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        raise ValueError(
            f"image_size must be (width, height) positive integers, got {image_size!r}"
        )
    return question.strip(), cleaned, (size[0], size[1])


def format_options(options: Sequence[str]) -> str:
    """One option a line: ``(A) left`` / ``(B) right``."""
    return "\n".join(f"({OPTION_LETTERS[i]}) {option}" for i, option in enumerate(options))


def option_letters(num_options: int) -> str:
    """The letters naming ``num_options`` options: 3 -> 'ABC'."""
    if not 1 <= num_options <= len(OPTION_LETTERS):
        raise ValueError(f"num_options must be in 1..{len(OPTION_LETTERS)}, got {num_options}")
    return OPTION_LETTERS[:num_options]


def _letter_list(num_options: int) -> str:
    letters = option_letters(num_options)
    return ", ".join(letters[:-1]) + f" or {letters[-1]}"


def spatialthinker_prompt(
    question: str, options: Sequence[str], image_size: tuple[int, int]
) -> str:
    """SpatialThinker format: observe, scene graph JSON in pixels, think, answer."""
    question, options, (width, height) = check_prompt_inputs(question, options, image_size)
    return (
        f"The image is {width} pixels wide and {height} pixels high; give every bounding box as "
        f"[x1, y1, x2, y2] in pixels of this {width}x{height} image, with x1 < x2 and y1 < y2.\n"
        f"Question: {question}\n"
        f"Options:\n{format_options(options)}\n\n"
        "First describe what you see that matters for the question inside <observe> </observe>. "
        "Then write the scene graph of the relevant objects and their spatial relations as JSON "
        "inside <scene> </scene>, in this form:\n"
        f"{SCENE_JSON_EXAMPLE}\n"
        "Object ids are name.number (man.1, man.2, bike.1); relationships name those ids. "
        "Then reason step by step inside <think> </think>. "
        "Finally give the option inside <answer> </answer>, as the letter in brackets followed "
        f"by the option text, for example <answer>(B) {options[1]}</answer>.\n"
        "Use each tag exactly once, in the order observe, scene, think, answer."
    )


def spatialreasoner_prompt(
    question: str, options: Sequence[str], image_size: tuple[int, int]
) -> str:
    """SpatialReasoner format: explicit 3D reasoning inside think, the option inside answer."""
    question, options, (width, height) = check_prompt_inputs(question, options, image_size)
    return (
        f"The image is {width}x{height} pixels.\n"
        f"Question: {question}\n"
        f"Options:\n{format_options(options)}\n\n"
        "Reason in 3D inside <think> </think>. Use a camera-centred frame aligned with gravity: "
        "+x points left, +y points up, +z points forward away from the camera. "
        "State the 3D location (x, y, z) of each relevant object; the vector from one object to "
        "another; the front or left direction of an object where orientation matters; the "
        "cosine similarity between the vectors and directions you compare, and the angle in "
        "degrees; then decide with thresholds, for example an angle above 90 degrees means "
        "the opposite side. "
        "Then give the answer inside <answer> </answer> as the letter "
        f"({_letter_list(len(options))}) in brackets, "
        f"for example <answer>(A) {options[0]}</answer>."
    )


def multiple_choice_prompt(
    question: str, options: Sequence[str], image_size: tuple[int, int]
) -> str:
    """Plain multiple choice: the question, the options, answer with the letter only."""
    question, options, _ = check_prompt_inputs(question, options, image_size)
    return (
        f"Question: {question}\n"
        f"Options:\n{format_options(options)}\n"
        f"Answer with the option's letter ({_letter_list(len(options))}) only."
    )


PromptTemplate = Callable[[str, Sequence[str], tuple[int, int]], str]

PROMPTS: dict[str, PromptTemplate] = {
    "spatialthinker": spatialthinker_prompt,
    "spatialreasoner": spatialreasoner_prompt,
    "multiple_choice": multiple_choice_prompt,
}

# The tags each template asks for, in order; the parser checks these for the format reward.
PROMPT_TAGS: dict[str, tuple[str, ...]] = {
    "spatialthinker": ("observe", "scene", "think", "answer"),
    "spatialreasoner": ("think", "answer"),
    "multiple_choice": (),
}
