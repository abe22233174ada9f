"""Reward components against hand-computed values (REFERENCE 2.1, 2.2)."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponder.spatial.parser import SPATIALREASONER_TAGS, parse_output
from ponder.spatial.rewards import (
    DEFAULT_3D_PHRASES,
    LABEL_SIMILARITY,
    SPATIALREASONER_WEIGHTS,
    RewardWeights,
    accuracy_reward,
    box_iou,
    check_box,
    complete_iou,
    count_reward,
    count_score,
    format_reward,
    gated_total,
    match_objects,
    normalise_box,
    normalise_label,
    normalise_letter,
    process_reward,
    shifted_complete_iou,
    sparse_reward,
    spatial_reward,
    spatialthinker_reward,
    token_overlap_similarity,
)

IMAGE = (200, 100)  # width, height
GT = {
    "objects": [
        {"id": "man.1", "bbox": [0, 0, 100, 100]},
        {"id": "bike.1", "bbox": [100, 0, 200, 100]},
    ],
    "relationships": [{"subject": "man.1", "predicate": "left of", "object": "bike.1"}],
}
BIKE = ["in front of the bike", "behind the bike"]


def scene(*objects, relations=()):
    return {
        "objects": [{"id": i, "bbox": list(b)} for i, b in objects],
        "relationships": [{"subject": s, "predicate": p, "object": o} for s, p, o in relations],
    }


# ---------------------------------------------------------------- CIoU by hand


def test_identical_boxes_have_ciou_one():
    assert complete_iou((3, 4, 10, 20), (3, 4, 10, 20)) == 1.0
    assert shifted_complete_iou((3, 4, 10, 20), (3, 4, 10, 20)) == 1.0


def test_ciou_of_shifted_equal_squares():
    # pred [0,0,2,2], gt [1,0,3,2]: intersection 1x2 = 2, union 4 + 4 - 2 = 6, IoU = 1/3;
    # centres (1,1) and (2,1): rho^2 = 1; enclosing [0,0,3,2]: c^2 = 9 + 4 = 13;
    # same aspect ratio: v = 0.  CIoU = 1/3 - 1/13 = 10/39.
    assert box_iou((0, 0, 2, 2), (1, 0, 3, 2)) == pytest.approx(1 / 3)
    assert complete_iou((0, 0, 2, 2), (1, 0, 3, 2)) == pytest.approx(10 / 39)
    assert shifted_complete_iou((0, 0, 2, 2), (1, 0, 3, 2)) == pytest.approx((10 / 39 + 1) / 2)


def test_ciou_with_the_aspect_ratio_term():
    # pred [0,0,4,2] (4 wide, 2 high), gt [0,0,2,2]: intersection 4, union 8, IoU = 0.5;
    # centres (2,1), (1,1): rho^2 = 1; enclosing [0,0,4,2]: c^2 = 16 + 4 = 20 -> 0.05.
    # v = 4/pi^2 (atan(2/2) - atan(4/2))^2 = 0.405285 * (0.785398 - 1.107149)^2 = 0.0419565
    # alpha = v / ((1 - 0.5) + v) = 0.0774168; alpha v = 0.0032481
    # CIoU = 0.5 - 0.05 - 0.0032481 = 0.4467519
    v = 4 / math.pi**2 * (math.atan(1.0) - math.atan(2.0)) ** 2
    assert v == pytest.approx(0.0419565, abs=1e-7)
    alpha = v / (0.5 + v)
    assert alpha * v == pytest.approx(0.0032481, abs=1e-7)
    assert complete_iou((0, 0, 4, 2), (0, 0, 2, 2)) == pytest.approx(0.4467519, abs=1e-7)


def test_far_disjoint_boxes_have_negative_ciou():
    # [0,0,1,1] vs [9,9,10,10]: IoU 0, rho^2 = 81 + 81 = 162, c^2 = 100 + 100 = 200, v = 0.
    assert complete_iou((0, 0, 1, 1), (9, 9, 10, 10)) == pytest.approx(-0.81)
    assert shifted_complete_iou((0, 0, 1, 1), (9, 9, 10, 10)) == pytest.approx(0.095)
    # tall [0,0,1,4] vs wide [10,0,14,1]: rho^2 = 11.5^2 + 1.5^2 = 134.5, c^2 = 14^2 + 4^2 = 212,
    # v = 4/pi^2 (atan 4 - atan 0.25)^2 = 0.405285 * 1.080839^2 = 0.473459,
    # alpha v = v^2 / (1 + v) = 0.152134; CIoU = -0.634434 - 0.152134 = -0.786568
    assert complete_iou((0, 0, 1, 4), (10, 0, 14, 1)) == pytest.approx(-0.786568, abs=1e-6)


def test_shifted_ciou_is_clipped_at_zero_when_ciou_dips_below_minus_one():
    # tiny wide box vs tiny tall box far away: distance term near 1, aspect term near 0.5
    pred, gt = (0, 0, 1e-3, 1e-6), (100, 100, 100 + 1e-6, 100 + 1e-3)
    assert complete_iou(pred, gt) < -1.4
    assert shifted_complete_iou(pred, gt) == 0.0


def test_boxes_are_normalised_by_the_image_size():
    assert normalise_box((100, 0, 150, 100), IMAGE) == (0.5, 0.0, 0.75, 1.0)
    with pytest.raises(ValueError, match="x1 < x2"):
        normalise_box((5, 0, 5, 1), IMAGE)
    with pytest.raises(ValueError, match="image_size"):
        normalise_box((0, 0, 1, 1), (0, 100))


# ---------------------------------------------------------------- spatial reward


def test_spatial_reward_by_hand():
    # Normalised by (200, 100): gt man (0,0,.5,1), gt bike (.5,0,1,1); pred bike (.5,0,.75,1).
    # man: identical, CIoU' = 1.
    # bike: IoU = .25/.5 = .5; centres (.625,.5), (.75,.5): rho^2 = .015625; c^2 = .25 + 1
    # = 1.25 -> .0125; v = 4/pi^2 (atan .5 - atan .25)^2 = .0193791 (in pixels it would use
    # atan 1 - atan .5); alpha v = v^2/(.5 + v) = .0007231; CIoU = .4867769, CIoU' = .7433885.
    # s = (1 + .7433885) / 2 = .8716942
    pred = scene(("man.1", (0, 0, 100, 100)), ("bike.1", (100, 0, 150, 100)))
    assert spatial_reward(pred, GT, IMAGE) == pytest.approx(0.8716942, abs=1e-7)
    pixel_ciou = complete_iou((100, 0, 150, 100), (100, 0, 200, 100))
    assert (pixel_ciou + 1) / 2 != pytest.approx(0.7433885, abs=1e-4)
    # a third ground-truth object nobody predicted counts 0
    gt3 = scene(
        ("man.1", (0, 0, 100, 100)), ("bike.1", (100, 0, 200, 100)), ("dog.1", (10, 10, 20, 20))
    )
    assert spatial_reward(pred, gt3, IMAGE) == pytest.approx((1 + 0.7433885) / 3, abs=1e-7)


def test_matching_follows_labels_before_boxes():
    # Boxes swapped: label-true pairs cost 0 + (1 - CIoU'), CIoU of the two halves is
    # 0 - .25/2 = -.125 -> CIoU' = .4375, cost .5625 each (1.125 in all); the box-true pairing
    # costs 2 + 0 each (4 in all). So the labels win and s = .4375.
    pred = scene(("Bikes.1", (0, 0, 100, 100)), ("the man.1", (100, 0, 200, 100)))
    result = match_objects(pred, GT, IMAGE)
    assert {(m.pred_id, m.gt_id) for m in result.matches} == {
        ("Bikes.1", "bike.1"),
        ("the man.1", "man.1"),
    }
    assert result.score == pytest.approx(0.4375)
    # with exact labels 'Bikes' and 'the man' match nothing: the boxes decide, s = 1
    assert spatial_reward(pred, GT, IMAGE, "exact") == pytest.approx(1.0)


def test_spatial_reward_edge_cases():
    assert spatial_reward(None, GT, IMAGE) == 0.0
    assert spatial_reward(scene(), scene(), IMAGE) == 1.0
    assert spatial_reward(scene(("a.1", (0, 0, 1, 1))), scene(), IMAGE) == 0.0
    # more predictions than ground truth: extra predictions are simply unmatched
    pred = scene(
        ("man.1", (0, 0, 100, 100)), ("bike.1", (100, 0, 200, 100)), ("car.1", (5, 5, 9, 9))
    )
    assert spatial_reward(pred, GT, IMAGE) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="gt_scene is not a valid scene graph"):
        spatial_reward(None, {"objects": [{"id": "man", "bbox": [0, 0, 1, 1]}]}, IMAGE)
    with pytest.raises(ValueError, match="did you mean normalised"):
        spatial_reward(None, GT, IMAGE, "normalized")
    with pytest.raises(ValueError, match="must be in"):
        spatial_reward(scene(("man.1", (0, 0, 1, 1))), GT, IMAGE, lambda a, b: 2.0)


def test_label_similarities():
    assert normalise_label("The Red Cars.2") == "red car"
    assert normalise_label("fire-hydrant") == normalise_label("fire_hydrant") == "fire hydrant"
    assert normalise_label("Boxes") == "box" and normalise_label("puppies") == "puppy"
    assert normalise_label("glasses") == "glass" and normalise_label("bus") == "bus"
    assert LABEL_SIMILARITY["normalised"]("a chair", "Chairs") == 1.0
    assert LABEL_SIMILARITY["exact"]("a chair", "Chairs") == 0.0
    assert token_overlap_similarity("red car", "cars") == 0.5


# ---------------------------------------------------------------- count, accuracy, format


def test_count_reward_by_hand():
    assert count_score(3, 2) == 0.5
    assert count_score(5, 2) == 0.0
    assert count_score(0, 0) == 1.0 and count_score(1, 0) == 0.0
    pred = scene(("man.1", (0, 0, 1, 1)), ("bike.1", (0, 0, 2, 2)), ("car.1", (0, 0, 3, 3)))
    # objects 3 vs 2 -> 0.5; relations 0 vs 1 -> 0; c = 0.7 * 0.5 + 0.3 * 0 = 0.35
    assert count_reward(pred, GT, with_relations=False) == 0.5
    assert count_reward(pred, GT) == pytest.approx(0.35)
    assert count_reward(GT, GT) == 1.0


def test_accuracy_and_letters():
    assert accuracy_reward("B", "B") == 1.0
    assert accuracy_reward("B", "(b)") == 1.0
    assert accuracy_reward("A", "B") == 0.0
    assert accuracy_reward(None, "B") == 0.0
    assert normalise_letter(" C. ") == "C"
    with pytest.raises(ValueError, match="letters AB, got 'C'"):
        normalise_letter("C", 2)
    with pytest.raises(ValueError, match="behind"):
        normalise_letter("behind")


def test_format_reward_follows_the_parser():
    assert (
        format_reward(
            parse_output("<think>t</think><answer>B</answer>", BIKE, SPATIALREASONER_TAGS)
        )
        == 1.0
    )
    assert format_reward(parse_output("<answer>B</answer>", BIKE, SPATIALREASONER_TAGS)) == 0.0


# ---------------------------------------------------------------- totals


def test_gated_total_by_hand():
    # R = 0.1 * 1 + 0.2 * 0.35 + 0.5 * 1 + 0.2 * 0.8716942 = 0.8443388
    assert gated_total(1, 0.35, 1, 0.8716942) == pytest.approx(0.8443388)
    # wrong answer: the spatial term is dropped, R = 0.1 + 0.07 = 0.17
    assert gated_total(1, 0.35, 0, 0.8716942) == pytest.approx(0.17)
    # bad format: everything is dropped
    assert gated_total(0, 1, 1, 1) == 0.0
    assert gated_total(1, 1, 1, 1, RewardWeights(1, 1, 1, 1)) == 4.0


def thinker_output(pred_scene: dict, answer: str) -> str:
    return (
        "<observe>A man and a bike.</observe>\n"
        f"<scene>{json.dumps(pred_scene)}</scene>\n"
        "<think>The man is left of the bike and farther away.</think>\n"
        f"<answer>{answer}</answer>"
    )


def test_spatialthinker_reward_end_to_end():
    pred = scene(
        ("man.1", (0, 0, 100, 100)), ("bike.1", (100, 0, 150, 100)), ("car.1", (0, 0, 3, 3))
    )
    result = spatialthinker_reward(
        thinker_output(pred, "(B) behind the bike"), BIKE, "B", GT, IMAGE
    )
    # f = 1; c = 0.35 (3 vs 2 objects, 0 vs 1 relations); a = 1;
    # s: man 1, bike .7433885, car unmatched (extra) -> s = .8716942
    assert (result.format, result.accuracy) == (1.0, 1.0)
    assert result.count == pytest.approx(0.35)
    assert result.spatial == pytest.approx(0.8716942, abs=1e-7)
    assert result.total == pytest.approx(0.1 + 0.07 + 0.5 + 0.2 * 0.8716942, abs=1e-7)

    wrong = spatialthinker_reward(thinker_output(pred, "(A)"), BIKE, "B", GT, IMAGE)
    assert wrong.total == pytest.approx(0.17)
    assert wrong.spatial == pytest.approx(0.8716942, abs=1e-7)  # reported, not counted

    no_format = spatialthinker_reward("<answer>(B)</answer>", BIKE, "B", GT, IMAGE)
    assert (no_format.accuracy, no_format.total) == (1.0, 0.0)

    with pytest.raises(ValueError, match="correct answer"):
        spatialthinker_reward("x", BIKE, "C", GT, IMAGE)


REASONER = (
    "<think>The location of the mug is (0.2, 0.4, 0.6) and the location of the laptop is "
    "(-0.1, 0.4, 0.7). The vector from the laptop to the mug is (0.3, 0, -0.1); the left "
    "direction of the camera is (1, 0, 0). Cosine similarity 0.95, angle 18.4 degrees < 90, so "
    "the mug is on the left.</think><answer>(A) left</answer>"
)


def test_process_reward_counts_phrase_groups():
    assert process_reward(REASONER) == 1.0
    assert process_reward("<think>Its Location is near; the angle is small.</think>") == 0.5
    assert process_reward("no think block, but a vector and a direction") == 0.5
    assert process_reward(REASONER, ["location", ("quaternion", "cosine")]) == 1.0
    assert process_reward(REASONER, ["quaternion"]) == 0.0
    assert len(DEFAULT_3D_PHRASES) == 4
    with pytest.raises(ValueError, match="phrases"):
        process_reward(REASONER, [])


def test_sparse_reward_and_spatialreasoner_weights():
    options = ["left", "right"]
    baseline = sparse_reward(REASONER, options, "A")
    assert (baseline.format, baseline.accuracy, baseline.process) == (1.0, 1.0, 1.0)
    assert baseline.total == 2.0
    assert sparse_reward(REASONER, options, "A", weights=SPATIALREASONER_WEIGHTS).total == 2.5
    wrong = sparse_reward(REASONER, options, "B")
    assert wrong.total == 1.0
    untagged = sparse_reward("(A) left", options, "A")
    assert (untagged.format, untagged.accuracy, untagged.total) == (0.0, 1.0, 1.0)


# ---------------------------------------------------------------- any output, bounded rewards

coordinates = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-300, 300),
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, 5e-324, 1e-320, 1e308, -1e308, 1.7976931348623157e308]),
)
boxes = st.lists(coordinates, min_size=4, max_size=4)
labels = st.sampled_from(["man", "bike", "Bikes", "the man", "car", "ünïcode", "a b"])
predicted_objects = st.lists(
    st.builds(
        lambda label, n, box: {"id": f"{label}.{n}", "bbox": box}, labels, st.integers(0, 3), boxes
    ),
    max_size=5,
)
answers = st.sampled_from(["(A)", "(B)", "B", "behind the bike", "(A) or (B)", "", "(Z)"])


@settings(max_examples=150, deadline=None)
@given(
    objects=predicted_objects,
    answer=answers,
    with_relations=st.booleans(),
    similarity=st.sampled_from(sorted(LABEL_SIMILARITY)),
)
def test_rewards_stay_bounded_on_any_predicted_scene(objects, answer, with_relations, similarity):
    output = thinker_output({"objects": objects, "relationships": []}, answer)
    result = spatialthinker_reward(
        output, BIKE, "B", GT, IMAGE, with_relations=with_relations, label_similarity=similarity
    )
    for value in (result.format, result.count, result.accuracy, result.spatial, result.total):
        assert 0.0 <= value <= 1.0 and not math.isnan(value)
    if result.format == 0:
        assert result.total == 0.0


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_rewards_never_raise_on_arbitrary_text(text):
    dense = spatialthinker_reward(text, BIKE, "A", GT, IMAGE)
    assert 0.0 <= dense.total <= 1.0
    sparse = sparse_reward(text, BIKE, "A", weights=SPATIALREASONER_WEIGHTS)
    assert 0.0 <= sparse.total <= 2.5


@settings(max_examples=200, deadline=None)
@given(pred=boxes, gt=boxes)
def test_shifted_ciou_is_in_unit_interval_for_any_valid_boxes(pred, gt):
    try:
        pred_box, gt_box = check_box(pred), check_box(gt)
    except ValueError:
        return
    assert 0.0 <= shifted_complete_iou(pred_box, gt_box) <= 1.0
