"""Hand-computed scenes with known answers for every question family.

The main scene (pitch 0, camera 1.6 m above the ground, so the ground is y = -1.6):

  car.1     red car, centre (0, -0.8, 8), 1.8 x 1.6 x 4.0 m, heading 90: faces +x (camera's left)
  person.1  blue person, (2.5, -0.65, 8), 1.9 m tall, heading 270: faces -x, towards the car;
            footprint gap to the car 2.325 - 2.0 = 0.325 m
  person.2  orange person, (4.5, -0.75, 11), heading 100: faces almost +x, like the car
  crate.1   green crate, (-2.5, -1.2, 6), 0.8 m cube
  barrel.1  yellow barrel resting on the crate: bottom at y = -0.8 = crate top
  chair.1   white chair, (0.5, -1.15, 4), heading 180: faces the camera
"""

from dataclasses import replace

import pytest

from ponder.spatial.families import FAMILIES
from ponder.spatial.reasoning import Probe
from ponder.spatial.scene import PinholeCamera, Scene, SceneObject, heading_vectors
from ponder.spatial.solver import solve


def obj(object_id, color, center, size, heading, supported_by=None):
    front, left, up = heading_vectors(heading)
    category = object_id.split(".")[0]
    return SceneObject(object_id, category, color, center, size, front, left, up, supported_by)


def handmade_scene() -> Scene:
    camera = PinholeCamera(512, 384, 443.4, 0.0, 1.6)
    objects = (
        obj("car.1", "red", (0.0, -0.8, 8.0), (1.8, 1.6, 4.0), 90.0),
        obj("person.1", "blue", (2.5, -0.65, 8.0), (0.5, 1.9, 0.35), 270.0),
        obj("person.2", "orange", (4.5, -0.75, 11.0), (0.5, 1.7, 0.35), 100.0),
        obj("crate.1", "green", (-2.5, -1.2, 6.0), (0.8, 0.8, 0.8), 0.0),
        obj("barrel.1", "yellow", (-2.5, -0.35, 6.0), (0.6, 0.9, 0.6), 0.0, "crate.1"),
        obj("chair.1", "white", (0.5, -1.15, 4.0), (0.5, 0.9, 0.5), 180.0),
    )
    return Scene("handmade", camera, objects)


# (family, object_ids, candidates, category, expected value)
CASES = [
    ("3dsr_height", (), ("car.1", "person.1"), None, "person.1"),  # tops 0.0 vs 0.3
    ("3dsr_location_above", ("barrel.1", "crate.1"), (), None, "yes"),
    ("3dsr_location_above", ("person.1", "car.1"), (), None, "no"),
    ("3dsr_location_closer_to_camera", ("chair.1", "car.1"), (), None, "yes"),  # 4.19 vs 8.04
    ("3dsr_location_closer_to_camera", ("person.2", "car.1"), (), None, "no"),
    ("3dsr_location_next_to", ("person.1", "car.1"), (), None, "yes"),  # gap 0.325
    ("3dsr_location_next_to", ("crate.1", "person.2"), (), None, "no"),
    ("3dsr_orientation_in_front_of", ("person.1", "car.1"), (), None, "yes"),
    ("3dsr_orientation_in_front_of", ("crate.1", "car.1"), (), None, "no"),  # cos -0.77
    ("3dsr_orientation_on_the_left", ("chair.1", "car.1"), (), None, "yes"),  # car left = -z
    ("3dsr_orientation_on_the_left", ("person.2", "car.1"), (), None, "no"),
    ("3dsr_orientation_viewpoint", ("chair.1",), (), None, "in front of it"),  # bearing 7 deg
    ("3dsr_orientation_viewpoint", ("person.2",), (), None, "on its left"),  # bearing 102 deg
    ("3dsr_orientation_viewpoint", ("person.1",), (), None, "on its right"),
    ("3dsr_multi_object_closer_to", ("person.1", "crate.1", "car.1"), (), None, "yes"),
    ("3dsr_multi_object_closer_to", ("crate.1", "person.1", "car.1"), (), None, "no"),
    ("3dsr_multi_object_facing", ("person.1",), ("car.1", "chair.1"), None, "car.1"),
    (
        "3dsr_multi_object_viewpoint_towards_object",
        ("chair.1", "car.1", "person.1"),
        (),
        None,
        "left",
    ),
    (
        "3dsr_multi_object_viewpoint_towards_object",
        ("chair.1", "car.1", "crate.1"),
        (),
        None,
        "right",
    ),
    ("3dsr_multi_object_parallel", ("person.1", "car.1"), (), None, "yes"),  # opposite ways
    ("3dsr_multi_object_parallel", ("chair.1", "car.1"), (), None, "no"),  # 90 deg
    ("3dsr_multi_object_same_direction", ("person.2", "car.1"), (), None, "yes"),  # 10 deg
    ("3dsr_multi_object_same_direction", ("person.1", "car.1"), (), None, "no"),  # 180 deg
    ("cvbench_depth", (), ("car.1", "chair.1"), None, "chair.1"),
    ("cvbench_distance", ("car.1",), ("crate.1", "person.1"), None, "person.1"),  # 3.23 vs 2.5
    ("st_relation", ("person.1", "crate.1"), (), None, "left of"),  # dx +5.0, dz +2.0
    ("st_relation", ("chair.1", "car.1"), (), None, "in front of"),  # dx 0.5, dz -4.0
    ("st_relation", ("person.2", "chair.1"), (), None, "behind"),  # dx +4.0, dz +7.0
    ("st_reach", ("person.1", "car.1"), (), None, "yes"),
    ("st_reach", ("person.1", "crate.1"), (), None, "no"),
    ("st_size", (), ("chair.1", "car.1", "crate.1"), None, "car.1"),
    ("st_orientation", ("car.1",), (), None, "to the left"),
    ("st_orientation", ("chair.1",), (), None, "towards the camera"),
    ("st_orientation", ("person.1",), (), None, "to the right"),
    ("st_instance_location", ("crate.1",), (), None, "bottom right"),  # u 440, v 280
    ("st_instance_location", ("person.1",), (), None, "bottom left"),
    ("st_depth", (), ("chair.1", "car.1", "person.2"), None, "person.2"),
    ("st_distance", ("person.1",), ("car.1", "crate.1", "person.2"), None, "car.1"),
    ("st_count", (), (), "person", "2"),
    ("st_count", (), (), "crate", "1"),
    ("st_existence", (), (), "barrel", "yes"),
]


@pytest.mark.parametrize(("family", "ids", "candidates", "category", "expected"), CASES)
def test_handmade_answers(family, ids, candidates, category, expected):
    decision = solve(handmade_scene(), Probe(family, ids, candidates, category))
    assert decision.value == expected, decision.trace
    assert decision.clear, decision.trace


def test_every_family_has_a_handmade_case():
    assert {case[0] for case in CASES} == set(FAMILIES)


def test_existence_no_when_category_absent():
    scene = handmade_scene()
    no_chair = replace(scene, objects=tuple(o for o in scene.objects if o.category != "chair"))
    decision = solve(no_chair, Probe("st_existence", category="chair"))
    assert (decision.value, decision.clear) == ("no", True)


@pytest.mark.parametrize(
    ("family", "ids", "candidates"),
    [
        ("3dsr_height", (), ("car.1", "barrel.1")),  # tops 0.0 vs 0.1: inside the 0.15 m margin
        ("3dsr_location_next_to", ("barrel.1", "crate.1"), ()),  # stacked, not side by side
        ("st_relation", ("crate.1", "car.1"), ()),  # dx -2.5 vs dz -2.0: no dominant axis
        ("3dsr_multi_object_facing", ("person.1",), ("car.1", "barrel.1")),  # 3 vs 22 deg
    ],
)
def test_near_ties_are_not_clear(family, ids, candidates):
    assert not solve(handmade_scene(), Probe(family, ids, candidates)).clear


def test_trace_follows_spatialreasoner_style():
    decision = solve(handmade_scene(), Probe("3dsr_orientation_on_the_left", ("person.2", "car.1")))
    text = decision.trace
    assert "3D location of the orange person (person.2): (4.50, -0.75, 11.00)" in text
    assert "Vector from car.1 to person.2: (4.50, 0.05, 3.00)" in text
    assert "Left direction of the red car (car.1): (0.00, 0.00, -1.00)" in text
    # cos = -3 / |(4.5, 0.05, 3)| = -0.5547 -> 123.7 deg
    assert "Cosine between them -0.55, angle 123.7 deg >= 90 deg" in text
    assert "on the right of car.1" in text


@pytest.mark.parametrize(
    ("probe", "needle"),
    [
        (Probe("no_such_family", ("car.1",)), "valid families"),
        (Probe("3dsr_location_above", ("car.1", "boat.1")), "boat.1"),
        (Probe("3dsr_orientation_in_front_of", ("car.1", "crate.1")), "visible front"),
        (Probe("st_reach", ("car.1", "crate.1")), "person"),
        (Probe("st_count", category="unicorn"), "unicorn"),
        (Probe("3dsr_location_above", ("car.1",)), "needs 2 object ids"),
    ],
)
def test_bad_probes_raise_clear_errors(probe, needle):
    with pytest.raises(ValueError, match=needle):
        solve(handmade_scene(), probe)


def test_facing_an_object_straight_above_is_not_clear():
    probe = Probe("3dsr_multi_object_viewpoint_towards_object", ("crate.1", "barrel.1", "car.1"))
    assert not solve(handmade_scene(), probe).clear
