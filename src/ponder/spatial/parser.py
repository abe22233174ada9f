"""Parse a model's answer to a spatial multiple-choice prompt; never raises on any text.

``parse_output(text, options, required_tags)`` returns a ``ParsedOutput``: how often each tag
(observe / scene / think / answer) was opened and closed, the contents of the complete blocks,
the scene graph from the scene tag (validated), the chosen option letter with the rule that
found it, and human-readable problems (format problems, answer problems).

Tags
  ``<observe>``, ``<scene>``, ``<think>``, ``<answer>`` and their closing forms, in any case and
  with spaces inside the brackets (``< Answer >``). A block is the text between an opening tag
  and the closing tag that brings its nesting depth back to zero. The text is NFKC-normalised
  first, so full-width ``＜answer＞`` and ``（Ｂ）`` read as ``<answer>`` and ``(B)``.

Format (``ParsedOutput.format_ok``): every required tag opened exactly once and closed exactly
  once, the required tags in the required order without overlap, a non-empty answer block, and,
  when ``scene`` is required, a valid scene graph (see ``validate_scene_graph``). Tags that are
  not required are counted but never make the format wrong.

Where the letter is looked for (the region)
  1. The last complete ``<answer>...</answer>`` block; else the text after an ``<answer>`` that
     is never closed; else, for a lone ``</answer>``, the text between the previous tag and it.
     This region is *strict*: a rule that finds two different options there ends the search
     with no letter (no fallback), so ``<answer>(A) or (B)</answer>`` earns nothing.
  2. Failing that, the whole text: when there is no answer region, or the answer region names
     nothing at all (a letter outside the options or two options count as naming something).
     This region is *lenient*: the last mention wins, since reasoning usually walks through
     the options before it concludes.

Which rule finds the letter (the first rule that finds a valid letter decides)
  1. ``marker``: ``Answer: B``, ``the answer is (B)``, ``final answer: B``, ``option B``,
     ``choice (B)``, ``**Answer:** **B**``, ``\\boxed{B}``.
  2. ``bracketed``: ``(B)`` or ``(b)`` anywhere (not glued to a word: ``object(s)`` is none).
  3. ``leading``: the region starts with ``B``, ``B.``, ``B)``, ``B:`` or ``**B**``, or with the
     letter followed by its own option text (``B behind``); a lone lowercase ``b`` counts too.
  4. ``bare``: a standalone capital letter such as ``I choose B``; ``A`` and ``I`` followed by
     a lowercase word are read as English words, not letters. Only in the strict region, or in
     a whole text of at most SHORT_TEXT_WORDS words (long reasoning names objects A and B).
  5. ``option_text`` (needs ``options``): the option text itself, with case, punctuation and
     spacing ignored: the whole region equal to one option; else options mentioned as whole
     words, where a mention inside a longer option's mention does not count (``left`` inside
     ``front left``).
  Letters outside the options (``(E)`` with four options) are skipped and reported. Letters
  beat option text: ``(B) left`` is B even when option B reads ``right``.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from ponder.spatial.prompts import OPTION_LETTERS

TAG_NAMES = ("observe", "scene", "think", "answer")
SPATIALTHINKER_TAGS = ("observe", "scene", "think", "answer")
SPATIALREASONER_TAGS = ("think", "answer")
LETTERS = OPTION_LETTERS
SHORT_TEXT_WORDS = 20

_TAG = re.compile(r"<\s*(?:(/)\s*)?(observe|scene|think|answer)\s*>", re.IGNORECASE)
_OBJECT_ID = re.compile(r"^(?P<name>\w(?:[\w \-']*\w)?)\.(?P<number>\d+)$")
_LETTER_GUARD = r"(?![A-Za-z0-9_'’])(?!(?<=[AI])\s+[a-z])"
_MARKER = re.compile(
    r"(?:\b(?i:final\s+answer|answer|option|choice)[\s*]*(?:(?i:is|:|=|-)[\s*:]*)?"
    r"(?:\(\s*(?P<a>[A-Za-z])\s*\)|(?P<b>[A-Z])\*{0,2}" + _LETTER_GUARD + r"))"
    r"|\\boxed\{\s*\(?\s*(?P<c>[A-Za-z])\s*\)?\s*\}"
)
_BRACKETED = re.compile(r"(?<!\w)\(\s*([A-Za-z])\s*\)")
_ONLY_LETTER = re.compile(r"^[\s*_\"'`(\[]*([A-Za-z])[\s*_\"'`)\].:]*$")
_LEADING = re.compile(r"^[\s*_\"'`]*([A-Z])(?:\*{0,2}[.):\]]|\s+(?P<rest>\S.*))", re.DOTALL)
_BARE = re.compile(r"(?<![A-Za-z0-9_'’])([A-Z])" + _LETTER_GUARD)


@dataclass(frozen=True)
class TagCount:
    """How often a tag was opened (``<think>``) and closed (``</think>``)."""

    opened: int = 0
    closed: int = 0


@dataclass(frozen=True)
class ParsedObject:
    """One scene object: id ``name.number``, its label (the name) and pixel box."""

    id: str
    label: str
    bbox: tuple[float, float, float, float]


@dataclass(frozen=True)
class ParsedRelation:
    """One relationship between two known object ids."""

    subject: str
    predicate: str
    object: str


@dataclass(frozen=True)
class ParsedScene:
    """The valid objects and relations of a scene graph, and what was wrong with the rest."""

    objects: tuple[ParsedObject, ...] = ()
    relations: tuple[ParsedRelation, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class OptionChoice:
    """The option letter found in a region, the rule that found it, and what went wrong."""

    letter: str | None = None
    rule: str | None = None
    problems: tuple[str, ...] = ()
    ambiguous: bool = False


@dataclass(frozen=True)
class ParsedOutput:
    """Everything ``parse_output`` read from one model output.

    blocks: the contents of every complete block, per tag, in order of appearance.
    scene: the scene graph of the first complete scene block, None without one.
    text: the text that was read (NFKC-normalised).
    letter_region: ``"answer_tag"`` or ``"whole_text"`` (None when no letter was found).
    """

    tags: dict[str, TagCount]
    blocks: dict[str, tuple[str, ...]]
    scene: ParsedScene | None
    letter: str | None
    letter_rule: str | None
    letter_region: str | None
    required_tags: tuple[str, ...]
    text: str = field(default="", repr=False)
    format_problems: tuple[str, ...] = ()
    answer_problems: tuple[str, ...] = ()

    @property
    def problems(self) -> tuple[str, ...]:
        return self.format_problems + self.answer_problems

    @property
    def format_ok(self) -> bool:
        return not self.format_problems

    def block(self, tag: str) -> str | None:
        """The first complete block of ``tag`` (stripped), None if there is none."""
        found = self.blocks.get(tag, ())
        return found[0].strip() if found else None


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class _TagScan:
    counts: dict[str, TagCount]
    blocks: dict[str, list[tuple[int, int]]]  # (content start, content end) per complete block
    unclosed_from: dict[str, int]  # content start of a block never closed
    lone_answer_close: tuple[int, int] | None  # region before a '</answer>' without opening
    spans: dict[str, list[tuple[int, int]]]  # (open start, close end) of complete blocks


def scan_tags(text: str) -> _TagScan:
    """Find every tag once, left to right, and pair openings with closings per tag name."""
    opened = dict.fromkeys(TAG_NAMES, 0)
    closed = dict.fromkeys(TAG_NAMES, 0)
    depth = dict.fromkeys(TAG_NAMES, 0)
    start = dict.fromkeys(TAG_NAMES, 0)
    open_at = dict.fromkeys(TAG_NAMES, 0)
    blocks: dict[str, list[tuple[int, int]]] = {name: [] for name in TAG_NAMES}
    spans: dict[str, list[tuple[int, int]]] = {name: [] for name in TAG_NAMES}
    lone_close = None
    previous_tag_end = 0
    for match in _TAG.finditer(text):
        name = match.group(2).lower()
        if match.group(1):  # closing tag
            closed[name] += 1
            if depth[name] > 0:
                depth[name] -= 1
                if depth[name] == 0:
                    blocks[name].append((start[name], match.start()))
                    spans[name].append((open_at[name], match.end()))
            elif name == "answer" and lone_close is None:
                lone_close = (previous_tag_end, match.start())
        else:
            opened[name] += 1
            if depth[name] == 0:
                start[name], open_at[name] = match.end(), match.start()
            depth[name] += 1
        previous_tag_end = match.end()
    counts = {name: TagCount(opened[name], closed[name]) for name in TAG_NAMES}
    unclosed = {name: start[name] for name in TAG_NAMES if depth[name] > 0}
    return _TagScan(counts, blocks, unclosed, lone_close, spans)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


# Relationship ends that are not objects: the viewer, for viewpoint and orientation relations
# ("car.1 facing camera"), as SpatialThinker's gold scenes write them.
VIEWPOINT_IDS = frozenset({"camera", "image"})


def validate_scene_graph(data: object) -> ParsedScene:
    """Check a scene graph in SpatialThinker's JSON form; keep the valid parts, list problems.

    Rules: a JSON object with a list ``objects`` and an optional list ``relationships``;
    each object has an ``id`` of the form ``name.number`` (unique) and a ``bbox`` of 4 finite
    numbers with x1 < x2 and y1 < y2; each relationship has string ``subject``, ``predicate``
    and ``object``, subject and object naming valid object ids or the viewer ("camera", "image").
    """
    if not isinstance(data, dict):
        return ParsedScene(problems=(f"scene must be a JSON object, got {_short(data)}",))
    problems: list[str] = []
    raw_objects = data.get("objects")
    if not isinstance(raw_objects, list):
        problems.append(f"scene needs a list 'objects', got {_short(raw_objects)}")
        raw_objects = []
    raw_relations = data.get("relationships", [])
    if not isinstance(raw_relations, list):
        problems.append(f"'relationships' must be a list, got {_short(raw_relations)}")
        raw_relations = []
    objects: list[ParsedObject] = []
    seen: set[str] = set()
    for index, item in enumerate(raw_objects):
        if not isinstance(item, dict):
            problems.append(f"object {index} must be a JSON object, got {_short(item)}")
            continue
        object_id = item.get("id")
        match = _OBJECT_ID.match(object_id) if isinstance(object_id, str) else None
        if match is None:
            problems.append(f"object {index} id {_short(object_id)} is not of the form name.number")
            continue
        box = item.get("bbox")
        numbers = [_number(v) for v in box] if isinstance(box, list) else []
        if len(numbers) != 4 or any(v is None for v in numbers):
            problems.append(
                f"object {object_id!r} bbox must be 4 finite numbers, got {_short(box)}"
            )
            continue
        x1, y1, x2, y2 = numbers
        if not x1 < x2:
            problems.append(f"object {object_id!r} bbox needs x1 < x2, got x1={x1:g}, x2={x2:g}")
            continue
        if not y1 < y2:
            problems.append(f"object {object_id!r} bbox needs y1 < y2, got y1={y1:g}, y2={y2:g}")
            continue
        if object_id in seen:
            problems.append(f"duplicate object id {object_id!r}")
            continue
        seen.add(object_id)
        objects.append(ParsedObject(object_id, match.group("name"), (x1, y1, x2, y2)))
    relations: list[ParsedRelation] = []
    for index, item in enumerate(raw_relations):
        if not isinstance(item, dict):
            problems.append(f"relationship {index} must be a JSON object, got {_short(item)}")
            continue
        parts = [item.get(key) for key in ("subject", "predicate", "object")]
        if not all(isinstance(part, str) and part.strip() for part in parts):
            problems.append(
                f"relationship {index} needs string subject, predicate and object, "
                f"got {_short(item)}"
            )
            continue
        unknown = [p for p in (parts[0], parts[2]) if p not in seen and p not in VIEWPOINT_IDS]
        if unknown:
            problems.append(f"relationship {index} names unknown object id {unknown[0]!r}")
            continue
        relations.append(ParsedRelation(parts[0], parts[1].strip(), parts[2]))
    return ParsedScene(tuple(objects), tuple(relations), tuple(problems))


def parse_scene_json(content: str) -> ParsedScene:
    """Parse the text of a scene block (a ```json fence around it is allowed) and validate it."""
    body = content.strip()
    if body.startswith("```") and body.endswith("```") and len(body) >= 6:
        first_line_end = body.find("\n")
        body = body[first_line_end + 1 : -3].strip() if first_line_end >= 0 else body[3:-3]
    if not body:
        return ParsedScene(problems=("scene block is empty",))
    try:
        data = json.loads(body)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        return ParsedScene(problems=(f"scene JSON does not parse: {error.msg} at {where}",))
    except ValueError as error:  # e.g. an integer longer than Python's digit limit
        return ParsedScene(problems=(f"scene JSON does not parse: {_short(str(error), 120)}",))
    except RecursionError:
        return ParsedScene(problems=("scene JSON is nested too deeply",))
    return validate_scene_graph(data)


def normalise_option_text(text: str) -> str:
    """Casefold, turn punctuation into spaces, collapse whitespace: ' Behind, the car.' ->
    'behind the car'."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _pick(candidates: list[tuple[int, str]], strict: bool) -> tuple[str | None, bool]:
    """(letter, ambiguous): strict needs one distinct letter; lenient takes the last."""
    if not candidates:
        return None, False
    if strict:
        distinct = sorted({letter for _, letter in candidates})
        return (distinct[0], False) if len(distinct) == 1 else (None, True)
    return max(candidates)[1], False


def _option_text_candidates(region: str, options: Sequence[str]) -> list[tuple[int, str]]:
    normal_region = normalise_option_text(region)
    normal_options = [normalise_option_text(option) for option in options]
    exact = [LETTERS[i] for i, text in enumerate(normal_options) if text and text == normal_region]
    if exact:
        return [(0, letter) for letter in exact]
    padded = f" {normal_region} "
    starts: dict[int, list[int]] = {}  # option index -> sorted starts of its mentions in padded
    for index, text in enumerate(normal_options):
        if text:
            needle, found, position = f" {text} ", [], padded.find(f" {text} ")
            while position >= 0:
                found.append(position)
                position = padded.find(needle, position + 1)
            starts[index] = found
    kept: list[tuple[int, str]] = []  # (end of mention, letter)
    for index, found in starts.items():
        length = len(normal_options[index]) + 2
        longer = [i for i in starts if len(normal_options[i]) > len(normal_options[index])]
        for start in found:
            end = start + length
            covered = False
            for other in longer:  # a longer mention covering [start, end) starts in this window
                other_starts = starts[other]
                lowest = end - len(normal_options[other]) - 2
                first = bisect.bisect_left(other_starts, lowest)
                covered = first < len(other_starts) and other_starts[first] <= start
                if covered:
                    break
            if not covered:
                kept.append((end, LETTERS[index]))
    return kept


def choose_option(region: str, options: Sequence[str] | None, strict: bool) -> OptionChoice:
    """Find the option letter in ``region`` by the rules in this module's docstring.

    options: the option texts (A, B, ... in order); None allows every letter A-Z and turns the
    option-text rule off.
    """
    valid = LETTERS if options is None else LETTERS[: len(options)]
    problems: list[str] = []

    def checked(found: list[tuple[int, str]], rule: str) -> list[tuple[int, str]]:
        outside = sorted({letter for _, letter in found if letter not in valid})
        if outside:
            problems.append(
                f"{rule} letter {', '.join(outside)} is not an option (options {valid[0]}-"
                f"{valid[-1]})"
            )
        return [(position, letter) for position, letter in found if letter in valid]

    def decided(found: list[tuple[int, str]], rule: str) -> OptionChoice | None:
        letter, ambiguous = _pick(checked(found, rule), strict)
        if ambiguous:
            names = ", ".join(sorted({letter for _, letter in found if letter in valid}))
            problems.append(f"the answer names several options ({names}) by rule {rule}")
            return OptionChoice(None, rule, tuple(problems), ambiguous=True)
        return OptionChoice(letter, rule, tuple(problems)) if letter else None

    markers = [
        (m.start(), (m.group("a") or m.group("b") or m.group("c")).upper())
        for m in _MARKER.finditer(region)
    ]
    bracketed = [(m.start(), m.group(1).upper()) for m in _BRACKETED.finditer(region)]
    leading: list[tuple[int, str]] = []
    only = _ONLY_LETTER.match(region)
    if only:
        leading.append((0, only.group(1).upper()))
    else:
        lead = _LEADING.match(region)
        if lead and lead.group("rest") is None:
            leading.append((0, lead.group(1)))
        elif lead and options is not None and lead.group(1) in valid:
            own_text = normalise_option_text(options[LETTERS.index(lead.group(1))])
            rest = normalise_option_text(lead.group("rest"))
            if own_text and f"{rest} ".startswith(f"{own_text} "):
                leading.append((0, lead.group(1)))
    rules = [("marker", markers), ("bracketed", bracketed), ("leading", leading)]
    if strict or len(region.split()) <= SHORT_TEXT_WORDS:
        rules.append(("bare", [(m.start(), m.group(1)) for m in _BARE.finditer(region)]))
    if options is not None:
        rules.append(("option_text", _option_text_candidates(region, options)))
    for rule, found in rules:
        choice = decided(found, rule)
        if choice is not None:
            return choice
    return OptionChoice(None, None, tuple(problems))


def _answer_region(text: str, scan: _TagScan) -> str | None:
    if scan.blocks["answer"]:
        start, end = scan.blocks["answer"][-1]
        return text[start:end]
    if "answer" in scan.unclosed_from:
        return text[scan.unclosed_from["answer"] :]
    if scan.lone_answer_close is not None:
        start, end = scan.lone_answer_close
        return text[start:end]
    return None


def _format_problems(
    text: str, scan: _TagScan, scene: ParsedScene | None, required: tuple[str, ...]
) -> list[str]:
    problems = []
    for name in required:
        count = scan.counts[name]
        if count.opened == 0 and count.closed == 0:
            problems.append(f"missing <{name}>...</{name}>")
        elif count.opened != 1 or count.closed != 1:
            problems.append(
                f"<{name}> opened {count.opened} and closed {count.closed} times "
                "(expected once each)"
            )
    if not problems and len(required) > 1:
        spans = [scan.spans[name][0] if scan.spans[name] else (-1, -1) for name in required]
        in_order = all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
        if not in_order or any(span[0] < 0 for span in spans):
            problems.append(f"tags out of order or overlapping; expected {', '.join(required)}")
    if "answer" in required and scan.blocks["answer"]:
        start, end = scan.blocks["answer"][-1]
        if not text[start:end].strip():
            problems.append("the <answer> block is empty")
    if "scene" in required and scene is not None:
        problems.extend(f"scene: {problem}" for problem in scene.problems)
    return problems


def parse_output(
    text: str,
    options: Sequence[str] | None = None,
    required_tags: Sequence[str] = SPATIALTHINKER_TAGS,
) -> ParsedOutput:
    """Read tags, scene graph, option letter and problems from a model output.

    text: any string (a non-string is read as its ``str``); never raises on it.
    options: option texts in order (A, B, ...); needed to match option text. None allows every
      letter A-Z.
    required_tags: the tags the prompt asked for, in order (SPATIALTHINKER_TAGS,
      SPATIALREASONER_TAGS, or () for plain multiple choice); they decide ``format_ok``.
    """
    required = tuple(required_tags)
    unknown = [name for name in required if name not in TAG_NAMES]
    if unknown or len(set(required)) != len(required):
        raise ValueError(f"required_tags must be distinct names from {TAG_NAMES}, got {required}")
    if options is not None and (
        isinstance(options, str)
        or not all(isinstance(option, str) for option in options)
        or not 1 <= len(options) <= len(LETTERS)
    ):
        raise ValueError(
            f"options must be a list of 1 to 26 strings or None, got {_short(options)}"
        )
    text = unicodedata.normalize("NFKC", text if isinstance(text, str) else str(text))
    scan = scan_tags(text)
    blocks = {name: tuple(text[s:e] for s, e in scan.blocks[name]) for name in TAG_NAMES}
    scene = parse_scene_json(blocks["scene"][0]) if blocks["scene"] else None
    if "scene" in required and scene is None and scan.counts["scene"].opened:
        scene = ParsedScene(problems=("scene block is never closed",))
    format_problems = _format_problems(text, scan, scene, required)

    answer_problems: list[str] = []
    region = _answer_region(text, scan)
    choice, where = OptionChoice(), None
    if region is not None and region.strip():
        choice, where = choose_option(region, options, strict=True), "answer_tag"
        answer_problems.extend(choice.problems)
        if choice.letter is None and not choice.problems:
            answer_problems.append("the answer tag names no option; reading the whole text")
    if choice.letter is None and not choice.problems:
        choice, where = choose_option(text, options, strict=False), "whole_text"
        answer_problems.extend(p for p in choice.problems if p not in answer_problems)
    if choice.letter is None:
        where = None
        answer_problems.append("no option letter found")
    return ParsedOutput(
        tags=scan.counts,
        blocks=blocks,
        scene=scene,
        letter=choice.letter,
        letter_rule=choice.rule if choice.letter else None,
        letter_region=where,
        required_tags=required,
        text=text,
        format_problems=tuple(format_problems),
        answer_problems=tuple(answer_problems),
    )
