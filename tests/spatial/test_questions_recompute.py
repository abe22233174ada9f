"""Every generated answer agrees with an independent recomputation from the exported JSON.

The checks below re-read scenes.jsonl / questions.jsonl as plain dicts and recompute each
family with plain `math`, using thresholds in the middle of each family's ambiguity zone
(so they agree with the solver exactly on the unambiguous questions it keeps).
"""

import csv
import json
import math

import pytest

from ponder.spatial.export import export_dataset
from ponder.spatial.families import FAMILIES
from ponder.spatial.questions import Question
from ponder.spatial.scene import scene_from_dict
from ponder.spatial.solver import ExplicitSolver


def sub(a, b):
    return [x - y for x, y in zip(a, b)]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def norm(a):
    return math.sqrt(dot(a, a))


def footprint_points(o, steps=40):
    """Points along the border of the object's footprint, (x, z)."""
    (lx, _, lz), (fx, _, fz) = o["left"], o["front"]
    w, d = o["size"][0] / 2, o["size"][2] / 2
    cx, cz = o["center"][0], o["center"][2]
    corners = [(a * w, b * d) for a, b in ((1, 1), (-1, 1), (-1, -1), (1, -1))]
    points = []
    for k in range(4):
        (a0, b0), (a1, b1) = corners[k], corners[(k + 1) % 4]
        for t in range(steps):
            a, b = a0 + (a1 - a0) * t / steps, b0 + (b1 - b0) * t / steps
            points.append((cx + a * lx + b * fx, cz + a * lz + b * fz))
    return points


def gap(o1, o2):
    return min(math.dist(p, q) for p in footprint_points(o1) for q in footprint_points(o2))


def bearing(vector, front, left):
    return math.degrees(math.atan2(dot(vector, left), dot(vector, front))) % 360


def quarter(angle, names):
    return names[int(((angle + 45) % 360) // 90)]


def recompute(q: dict, scene: dict):
    objs = {o["id"]: o for o in scene["objects"]}
    c = {i: o["center"] for i, o in objs.items()}
    ids, cands, fam = q["object_ids"], q["candidates"], q["family"]
    yes = {True: "yes", False: "no"}
    flat = lambda v: [v[0], 0.0, v[2]]  # noqa: E731
    if fam == "3dsr_height":
        return max(cands, key=lambda i: c[i][1] + objs[i]["size"][1] / 2)
    if fam == "3dsr_location_above":
        a, b = ids
        return yes[c[a][1] - objs[a]["size"][1] / 2 >= c[b][1] + objs[b]["size"][1] / 2 - 0.02]
    if fam in ("3dsr_location_closer_to_camera",):
        return yes[norm(c[ids[0]]) < norm(c[ids[1]])]
    if fam == "3dsr_location_next_to":
        return yes[gap(objs[ids[0]], objs[ids[1]]) < 1.0]
    if fam == "3dsr_orientation_in_front_of":
        return yes[dot(sub(c[ids[0]], c[ids[1]]), objs[ids[1]]["front"]) > 0]
    if fam == "3dsr_orientation_on_the_left":
        return yes[dot(sub(c[ids[0]], c[ids[1]]), objs[ids[1]]["left"]) > 0]
    if fam == "3dsr_orientation_viewpoint":
        o = objs[ids[0]]
        angle = bearing(flat([-x for x in c[ids[0]]]), o["front"], o["left"])
        return quarter(angle, ("in front of it", "on its left", "behind it", "on its right"))
    if fam == "3dsr_multi_object_closer_to":
        a, b, ref = ids
        return yes[math.dist(c[a], c[ref]) < math.dist(c[b], c[ref])]
    if fam == "3dsr_multi_object_facing":
        f = objs[ids[0]]["front"]
        return max(cands, key=lambda i: dot(sub(c[i], c[ids[0]]), f) / norm(sub(c[i], c[ids[0]])))
    if fam == "3dsr_multi_object_viewpoint_towards_object":
        a, b, other = ids
        forward = flat(sub(c[b], c[a]))
        left = [forward[2], 0.0, -forward[0]]  # up x forward
        return "left" if dot(sub(c[other], c[a]), left) > 0 else "right"
    if fam == "3dsr_multi_object_parallel":
        return yes[abs(dot(objs[ids[0]]["front"], objs[ids[1]]["front"])) > math.cos(0.44)]
    if fam == "3dsr_multi_object_same_direction":
        return yes[dot(objs[ids[0]]["front"], objs[ids[1]]["front"]) > math.cos(0.6)]
    if fam == "cvbench_depth":
        return min(cands, key=lambda i: norm(c[i]))
    if fam in ("cvbench_distance", "st_distance"):
        return min(cands, key=lambda i: math.dist(c[i], c[ids[0]]))
    if fam == "st_relation":
        dx, _, dz = sub(c[ids[0]], c[ids[1]])
        if abs(dx) > abs(dz):
            return "left of" if dx > 0 else "right of"
        return "in front of" if dz < 0 else "behind"
    if fam == "st_reach":
        return yes[gap(objs[ids[0]], objs[ids[1]]) < 0.75]
    if fam == "st_size":
        return max(cands, key=lambda i: math.prod(objs[i]["size"]))
    if fam == "st_orientation":
        sight = flat(c[ids[0]])
        angle = bearing(objs[ids[0]]["front"], sight, [sight[2], 0.0, -sight[0]])
        names = ("away from the camera", "to the left", "towards the camera", "to the right")
        return quarter(angle, names)
    if fam == "st_instance_location":
        (box,) = [o["bbox"] for o in q["gold_scene"]["objects"] if o["id"] == ids[0]]
        cam = scene["camera"]
        u, v = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return (
            f"{'top' if v < cam['image_height'] / 2 else 'bottom'} "
            f"{'left' if u < cam['image_width'] / 2 else 'right'}"
        )
    if fam == "st_depth":
        return max(cands, key=lambda i: norm(c[i]))
    if fam == "st_count":
        return str(sum(o["category"] == q["query_category"] for o in objs.values()))
    if fam == "st_existence":
        return yes[any(o["category"] == q["query_category"] for o in objs.values())]
    raise AssertionError(f"no independent check for {fam}")


def project(cam, p):
    pitch = math.radians(cam["pitch_deg"])
    y = p[1] * math.cos(pitch) + p[2] * math.sin(pitch)
    z = -p[1] * math.sin(pitch) + p[2] * math.cos(pitch)
    f = cam["focal_px"]
    return cam["image_width"] / 2 - f * p[0] / z, cam["image_height"] / 2 - f * y / z


def box_of_3d_corners(cam, o):
    points = []
    for a in (-1, 1):
        for b in (-1, 1):
            for e in (-1, 1):
                offset = [
                    a * o["size"][0] / 2 * o["left"][k]
                    + b * o["size"][1] / 2 * o["up"][k]
                    + e * o["size"][2] / 2 * o["front"][k]
                    for k in range(3)
                ]
                points.append(project(cam, [o["center"][k] + offset[k] for k in range(3)]))
    us, vs = [p[0] for p in points], [p[1] for p in points]
    return min(us), min(vs), max(us), max(vs)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("spatial_set")
    export_dataset(out, n_questions=150, seed=11, questions_per_scene=6)
    scenes = {s["scene_id"]: s for s in map(json.loads, (out / "scenes.jsonl").open())}
    questions = [json.loads(line) for line in (out / "questions.jsonl").open()]
    return out, scenes, questions


def test_every_family_is_generated(exported):
    _, _, questions = exported
    assert {q["family"] for q in questions} == set(FAMILIES)


def test_answers_agree_with_independent_recomputation(exported):
    _, scenes, questions = exported
    for q in questions:
        expected = recompute(q, scenes[q["scene_id"]])
        assert q["option_values"]["ABCD".index(q["answer"])] == expected, q


def test_options_are_distinct_and_well_formed(exported):
    _, _, questions = exported
    for q in questions:
        assert len(q["options"]) in (2, 4)
        assert len(set(q["options"])) == len(q["options"]), q["options"]
        assert len(set(q["option_values"])) == len(q["option_values"])
        assert q["answer"] in "ABCD"[: len(q["options"])]
        assert q["trace"] and q["question"].endswith("?")


def test_gold_boxes_lie_inside_the_projected_3d_boxes(exported):
    _, scenes, questions = exported
    for q in questions:
        scene = scenes[q["scene_id"]]
        objs = {o["id"]: o for o in scene["objects"]}
        for gold in q["gold_scene"]["objects"]:
            u1, v1, u2, v2 = box_of_3d_corners(scene["camera"], objs[gold["id"]])
            x1, y1, x2, y2 = gold["bbox"]
            assert u1 - 1 <= x1 <= x2 <= u2 + 1 and v1 - 1 <= y1 <= y2 <= v2 + 1


def test_oracle_answers_every_question_and_copy(exported):
    out, scenes, questions = exported
    oracle = ExplicitSolver([scene_from_dict(s) for s in scenes.values()])
    for q in questions:
        letter, trace = oracle.answer(Question.from_dict(q))
        assert letter == q["answer"] and "Answer: (" in trace
    rows = list(csv.DictReader((out / "questions.tsv").open(), delimiter="\t"))
    by_group: dict[str, list[dict]] = {}
    for row in rows:
        by_group.setdefault(row["g_index"], []).append(row)
    assert len(by_group) == len(questions)
    for g_index, group in by_group.items():
        q = questions[int(g_index)]
        assert len(group) == len(q["options"])
        for row in group:
            assert int(row["index"]) % 1_000_000 == int(g_index)
            assert row[row["answer"]] == q["options"]["ABCD".index(q["answer"])]
