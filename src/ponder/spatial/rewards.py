"""Rewards for spatial multiple-choice answers (REFERENCE 2.1 and 2.2).

SpatialThinker's dense reward, R = 0.1 f + 0.2 c + 0.5 a + 0.2 s, gated: f = 0 gives R = 0,
and s only counts when a = 1.

- f, ``format_reward``: 1 if every required tag appears once, in order, and the scene graph is
  valid (``ParsedOutput.format_ok``), else 0.
- c, ``count_reward``: c_obj = max(0, 1 - |N_p - N_g| / max(N_g, 1)); with relations
  c = 0.7 c_obj + 0.3 max(0, 1 - |R_p - R_g| / max(R_g, 1)).
- a, ``accuracy_reward``: 1 if the parsed letter is the correct letter, else 0.
- s, ``spatial_reward``: boxes divided by the image size; Hungarian matching of predicted to
  ground-truth objects with cost 2 (1 - label_similarity) + (1 - CIoU'), CIoU' = (CIoU + 1)/2
  (clipped to [0, 1]); s = sum of matched CIoU' / number of ground-truth objects.

SpatialReasoner's sparse reward: accuracy + format, optionally a process reward for the 3D
phrases the reasoning must contain (``process_reward``). ``sparse_reward`` is the baseline.

Label similarity is offline and pluggable: ``LABEL_SIMILARITY`` maps a name to a callable
``(label_a, label_b) -> float in [0, 1]``; the default, ``"normalised"``, compares labels after
``normalise_label``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ponder.spatial.parser import (
    LETTERS,
    SPATIALREASONER_TAGS,
    SPATIALTHINKER_TAGS,
    ParsedOutput,
    ParsedScene,
    parse_output,
    validate_scene_graph,
)

Box = tuple[float, float, float, float]
LabelSimilarity = Callable[[str, str], float]

_ID_SUFFIX = re.compile(r"\.\d+$")
_ARTICLES = {"a", "an", "the"}


# ---------------------------------------------------------------- label similarity


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normalise_label(label: str) -> str:
    """'The Red Cars.2' -> 'red car': casefold, drop a ``.number`` id suffix, turn ``_``/``-``
    and punctuation into spaces, drop articles, make each word singular (simple rules)."""
    text = _ID_SUFFIX.sub("", label.strip()).casefold()
    words = re.sub(r"[\W_]+", " ", text).split()
    return " ".join(_singular(word) for word in words if word not in _ARTICLES)


def exact_label_similarity(label_a: str, label_b: str) -> float:
    """1 if the labels are the same string, else 0."""
    return 1.0 if label_a == label_b else 0.0


def normalised_label_similarity(label_a: str, label_b: str) -> float:
    """1 if the labels agree after ``normalise_label`` ('Cars' ~ 'the car.3'), else 0."""
    return 1.0 if normalise_label(label_a) == normalise_label(label_b) else 0.0


def token_overlap_similarity(label_a: str, label_b: str) -> float:
    """Jaccard overlap of the normalised words: 'red car' vs 'car' -> 0.5."""
    words_a, words_b = set(normalise_label(label_a).split()), set(normalise_label(label_b).split())
    if not words_a and not words_b:
        return 1.0
    return len(words_a & words_b) / len(words_a | words_b)


LABEL_SIMILARITY: dict[str, LabelSimilarity] = {
    "normalised": normalised_label_similarity,
    "exact": exact_label_similarity,
    "token_overlap": token_overlap_similarity,
}


def resolve_label_similarity(similarity: str | LabelSimilarity) -> LabelSimilarity:
    """A name from LABEL_SIMILARITY or a callable; an unknown name is an error naming close ones."""
    if callable(similarity):
        return similarity
    if similarity in LABEL_SIMILARITY:
        return LABEL_SIMILARITY[similarity]
    close = difflib.get_close_matches(str(similarity), LABEL_SIMILARITY, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown label similarity {similarity!r}; known: {', '.join(LABEL_SIMILARITY)}{hint}"
    )


# ---------------------------------------------------------------- boxes


def check_box(box: Sequence[float], name: str = "box") -> Box:
    """Four finite numbers with x1 < x2 and y1 < y2, as floats; else a ValueError naming it."""
    try:
        values = tuple(float(v) for v in box)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be 4 numbers [x1, y1, x2, y2], got {box!r}") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be 4 finite numbers [x1, y1, x2, y2], got {box!r}")
    x1, y1, x2, y2 = values
    if not (x1 < x2 and y1 < y2):
        raise ValueError(f"{name} needs x1 < x2 and y1 < y2, got {box!r}")
    return values


def check_image_size(image_size: Sequence[float]) -> tuple[float, float]:
    """(width, height), both positive and finite."""
    if isinstance(image_size, str) or len(image_size) != 2:
        raise ValueError(f"image_size must be (width, height), got {image_size!r}")
    width, height = (float(v) for v in image_size)
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        raise ValueError(f"image_size must be positive (width, height), got {image_size!r}")
    return width, height


def normalise_box(box: Sequence[float], image_size: Sequence[float]) -> Box:
    """Pixel box -> fractions of the image: x by the width, y by the height."""
    x1, y1, x2, y2 = check_box(box)
    width, height = check_image_size(image_size)
    return x1 / width, y1 / height, x2 / width, y2 / height


def box_iou(box_a: Sequence[float], box_b: Sequence[float]) -> float:
    """Intersection over union of two boxes [x1, y1, x2, y2] (0 when the union's area under- or
    overflows the floats)."""
    ax1, ay1, ax2, ay2 = check_box(box_a, "box_a")
    bx1, by1, bx2, by2 = check_box(box_b, "box_b")
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    iou = inter / union if 0 < union < math.inf else 0.0
    return iou if 0.0 <= iou <= 1.0 else 0.0


def complete_iou(pred_box: Sequence[float], gt_box: Sequence[float]) -> float:
    """CIoU = IoU - rho^2 / c^2 - alpha v.

    rho: distance between the box centres; c: diagonal of the smallest box enclosing both;
    v = 4/pi^2 (atan(w_g/h_g) - atan(w_p/h_p))^2, alpha = v / ((1 - IoU) + v), with alpha = 0
    when both are 0 (identical boxes). 1 for identical boxes, negative for far disjoint ones;
    the range is (-1.5, 1] (the aspect term adds at most 0.5 to a distance term below 1).
    NaN only when coordinates are so large (around 1e308) that the arithmetic overflows.
    """
    px1, py1, px2, py2 = check_box(pred_box, "pred_box")
    gx1, gy1, gx2, gy2 = check_box(gt_box, "gt_box")
    iou = box_iou(pred_box, gt_box)
    # products rather than ** 2: a float product overflows to inf, a float power raises
    dx, dy = (px1 + px2) / 2 - (gx1 + gx2) / 2, (py1 + py2) / 2 - (gy1 + gy2) / 2
    cw, ch = max(px2, gx2) - min(px1, gx1), max(py2, gy2) - min(py1, gy1)
    rho2, c2 = dx * dx + dy * dy, cw * cw + ch * ch
    distance = rho2 / c2 if c2 > 0 else 0.0
    # atan2(w, h) = atan(w / h) for w, h > 0, without dividing
    angle_gap = math.atan2(gx2 - gx1, gy2 - gy1) - math.atan2(px2 - px1, py2 - py1)
    v = 4 / math.pi**2 * angle_gap * angle_gap
    denominator = (1 - iou) + v
    alpha = v / denominator if denominator > 0 else 0.0
    return iou - distance - alpha * v


def shifted_complete_iou(pred_box: Sequence[float], gt_box: Sequence[float]) -> float:
    """CIoU' = (CIoU + 1) / 2, clipped to [0, 1] (CIoU can dip below -1 by the aspect term);
    0 where CIoU is NaN (overflowing coordinates)."""
    value = (complete_iou(pred_box, gt_box) + 1) / 2
    return min(1.0, max(0.0, value)) if not math.isnan(value) else 0.0


def _normalised_or_none(box: Sequence[float], image_size: Sequence[float]) -> Box | None:
    """The normalised box, or None where dividing collapsed it (a sub-normal width)."""
    try:
        return check_box(normalise_box(box, image_size))
    except ValueError:
        return None


# ---------------------------------------------------------------- scenes and matching


def as_scene(scene: ParsedScene | Mapping | None, name: str = "scene") -> ParsedScene:
    """A ParsedScene as is; a dict in SpatialThinker's JSON form validated (any problem is a
    ValueError naming it); None as the empty scene."""
    if scene is None:
        return ParsedScene()
    if isinstance(scene, ParsedScene):
        return scene
    parsed = validate_scene_graph(dict(scene) if isinstance(scene, Mapping) else scene)
    if parsed.problems:
        raise ValueError(f"{name} is not a valid scene graph: {'; '.join(parsed.problems)}")
    return parsed


@dataclass(frozen=True)
class ObjectMatch:
    """One predicted object matched to one ground-truth object."""

    pred_id: str
    gt_id: str
    label_similarity: float
    shifted_ciou: float


@dataclass(frozen=True)
class SpatialMatch:
    """The Hungarian matching and its score s = sum of matched CIoU' / num_gt."""

    matches: tuple[ObjectMatch, ...]
    num_pred: int
    num_gt: int
    score: float


def match_objects(
    pred_scene: ParsedScene | Mapping | None,
    gt_scene: ParsedScene | Mapping,
    image_size: Sequence[float],
    label_similarity: str | LabelSimilarity = "normalised",
) -> SpatialMatch:
    """Hungarian matching with cost 2 (1 - label_similarity) + (1 - CIoU') on normalised boxes.

    With no ground-truth objects the score is 1 if nothing was predicted either, else 0.
    A predicted box that normalising collapses (a sub-normal width) has CIoU' = 0.
    """
    pred, gt = as_scene(pred_scene, "pred_scene"), as_scene(gt_scene, "gt_scene")
    similarity = resolve_label_similarity(label_similarity)
    if not gt.objects:
        score = 1.0 if not pred.objects else 0.0
        return SpatialMatch((), len(pred.objects), 0, score)
    if not pred.objects:
        return SpatialMatch((), 0, len(gt.objects), 0.0)
    pred_boxes = [_normalised_or_none(o.bbox, image_size) for o in pred.objects]
    gt_boxes = [normalise_box(o.bbox, image_size) for o in gt.objects]
    labels = np.zeros((len(pred_boxes), len(gt_boxes)))  # [P, G]
    overlaps = np.zeros_like(labels)  # [P, G] CIoU'
    for i, p in enumerate(pred.objects):
        for j, g in enumerate(gt.objects):
            value = float(similarity(p.label, g.label))
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"label similarity must be in [0, 1], got {value!r} "
                    f"for {p.label!r} and {g.label!r}"
                )
            labels[i, j] = value
            box = pred_boxes[i]
            overlaps[i, j] = 0.0 if box is None else shifted_complete_iou(box, gt_boxes[j])
    cost = 2 * (1 - labels) + (1 - overlaps)
    rows, cols = linear_sum_assignment(cost)
    matches = tuple(
        ObjectMatch(pred.objects[i].id, gt.objects[j].id, labels[i, j], overlaps[i, j])
        for i, j in zip(rows.tolist(), cols.tolist())
    )
    score = sum(m.shifted_ciou for m in matches) / len(gt.objects)
    return SpatialMatch(matches, len(pred.objects), len(gt.objects), float(score))


def spatial_reward(
    pred_scene: ParsedScene | Mapping | None,
    gt_scene: ParsedScene | Mapping,
    image_size: Sequence[float],
    label_similarity: str | LabelSimilarity = "normalised",
) -> float:
    """s: mean over ground-truth objects of the matched CIoU' (unmatched ones count 0)."""
    return match_objects(pred_scene, gt_scene, image_size, label_similarity).score


def count_score(num_pred: int, num_gt: int) -> float:
    """max(0, 1 - |num_pred - num_gt| / max(num_gt, 1))."""
    if num_pred < 0 or num_gt < 0:
        raise ValueError(f"counts must be >= 0, got num_pred={num_pred}, num_gt={num_gt}")
    return max(0.0, 1 - abs(num_pred - num_gt) / max(num_gt, 1))


def count_reward(
    pred_scene: ParsedScene | Mapping | None,
    gt_scene: ParsedScene | Mapping,
    with_relations: bool = True,
) -> float:
    """c = c_obj, or 0.7 c_obj + 0.3 c_rel with relations (counts of valid objects/relations)."""
    pred, gt = as_scene(pred_scene, "pred_scene"), as_scene(gt_scene, "gt_scene")
    objects = count_score(len(pred.objects), len(gt.objects))
    if not with_relations:
        return objects
    return 0.7 * objects + 0.3 * count_score(len(pred.relations), len(gt.relations))


# ---------------------------------------------------------------- answer and format


def normalise_letter(answer: str, num_options: int | None = None) -> str:
    """'B', 'b', '(B)', ' B. ' -> 'B'; anything else (or a letter past num_options) is an error."""
    match = None
    if isinstance(answer, str):
        match = re.fullmatch(r"\s*\(?\s*([A-Za-z])\s*\)?\s*[.:]?\s*", answer)
    limit = LETTERS if num_options is None else LETTERS[:num_options]
    if match is None or match.group(1).upper() not in limit:
        raise ValueError(f"correct answer must be one of the letters {limit}, got {answer!r}")
    return match.group(1).upper()


def accuracy_reward(letter: str | None, correct: str) -> float:
    """a: 1 if the parsed letter equals the correct letter ('B', '(B)', 'b'), else 0."""
    return 1.0 if letter is not None and letter == normalise_letter(correct) else 0.0


def format_reward(parsed: ParsedOutput) -> float:
    """f: 1 if the parser found no format problem for the required tags, else 0."""
    return 1.0 if parsed.format_ok else 0.0


DEFAULT_3D_PHRASES: tuple[tuple[str, ...], ...] = (
    ("location",),
    ("vector",),
    ("direction",),
    ("cosine", "angle"),
)


def process_reward(
    output: str | ParsedOutput,
    phrases: Sequence[str | Sequence[str]] = DEFAULT_3D_PHRASES,
) -> float:
    """SpatialReasoner's process reward: the fraction of phrase groups present.

    Each group is a phrase or a tuple of alternatives (any one counts), matched case-insensitively
    as a substring ('location' also finds 'locations') in the think block, or in the whole
    output when there is no complete think block.
    """
    groups = [(g,) if isinstance(g, str) else tuple(g) for g in phrases]
    well_formed = all(isinstance(p, str) and p for g in groups for p in g)
    if not groups or not all(groups) or not well_formed:
        raise ValueError(f"phrases must be non-empty strings or groups of them, got {phrases!r}")
    parsed = output if isinstance(output, ParsedOutput) else parse_output(output, None, ())
    think = parsed.block("think")
    text = think if think is not None else parsed.text
    text = text.casefold()
    return sum(any(p.casefold() in text for p in group) for group in groups) / len(groups)


# ---------------------------------------------------------------- totals


@dataclass(frozen=True)
class RewardWeights:
    """Weights of SpatialThinker's dense reward."""

    format: float = 0.1
    count: float = 0.2
    accuracy: float = 0.5
    spatial: float = 0.2


def gated_total(
    format_value: float,
    count_value: float,
    accuracy_value: float,
    spatial_value: float,
    weights: RewardWeights = RewardWeights(),
) -> float:
    """R = w_f f + w_c c + w_a a + w_s s [a = 1], and R = 0 when f = 0."""
    if format_value == 0:
        return 0.0
    spatial_term = weights.spatial * spatial_value if accuracy_value == 1 else 0.0
    return (
        weights.format * format_value
        + weights.count * count_value
        + weights.accuracy * accuracy_value
        + spatial_term
    )


@dataclass(frozen=True)
class DenseReward:
    """SpatialThinker's reward components (ungated) and the gated total."""

    format: float
    count: float
    accuracy: float
    spatial: float
    total: float
    parsed: ParsedOutput


def spatialthinker_reward(
    output: str,
    options: Sequence[str],
    correct: str,
    gt_scene: ParsedScene | Mapping,
    image_size: Sequence[float],
    *,
    with_relations: bool = True,
    label_similarity: str | LabelSimilarity = "normalised",
    weights: RewardWeights = RewardWeights(),
) -> DenseReward:
    """Parse ``output`` against the four SpatialThinker tags and score it.

    correct: the correct letter; gt_scene: the ground-truth scene graph (dict in the JSON form
    or ParsedScene) with boxes in pixels of ``image_size`` = (width, height).
    """
    correct = normalise_letter(correct, len(options))
    parsed = parse_output(output, options, SPATIALTHINKER_TAGS)
    f = format_reward(parsed)
    c = count_reward(parsed.scene, gt_scene, with_relations)
    a = accuracy_reward(parsed.letter, correct)
    s = spatial_reward(parsed.scene, gt_scene, image_size, label_similarity)
    return DenseReward(f, c, a, s, gated_total(f, c, a, s, weights), parsed)


@dataclass(frozen=True)
class SparseWeights:
    """Weights of the sparse reward: accuracy + format (+ process for SpatialReasoner)."""

    accuracy: float = 1.0
    format: float = 1.0
    process: float = 0.0


# SpatialReasoner's GRPO reward with its optional process term, at half the accuracy weight.
SPATIALREASONER_WEIGHTS = SparseWeights(accuracy=1.0, format=1.0, process=0.5)


@dataclass(frozen=True)
class SparseReward:
    """Sparse reward components and their weighted sum (no gating)."""

    format: float
    accuracy: float
    process: float
    total: float
    parsed: ParsedOutput


def sparse_reward(
    output: str,
    options: Sequence[str],
    correct: str,
    *,
    required_tags: Sequence[str] = SPATIALREASONER_TAGS,
    weights: SparseWeights = SparseWeights(),
    phrases: Sequence[str | Sequence[str]] = DEFAULT_3D_PHRASES,
) -> SparseReward:
    """total = w_a a + w_f f + w_p p; the baseline (process weight 0) or SpatialReasoner's reward
    (``weights=SPATIALREASONER_WEIGHTS``). The format needs ``required_tags`` (think, answer)."""
    correct = normalise_letter(correct, len(options))
    parsed = parse_output(output, options, required_tags)
    f = format_reward(parsed)
    a = accuracy_reward(parsed.letter, correct)
    p = process_reward(parsed, phrases)
    total = weights.accuracy * a + weights.format * f + weights.process * p
    return SparseReward(f, a, p, total, parsed)
