"""Prompt templates: options as '(A) ...', the image size line, the tags each asks for."""

import pytest

from ponder.spatial.prompts import (
    PROMPT_TAGS,
    PROMPTS,
    format_options,
    multiple_choice_prompt,
    option_letters,
    spatialreasoner_prompt,
    spatialthinker_prompt,
)

QUESTION = "Is the man in front of or behind the bike?"
OPTIONS = ["in front of the bike", "behind the bike"]


def test_options_render_one_per_line_with_bracketed_letters():
    assert format_options(["left", "right", "above"]) == "(A) left\n(B) right\n(C) above"
    assert option_letters(4) == "ABCD"


def test_spatialthinker_prompt_states_image_size_and_all_four_tags():
    prompt = spatialthinker_prompt(QUESTION, OPTIONS, (640, 480))
    assert "640 pixels wide and 480 pixels high" in prompt
    assert "640x480" in prompt
    assert "(A) in front of the bike\n(B) behind the bike" in prompt
    for tag in ("observe", "scene", "think", "answer"):
        assert f"<{tag}>" in prompt and f"</{tag}>" in prompt
    assert '"relationships"' in prompt and "name.number" in prompt
    assert prompt.index("<observe>") < prompt.index("<scene>") < prompt.index("<think>")


def test_spatialreasoner_prompt_describes_the_3d_frame_and_quantities():
    prompt = spatialreasoner_prompt(QUESTION, OPTIONS, (640, 480))
    for phrase in (
        "+x points left",
        "+y points up",
        "+z points forward",
        "3D location",
        "vector",
        "direction",
        "cosine",
        "angle",
        "<think>",
        "<answer>",
    ):
        assert phrase in prompt, phrase
    assert "<observe>" not in prompt and "<scene>" not in prompt
    assert "(A or B)" in prompt


def test_multiple_choice_prompt_is_question_options_and_letter_instruction():
    prompt = multiple_choice_prompt(QUESTION, ["left", "right", "above"], (10, 10))
    assert prompt == (
        f"Question: {QUESTION}\nOptions:\n(A) left\n(B) right\n(C) above\n"
        "Answer with the option's letter (A, B or C) only."
    )


def test_every_named_template_takes_the_same_arguments_and_names_its_tags():
    assert (
        set(PROMPTS) == set(PROMPT_TAGS) == {"spatialthinker", "spatialreasoner", "multiple_choice"}
    )
    for name, template in PROMPTS.items():
        prompt = template(QUESTION, OPTIONS, (320, 240))
        assert QUESTION in prompt and "(B) behind the bike" in prompt
        for tag in PROMPT_TAGS[name]:
            assert f"<{tag}>" in prompt


def test_option_whitespace_is_collapsed():
    assert "(A) on the\tleft" not in multiple_choice_prompt("Q?", [" on the\tleft ", "b"], (1, 1))
    assert "(A) on the left" in multiple_choice_prompt("Q?", [" on the\tleft ", "b"], (1, 1))


@pytest.mark.parametrize(
    ("question", "options", "image_size", "message"),
    [
        ("", OPTIONS, (64, 64), "question"),
        (QUESTION, ["only one"], (64, 64), "between 2 and 26"),
        (QUESTION, "AB", (64, 64), "list of strings"),
        (QUESTION, ["a", ""], (64, 64), "option 1"),
        (QUESTION, ["a", 3], (64, 64), "option 1"),
        (QUESTION, OPTIONS, (0, 64), "image_size"),
        (QUESTION, OPTIONS, (64.0, 64), "image_size"),
        (QUESTION, OPTIONS, (64,), "image_size"),
    ],
)
def test_bad_inputs_are_errors_naming_the_value(question, options, image_size, message):
    for template in PROMPTS.values():
        with pytest.raises(ValueError, match=message):
            template(question, options, image_size)
