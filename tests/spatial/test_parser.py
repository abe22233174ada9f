"""The output parser: exact on real-looking outputs, never raising on any text."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ponder.spatial.parser import (
    LETTERS,
    SPATIALREASONER_TAGS,
    SPATIALTHINKER_TAGS,
    ParsedOutput,
    TagCount,
    choose_option,
    parse_output,
    parse_scene_json,
    scan_tags,
    validate_scene_graph,
)

BIKE = ["in front of the bike", "behind the bike"]
SIDES = ["left", "right", "above", "below"]
CORNERS = ["left", "front left", "right", "behind"]

SCENE = json.dumps(
    {
        "objects": [
            {"id": "man.1", "bbox": [120, 40, 260, 400]},
            {"id": "bike.1", "bbox": [200, 220, 520, 430]},
        ],
        "relationships": [{"subject": "man.1", "predicate": "behind", "object": "bike.1"}],
    }
)


def thinker(answer: str) -> str:
    """A Qwen-style SpatialThinker output with the given answer block content."""
    return (
        "<observe>\nA man stands next to a red bike on a street; the bike's front wheel is "
        "closer to the camera than the man.\n</observe>\n"
        f"<scene>\n{SCENE}\n</scene>\n"
        "<think>\nThe bike's box reaches lower in the image (y2 = 430) than the man's "
        "(y2 = 400), so the bike is closer to the camera. Option (A) says in front, option (B) "
        "says behind. The man is farther away, so he is behind the bike.\n</think>\n"
        f"<answer>{answer}</answer>"
    )


REASONER = (
    "<think>The location of the mug is (0.21, -0.10, 1.35) and the location of the laptop is "
    "(-0.05, -0.08, 1.40). The vector from the laptop to the mug is (0.26, -0.02, -0.05). The "
    "left direction of the camera frame is (1, 0, 0). The cosine similarity is 0.98, the angle "
    "is 11.5 degrees < 90 degrees, so the mug is on the left of the laptop.</think>\n"
    "<answer>(A) left</answer>"
)

# (text, options, required tags, letter, rule, region, format_ok)
TABLE = [
    (
        thinker("(B) behind the bike"),
        BIKE,
        SPATIALTHINKER_TAGS,
        "B",
        "bracketed",
        "answer_tag",
        True,
    ),
    (thinker("B"), BIKE, SPATIALTHINKER_TAGS, "B", "leading", "answer_tag", True),
    (thinker("B. behind the bike"), BIKE, SPATIALTHINKER_TAGS, "B", "leading", "answer_tag", True),
    (thinker("B) behind"), BIKE, SPATIALTHINKER_TAGS, "B", "leading", "answer_tag", True),
    (thinker("B behind the bike"), BIKE, SPATIALTHINKER_TAGS, "B", "leading", "answer_tag", True),
    (thinker("Answer: B"), BIKE, SPATIALTHINKER_TAGS, "B", "marker", "answer_tag", True),
    (thinker(" b "), BIKE, SPATIALTHINKER_TAGS, "B", "leading", "answer_tag", True),
    (thinker("behind the bike"), BIKE, SPATIALTHINKER_TAGS, "B", "option_text", "answer_tag", True),
    (
        thinker("The man is behind the bike."),
        BIKE,
        SPATIALTHINKER_TAGS,
        "B",
        "option_text",
        "answer_tag",
        True,
    ),
    (
        thinker("A man is in front of the bike."),
        BIKE,
        SPATIALTHINKER_TAGS,
        "A",
        "option_text",
        "answer_tag",
        True,
    ),
    (thinker("I choose B"), BIKE, SPATIALTHINKER_TAGS, "B", "bare", "answer_tag", True),
    (
        thinker("（Ｂ） behind the bike"),
        BIKE,
        SPATIALTHINKER_TAGS,
        "B",
        "bracketed",
        "answer_tag",
        True,
    ),
    # two letters inside the answer: ambiguous, no letter
    (thinker("(A) or (B)"), BIKE, SPATIALTHINKER_TAGS, None, None, None, True),
    # both option texts inside the answer: ambiguous
    (
        thinker("not in front of the bike but behind the bike"),
        BIKE,
        SPATIALTHINKER_TAGS,
        None,
        None,
        None,
        True,
    ),
    # a letter that is not an option: nothing
    (thinker("(E)"), SIDES, SPATIALTHINKER_TAGS, None, None, None, True),
    # the answer names no option: read the whole text; its last marker says option (B)
    (thinker("I am not sure."), BIKE, SPATIALTHINKER_TAGS, "B", "marker", "whole_text", True),
    (REASONER, SIDES, SPATIALREASONER_TAGS, "A", "bracketed", "answer_tag", True),
    # the SpatialReasoner output lacks observe and scene for the SpatialThinker format
    (REASONER, SIDES, SPATIALTHINKER_TAGS, "A", "bracketed", "answer_tag", False),
    (
        "<think>Mug left of laptop.</think>\n\\boxed{C}",
        SIDES,
        SPATIALREASONER_TAGS,
        "C",
        "marker",
        "whole_text",
        False,
    ),
    (
        "<think>It is on the left.</think><answer>(A) left",
        SIDES,
        SPATIALREASONER_TAGS,
        "A",
        "bracketed",
        "answer_tag",
        False,
    ),
    (
        "<think>It is lower.</think> (D) below</answer>",
        SIDES,
        SPATIALREASONER_TAGS,
        "D",
        "bracketed",
        "answer_tag",
        False,
    ),
    (
        "<think><think>hmm</think></think><answer>(A)</answer>",
        SIDES,
        SPATIALREASONER_TAGS,
        "A",
        "bracketed",
        "answer_tag",
        False,
    ),
    (
        "<answer>(B)</answer><think>done</think>",
        SIDES,
        SPATIALREASONER_TAGS,
        "B",
        "bracketed",
        "answer_tag",
        False,
    ),
    (
        "<think>x</think><answer>(A)</answer> wait <answer>(B) right</answer>",
        SIDES,
        SPATIALREASONER_TAGS,
        "B",
        "bracketed",
        "answer_tag",
        False,
    ),
    (
        "<THINK>fine</THINK>< answer >C</ answer >",
        SIDES,
        SPATIALREASONER_TAGS,
        "C",
        "leading",
        "answer_tag",
        True,
    ),
    # plain multiple choice, no tags required
    (
        "The man is standing behind the bike, so the answer is (B).",
        BIKE,
        (),
        "B",
        "marker",
        "whole_text",
        True,
    ),
    ("B", BIKE, (), "B", "leading", "whole_text", True),
    ("B. behind the bike", BIKE, (), "B", "leading", "whole_text", True),
    ("**Answer:** **B**", BIKE, (), "B", "marker", "whole_text", True),
    ("The final answer is A.", SIDES, (), "A", "marker", "whole_text", True),
    (
        "The mug is on the left side of the laptop.",
        SIDES,
        (),
        "A",
        "option_text",
        "whole_text",
        True,
    ),
    (
        "Option (B) says right and option (A) says left. The cup is left of the plate, so the "
        "answer is A.",
        SIDES,
        (),
        "A",
        "marker",
        "whole_text",
        True,
    ),
    (
        "Looking at (A) left and (C) above: the lamp hangs over the desk. (C)",
        SIDES,
        (),
        "C",
        "bracketed",
        "whole_text",
        True,
    ),
    ("I'd go with B.", SIDES, (), "B", "bare", "whole_text", True),
    ("It is at the front left of the car.", CORNERS, (), "B", "option_text", "whole_text", True),
    ("front left", CORNERS, (), "B", "option_text", "whole_text", True),
    ("A chair and a table stand in the room.", BIKE, (), None, None, None, True),
    ("", BIKE, (), None, None, None, True),
]


@pytest.mark.parametrize(
    ("text", "options", "required", "letter", "rule", "region", "format_ok"), TABLE
)
def test_real_looking_outputs(text, options, required, letter, rule, region, format_ok):
    parsed = parse_output(text, options, required)
    assert (parsed.letter, parsed.letter_rule, parsed.letter_region) == (letter, rule, region)
    assert parsed.format_ok is format_ok, parsed.format_problems
    if letter is None:
        assert parsed.answer_problems


def test_table_is_large_enough():
    assert len(TABLE) >= 20


def test_full_spatialthinker_output_is_read_completely():
    parsed = parse_output(thinker("(B) behind the bike"), BIKE)
    assert parsed.tags == dict.fromkeys(SPATIALTHINKER_TAGS, TagCount(1, 1))
    assert parsed.problems == ()
    assert parsed.block("answer") == "(B) behind the bike"
    assert parsed.block("observe").startswith("A man stands")
    scene = parsed.scene
    assert scene.valid
    assert [(o.id, o.label, o.bbox) for o in scene.objects] == [
        ("man.1", "man", (120.0, 40.0, 260.0, 400.0)),
        ("bike.1", "bike", (200.0, 220.0, 520.0, 430.0)),
    ]
    assert [(r.subject, r.predicate, r.object) for r in scene.relations] == [
        ("man.1", "behind", "bike.1")
    ]


def test_tag_counts_and_problems_name_what_is_wrong():
    text = "<observe>a</observe><think>x<think>y</think></think><answer></answer>"
    parsed = parse_output(text, BIKE)
    assert parsed.tags["think"] == TagCount(2, 2)
    assert parsed.tags["scene"] == TagCount(0, 0)
    assert "missing <scene>...</scene>" in parsed.format_problems
    assert "<think> opened 2 and closed 2 times (expected once each)" in parsed.format_problems
    assert "the <answer> block is empty" in parsed.format_problems
    assert parsed.letter is None and "no option letter found" in parsed.answer_problems


def test_tags_in_the_wrong_order_are_a_format_problem():
    text = f"<scene>{SCENE}</scene><observe>o</observe><think>t</think><answer>(A)</answer>"
    parsed = parse_output(text, BIKE)
    assert parsed.format_problems == (
        "tags out of order or overlapping; expected observe, scene, think, answer",
    )
    closing_first = "</think><think><answer>(A)</answer>"
    assert not parse_output(closing_first, BIKE, SPATIALREASONER_TAGS).format_ok


def test_an_invalid_scene_breaks_the_format_only_when_scene_is_required():
    text = '<think>t</think><scene>{"objects": [{"id": "man", "bbox": [0, 0, 1, 1]}]}</scene>'
    text += "<answer>(A)</answer>"
    assert parse_output(text, BIKE, SPATIALREASONER_TAGS).format_ok
    thinker_form = "<observe>o</observe>" + text.replace("<think>t</think>", "") + ""
    thinker_form = thinker_form.replace("<answer>", "<think>t</think><answer>")
    parsed = parse_output(thinker_form, BIKE)
    assert parsed.format_problems == ("scene: object 0 id 'man' is not of the form name.number",)


@pytest.mark.parametrize(
    ("scene", "problem"),
    [
        ('{"objects": [', "scene JSON does not parse: Expecting value at line 1 column 14"),
        ("[1, 2]", "scene must be a JSON object, got [1, 2]"),
        ("{}", "scene needs a list 'objects', got None"),
        ('{"objects": [], "relationships": {}}', "'relationships' must be a list, got {}"),
        ('{"objects": [5]}', "object 0 must be a JSON object, got 5"),
        ('{"objects": [{"id": 3, "bbox": [0,0,1,1]}]}', "object 0 id 3 is not of the form"),
        ('{"objects": [{"id": "man.one", "bbox": [0,0,1,1]}]}', "object 0 id 'man.one'"),
        ('{"objects": [{"id": "man.1", "bbox": [0,0,1]}]}', "bbox must be 4 finite numbers"),
        ('{"objects": [{"id": "man.1", "bbox": [0,0,1,true]}]}', "4 finite numbers"),
        ('{"objects": [{"id": "man.1", "bbox": [0,0,"1",1]}]}', "4 finite numbers"),
        ('{"objects": [{"id": "man.1", "bbox": [0,0,1,1e999]}]}', "4 finite numbers"),
        ('{"objects": [{"id": "man.1", "bbox": [0,0,1,NaN]}]}', "4 finite numbers"),
        ('{"objects": [{"id": "man.1", "bbox": [0,0,1,1' + "0" * 400 + "]}]}", "4 finite"),
        ('{"objects": [{"id": "man.1", "bbox": [0,0,1,' + "9" * 5000 + "]}]}", "does not parse"),
        ('{"objects": [{"id": "man.1", "bbox": [5,0,1,1]}]}', "needs x1 < x2, got x1=5, x2=1"),
        ('{"objects": [{"id": "man.1", "bbox": [0,2,1,2]}]}', "needs y1 < y2, got y1=2, y2=2"),
        (
            '{"objects": [{"id": "man.1", "bbox": [0,0,1,1]}, {"id": "man.1", "bbox": [0,0,2,2]}]}',
            "duplicate object id 'man.1'",
        ),
        (
            '{"objects": [{"id": "man.1", "bbox": [0,0,1,1]}], "relationships": '
            '[{"subject": "man.1", "predicate": "left of", "object": "dog.1"}]}',
            "relationship 0 names unknown object id 'dog.1'",
        ),
        (
            '{"objects": [{"id": "man.1", "bbox": [0,0,1,1]}], "relationships": '
            '[{"subject": "man.1", "predicate": "", "object": "man.1"}]}',
            "relationship 0 needs string subject, predicate and object",
        ),
        ("[" * 100_000, "scene JSON is nested too deeply"),
        ("   ", "scene block is empty"),
    ],
)
def test_scene_problems_are_named(scene, problem):
    parsed = parse_scene_json(scene)
    assert len(parsed.problems) == 1
    assert parsed.problems[0].startswith(problem) or problem in parsed.problems[0]


def test_scene_keeps_valid_parts_and_accepts_a_code_fence():
    scene = {
        "objects": [
            {"id": "traffic light.2", "bbox": [0, 0, 10.5, 20]},
            {"id": "dog", "bbox": [0, 0, 1, 1]},
        ],
    }
    parsed = parse_scene_json("```json\n" + json.dumps(scene) + "\n```")
    assert [o.label for o in parsed.objects] == ["traffic light"]
    assert parsed.relations == () and len(parsed.problems) == 1
    assert validate_scene_graph({"objects": []}).valid


def test_scan_tags_pairs_each_tag_separately():
    scan = scan_tags("<think>a</think><think>b")
    assert scan.counts["think"] == TagCount(2, 1)
    assert scan.unclosed_from == {"think": len("<think>a</think><think>")}


def test_choose_option_strict_against_lenient():
    assert choose_option("(A) then (B)", SIDES, strict=True).ambiguous
    assert choose_option("(A) then (B)", SIDES, strict=False).letter == "B"
    assert choose_option("(c)", None, strict=True).letter == "C"
    assert choose_option("the object(s) here", SIDES, strict=False).letter is None


def test_bad_arguments_other_than_text_are_errors():
    with pytest.raises(ValueError, match="required_tags"):
        parse_output("x", BIKE, ("think", "reasoning"))
    with pytest.raises(ValueError, match="options"):
        parse_output("x", "AB")


# ---------------------------------------------------------------- fuzzing

FRAGMENTS = [
    "<observe>",
    "</observe>",
    "<scene>",
    "</scene>",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<answer",
    "</ans wer>",
    "< /think >",
    "<SCENE>",
    "(A)",
    "(B)",
    "(E)",
    "B.",
    "A)",
    "Answer: ",
    "answer is ",
    "\\boxed{",
    "}",
    "option ",
    "**",
    "left",
    "behind the bike",
    '{"objects": [',
    '{"id": "man.1", "bbox": [',
    "1e999",
    "9" * 50,
    "-0",
    "NaN",
    "]}",
    "],",
    '"relationships": [{"subject": "man.1", "predicate": "on", "object": "x.2"}]',
    "}",
    "[",
    "```json\n",
    "```",
    "\n",
    " ",
    "（Ｂ）",
    "ﬁ",
    "\u0301",
    "😀",
    "\x00",
    "A man",
    "I ",
]
near_miss = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map(
    "".join
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["objects", "relationships", "id", "bbox", "subject", "predicate", "object", "x"]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)
option_lists = st.none() | st.lists(st.text(max_size=12), min_size=1, max_size=6)
tag_sets = st.sampled_from([SPATIALTHINKER_TAGS, SPATIALREASONER_TAGS, ()])
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_invariants(parsed: ParsedOutput, options, required) -> None:
    assert isinstance(parsed, ParsedOutput)
    valid = LETTERS if options is None else LETTERS[: len(options)]
    assert parsed.letter is None or parsed.letter in valid
    assert (parsed.letter is None) == (parsed.letter_region is None)
    assert parsed.format_ok == (not parsed.format_problems)
    assert set(parsed.tags) == {"observe", "scene", "think", "answer"}
    if not required:
        assert parsed.format_ok
    assert all(isinstance(problem, str) and problem for problem in parsed.problems)


@FUZZ
@given(text=st.text(max_size=300), options=option_lists, required=tag_sets)
def test_never_raises_on_arbitrary_text(text, options, required):
    check_invariants(parse_output(text, options, required), options, required)


@FUZZ
@given(text=near_miss, options=option_lists, required=tag_sets)
def test_never_raises_on_near_miss_outputs(text, options, required):
    check_invariants(parse_output(text, options, required), options, required)


@FUZZ
@given(value=json_values, answer=near_miss)
def test_never_raises_on_arbitrary_scene_json(value, answer):
    scene = json.dumps(value)
    text = f"<observe>o</observe><scene>{scene}</scene><think>t</think><answer>{answer}</answer>"
    parsed = parse_output(text, BIKE)
    check_invariants(parsed, BIKE, SPATIALTHINKER_TAGS)
    assert parsed.scene is not None
    for obj in parsed.scene.objects:
        x1, y1, x2, y2 = obj.bbox
        assert x1 < x2 and y1 < y2
    ids = [obj.id for obj in parsed.scene.objects]
    assert len(ids) == len(set(ids))
    assert all(r.subject in ids and r.object in ids for r in parsed.scene.relations)


@FUZZ
@given(
    letter_index=st.integers(0, 3),
    wrapper=st.sampled_from(
        ["({})", "{}", "{}.", "{})", "Answer: {}", "answer is ({})", "\\boxed{{{}}}"]
    ),
)
def test_every_letter_form_in_the_answer_tag_is_read(letter_index, wrapper):
    letter = "ABCD"[letter_index]
    text = f"<think>Compare (A) and (D).</think><answer>{wrapper.format(letter)}</answer>"
    assert parse_output(text, SIDES, SPATIALREASONER_TAGS).letter == letter


@pytest.mark.parametrize(
    "text",
    [
        "answer" + " " * 100_000 + "x",
        "<" + " " * 100_000,
        "(" * 100_000,
        "<answer>" * 20_000,
        "<scene>" + "[" * 100_000 + "</scene>",
        "left " * 50_000,
        "front left " * 30_000,
        "A " * 50_000,
    ],
)
def test_large_pathological_inputs_are_read_quickly(text):
    # quadratic regular expressions or pairings would take minutes on these
    parsed = parse_output(text, ["left", "front left", "right"])
    assert isinstance(parsed, ParsedOutput)


def test_relations_to_the_viewer_are_valid():
    """Gold scenes relate objects to "camera" / "image" for viewpoint questions."""
    scene = validate_scene_graph(
        {
            "objects": [{"id": "car.1", "bbox": [0, 0, 5, 5]}],
            "relationships": [
                {"subject": "car.1", "predicate": "facing", "object": "camera"},
                {"subject": "car.1", "predicate": "left of", "object": "image"},
            ],
        }
    )
    assert not scene.problems and len(scene.relations) == 2
