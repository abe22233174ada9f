"""The question families: one plain table from name to wording, roles, answer kind and decider.

Names start with the benchmark they follow: `3dsr_` (3DSRBench, 12 subtypes), `cvbench_`
(CV-Bench 3D) and `st_` (the nine SpatialThinker categories). `resolve_families` also accepts
the group names in `FAMILY_GROUPS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ponder.spatial import families_3dsr as f3
from ponder.spatial import families_other as fo
from ponder.spatial.reasoning import Decision, Probe
from ponder.spatial.scene import Scene

VIEWPOINT_LABELS = ("in front of it", "on its left", "behind it", "on its right")
RELATION_LABELS = ("left of", "right of", "in front of", "behind")
QUADRANT_LABELS = ("top left", "top right", "bottom left", "bottom right")


@dataclass(frozen=True)
class Family:
    name: str
    benchmark: str  # "3DSRBench" | "CV-Bench" | "SpatialThinker"
    l2_category: str  # the benchmark's top-level type (TSV column l2-category)
    category: str  # the benchmark's subtype (TSV column category)
    template: str  # {o0} {o1} {o2}: object_ids, {c0} {c1}: candidates, {category}, {categories}
    roles: tuple[str, ...]  # one per object id: "any", "front" (has a front) or "person"
    answer_kind: str  # "yes_no" | "objects" (options are candidates) | "labels" | "count"
    decide: Callable[[Scene, Probe], Decision]
    labels: tuple[str, ...] = ()  # option values of a "labels" family, canonical order
    n_candidates: tuple[int, ...] = ()  # allowed candidate counts of an "objects" family


def _f(name, benchmark, l2, category, template, roles, kind, decide, labels=(), n=()):
    return Family(name, benchmark, l2, category, template, roles, kind, decide, labels, n)


_TABLE = [
    _f(
        "3dsr_height",
        "3DSRBench",
        "height",
        "height_higher",
        "Which object reaches higher above the ground, {c0} or {c1}?",
        (),
        "objects",
        f3.decide_height,
        n=(2,),
    ),
    _f(
        "3dsr_location_above",
        "3DSRBench",
        "location",
        "location_above",
        "Is {o0} above {o1}?",
        ("any", "any"),
        "yes_no",
        f3.decide_location_above,
    ),
    _f(
        "3dsr_location_closer_to_camera",
        "3DSRBench",
        "location",
        "location_closer_to_camera",
        "Is {o0} closer to the camera than {o1}?",
        ("any", "any"),
        "yes_no",
        f3.decide_closer_to_camera,
    ),
    _f(
        "3dsr_location_next_to",
        "3DSRBench",
        "location",
        "location_next_to",
        "Is {o0} next to {o1}?",
        ("any", "any"),
        "yes_no",
        f3.decide_next_to,
    ),
    _f(
        "3dsr_orientation_in_front_of",
        "3DSRBench",
        "orientation",
        "orientation_in_front_of",
        "Is {o0} in front of {o1}, on the side that {o1} is facing?",
        ("any", "front"),
        "yes_no",
        f3.decide_in_front_of,
    ),
    _f(
        "3dsr_orientation_on_the_left",
        "3DSRBench",
        "orientation",
        "orientation_on_the_left",
        "From the point of view of {o1}, is {o0} on its left?",
        ("any", "front"),
        "yes_no",
        f3.decide_on_the_left,
    ),
    _f(
        "3dsr_orientation_viewpoint",
        "3DSRBench",
        "orientation",
        "orientation_viewpoint",
        "From the point of view of {o0}, where is the camera that took this photo?",
        ("front",),
        "labels",
        f3.decide_viewpoint,
        labels=VIEWPOINT_LABELS,
    ),
    _f(
        "3dsr_multi_object_closer_to",
        "3DSRBench",
        "multi_object",
        "multi_object_closer_to",
        "Is {o0} closer to {o2} than {o1} is?",
        ("any", "any", "any"),
        "yes_no",
        f3.decide_multi_closer_to,
    ),
    _f(
        "3dsr_multi_object_facing",
        "3DSRBench",
        "multi_object",
        "multi_object_facing",
        "Which object is {o0} facing towards, {c0} or {c1}?",
        ("front",),
        "objects",
        f3.decide_facing,
        n=(2,),
    ),
    _f(
        "3dsr_multi_object_viewpoint_towards_object",
        "3DSRBench",
        "multi_object",
        "multi_object_viewpoint_towards_object",
        "If you stood at {o0} and faced {o1}, would {o2} be on your left or on your right?",
        ("any", "any", "any"),
        "labels",
        f3.decide_viewpoint_towards_object,
        labels=("left", "right"),
    ),
    _f(
        "3dsr_multi_object_parallel",
        "3DSRBench",
        "multi_object",
        "multi_object_parallel",
        "Are {o0} and {o1} parallel to each other (facing the same or opposite ways)?",
        ("front", "front"),
        "yes_no",
        f3.decide_parallel,
    ),
    _f(
        "3dsr_multi_object_same_direction",
        "3DSRBench",
        "multi_object",
        "multi_object_same_direction",
        "Are {o0} and {o1} facing the same direction?",
        ("front", "front"),
        "yes_no",
        f3.decide_same_direction,
    ),
    _f(
        "cvbench_depth",
        "CV-Bench",
        "3D",
        "Depth",
        "Which object is closer to the camera taking this photo, {c0} or {c1}?",
        (),
        "objects",
        fo.decide_cv_depth,
        n=(2,),
    ),
    _f(
        "cvbench_distance",
        "CV-Bench",
        "3D",
        "Distance",
        "Which object is closer to {o0}, {c0} or {c1}?",
        ("any",),
        "objects",
        fo.decide_cv_distance,
        n=(2,),
    ),
    _f(
        "st_relation",
        "SpatialThinker",
        "spatialthinker",
        "relation",
        "Seen from the camera, where is {o0} relative to {o1}?",
        ("any", "any"),
        "labels",
        fo.decide_st_relation,
        labels=RELATION_LABELS,
    ),
    _f(
        "st_reach",
        "SpatialThinker",
        "spatialthinker",
        "reach",
        "Can {o0} reach {o1} without walking?",
        ("person", "any"),
        "yes_no",
        fo.decide_st_reach,
    ),
    _f(
        "st_size",
        "SpatialThinker",
        "spatialthinker",
        "size",
        "Which of these objects is the largest?",
        (),
        "objects",
        fo.decide_st_size,
        n=(4, 2),
    ),
    _f(
        "st_orientation",
        "SpatialThinker",
        "spatialthinker",
        "orientation",
        "Which way is {o0} facing, as seen from the camera?",
        ("front",),
        "labels",
        fo.decide_st_orientation,
        labels=fo.ORIENTATION_SECTORS,
    ),
    _f(
        "st_instance_location",
        "SpatialThinker",
        "spatialthinker",
        "instance location",
        "In which part of the image is {o0}?",
        ("any",),
        "labels",
        fo.decide_st_instance_location,
        labels=QUADRANT_LABELS,
    ),
    _f(
        "st_depth",
        "SpatialThinker",
        "spatialthinker",
        "depth",
        "Which of these objects is the farthest from the camera?",
        (),
        "objects",
        fo.decide_st_depth,
        n=(4, 2),
    ),
    _f(
        "st_distance",
        "SpatialThinker",
        "spatialthinker",
        "distance",
        "Which object is the closest to {o0}?",
        ("any",),
        "objects",
        fo.decide_st_distance,
        n=(4, 2),
    ),
    _f(
        "st_count",
        "SpatialThinker",
        "spatialthinker",
        "count",
        "How many {categories} are there in the image?",
        (),
        "count",
        fo.decide_st_count,
    ),
    _f(
        "st_existence",
        "SpatialThinker",
        "spatialthinker",
        "existence",
        "Is there any {category} in the image?",
        (),
        "yes_no",
        fo.decide_st_existence,
    ),
]

FAMILIES: dict[str, Family] = {family.name: family for family in _TABLE}

FAMILY_GROUPS: dict[str, tuple[str, ...]] = {
    "all": tuple(FAMILIES),
    "3dsr": tuple(n for n in FAMILIES if n.startswith("3dsr_")),
    "cvbench": tuple(n for n in FAMILIES if n.startswith("cvbench_")),
    "spatialthinker": tuple(n for n in FAMILIES if n.startswith("st_")),
}


def resolve_families(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """Family names (groups expanded, order kept, no repeats); ValueError naming valid choices."""
    if not names:
        return list(FAMILIES)
    resolved: list[str] = []
    for name in names:
        if name in FAMILY_GROUPS:
            expanded = FAMILY_GROUPS[name]
        elif name in FAMILIES:
            expanded = (name,)
        else:
            raise ValueError(
                f"unknown question family {name!r}; valid families: {', '.join(FAMILIES)}; "
                f"valid groups: {', '.join(FAMILY_GROUPS)}"
            )
        resolved.extend(n for n in expanded if n not in resolved)
    return resolved


def family_of(name: str) -> Family:
    """The family called `name`; ValueError naming the valid families otherwise."""
    if name not in FAMILIES:
        raise ValueError(f"unknown question family {name!r}; valid families: {', '.join(FAMILIES)}")
    return FAMILIES[name]
