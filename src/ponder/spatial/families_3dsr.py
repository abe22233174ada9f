"""Explicit 3D deciders for the twelve 3DSRBench subtypes.

Each decider takes a scene and a `Probe` and returns a `Decision` (value, trace, clear).
Margins (the near-tie zone in which `clear` is False) are module constants, listed per family
in docs/spatial.md.
"""

from __future__ import annotations

import math

import numpy as np

from ponder.spatial.geometry import footprint_gap
from ponder.spatial.reasoning import (
    UP,
    Decision,
    Probe,
    cosine_angle,
    distance_clear,
    fmt,
    horizontal,
    label,
    locate_step,
    location,
    sector,
    unit,
)
from ponder.spatial.scene import Scene
from ponder.spatial.shapes import CATEGORIES

HEIGHT_MARGIN_M = 0.15  # tops must differ by this much
ABOVE_TOUCH_M = 0.02  # A's bottom within this of B's top still counts as above (resting on it)
ABOVE_MARGIN_M = 0.15  # "not above" needs A's bottom this far below B's top
NEXT_TO_MAX_GAP_M = 0.6  # footprints at most this far apart: next to
APART_MIN_GAP_M = 1.5  # footprints at least this far apart: not next to
MIN_HEADING_BASE_M = 0.3  # standing at A facing B needs B at least this far away horizontally
SIDE_MARGIN_DEG = 15.0  # in front / behind, left / right: angle at least this far from 90 deg
VIEWPOINT_MARGIN_DEG = 10.0  # bearing at least this far from the 45 deg sector boundaries
FACING_MAX_DEG = 35.0  # the faced object is within this angle of the front direction
NOT_FACING_MIN_DEG = 60.0  # every other candidate is at least this far off
PARALLEL_MAX_DEG, NOT_PARALLEL_MIN_DEG = 15.0, 35.0  # angle between the two front lines
SAME_DIRECTION_MAX_DEG, DIFFERENT_DIRECTION_MIN_DEG = 20.0, 50.0  # angle between fronts


def expect(probe: Probe, n_objects: int, n_candidates: int = 0) -> None:
    if len(probe.object_ids) != n_objects or len(probe.candidates) < n_candidates:
        raise ValueError(
            f"family {probe.family!r} needs {n_objects} object ids and at least {n_candidates} "
            f"candidates, got object_ids={probe.object_ids}, candidates={probe.candidates}"
        )


def need_front(scene: Scene, object_id: str, family: str) -> None:
    category = scene.get(object_id).category
    if not CATEGORIES.get(category) or not CATEGORIES[category].has_front:
        with_front = [c for c, spec in CATEGORIES.items() if spec.has_front]
        raise ValueError(
            f"family {family!r} needs an object with a visible front, {object_id!r} is a "
            f"{category}; categories with a front: {', '.join(with_front)}"
        )


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def decide_height(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 0, 2)
    ground = scene.camera.ground_y
    steps, tops = [], {}
    for object_id in probe.candidates:
        tops[object_id] = scene.get(object_id).top_y
        steps.append(
            f"{locate_step(scene, object_id)} Its top is at y = {tops[object_id]:.2f}, "
            f"{tops[object_id] - ground:.2f} m above the ground."
        )
    ranked = sorted(probe.candidates, key=lambda i: -tops[i])
    gap = tops[ranked[0]] - tops[ranked[1]]
    steps.append(
        f"The top of {label(scene, ranked[0])} is {gap:.2f} m higher than the next "
        f"(margin {HEIGHT_MARGIN_M} m), so {label(scene, ranked[0])} is higher."
    )
    rels = tuple((ranked[0], "higher than", other) for other in ranked[1:])
    return Decision(ranked[0], tuple(steps), gap >= HEIGHT_MARGIN_M, rels)


def decide_location_above(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 2)
    a, b = probe.object_ids
    bottom_a, top_b = scene.get(a).bottom_y, scene.get(b).top_y
    above = bottom_a >= top_b - ABOVE_TOUCH_M
    clear = above or bottom_a <= top_b - ABOVE_MARGIN_M
    steps = (
        locate_step(scene, a),
        locate_step(scene, b),
        f"Bottom of {label(scene, a)} at y = {bottom_a:.2f}; top of {label(scene, b)} at "
        f"y = {top_b:.2f}; difference {bottom_a - top_b:+.2f} m.",
        f"A is above B when A's bottom is not below B's top, so the answer is {_yes_no(above)}.",
    )
    return Decision(_yes_no(above), steps, clear, ((a, "above" if above else "not above", b),))


def decide_closer_to_camera(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 2)
    a, b = probe.object_ids
    da, db = float(np.linalg.norm(location(scene, a))), float(np.linalg.norm(location(scene, b)))
    steps = (
        "The camera is at the origin (0.00, 0.00, 0.00).",
        f"{locate_step(scene, a)} Distance to the camera {da:.2f} m.",
        f"{locate_step(scene, b)} Distance to the camera {db:.2f} m.",
        f"{da:.2f} {'<' if da < db else '>='} {db:.2f}, so {label(scene, a)} is "
        f"{'closer to' if da < db else 'farther from'} the camera: {_yes_no(da < db)}.",
    )
    near, far = (a, b) if da < db else (b, a)
    return Decision(
        _yes_no(da < db),
        steps,
        distance_clear(min(da, db), max(da, db)),
        ((near, "closer to camera than", far),),
    )


def decide_next_to(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 2)
    a, b = probe.object_ids
    gap = footprint_gap(scene.get(a), scene.get(b))
    stacked = scene.get(a).supported_by == b or scene.get(b).supported_by == a
    near = gap <= NEXT_TO_MAX_GAP_M
    clear = not stacked and (near or gap >= APART_MIN_GAP_M)
    steps = (
        locate_step(scene, a),
        locate_step(scene, b),
        f"Horizontal gap between their footprints: {gap:.2f} m.",
        f"Next to means a gap of at most {NEXT_TO_MAX_GAP_M} m (apart: at least "
        f"{APART_MIN_GAP_M} m), so the answer is {_yes_no(near)}.",
    )
    return Decision(_yes_no(near), steps, clear, ((a, "next to" if near else "far from", b),))


def _relative_side(scene, a, b, direction_name, yes_phrase, no_phrase, margin=SIDE_MARGIN_DEG):
    """Is A on B's `direction_name` side (front or left)? Angle between B->A and that direction."""
    obj_b = scene.get(b)
    direction = np.array(obj_b.front if direction_name == "front" else obj_b.left)
    vector = location(scene, a) - location(scene, b)
    cos, angle = cosine_angle(vector, direction)
    yes = angle < 90.0
    steps = (
        locate_step(scene, a),
        locate_step(scene, b),
        f"Vector from {b} to {a}: {fmt(vector)}.",
        f"{direction_name.capitalize()} direction of {label(scene, b)}: {fmt(direction)}.",
        f"Cosine between them {cos:.2f}, angle {angle:.1f} deg {'<' if yes else '>='} 90 deg, "
        f"so {label(scene, a)} is {yes_phrase if yes else no_phrase} {b}.",
    )
    return yes, abs(angle - 90.0) >= margin, steps


def decide_in_front_of(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 2)
    a, b = probe.object_ids
    need_front(scene, b, probe.family)
    yes, clear, steps = _relative_side(scene, a, b, "front", "in front of", "behind")
    return Decision(_yes_no(yes), steps, clear, ((a, "in front of" if yes else "behind", b),))


def decide_on_the_left(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 2)
    a, b = probe.object_ids
    need_front(scene, b, probe.family)
    yes, clear, steps = _relative_side(scene, a, b, "left", "on the left of", "on the right of")
    return Decision(_yes_no(yes), steps, clear, ((a, "left of" if yes else "right of", b),))


VIEWPOINT_SECTORS = ("in front of it", "on its left", "behind it", "on its right")


def bearing_in_frame(vector: np.ndarray, front, left) -> tuple[float, float, float]:
    """(cos to front, cos to left, bearing deg): 0 = straight ahead, 90 = to the left."""
    flat = unit(horizontal(vector))
    cf, cl = float(flat @ np.array(front)), float(flat @ np.array(left))
    return cf, cl, math.degrees(math.atan2(cl, cf)) % 360.0


def decide_viewpoint(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 1)
    (a,) = probe.object_ids
    need_front(scene, a, probe.family)
    obj = scene.get(a)
    to_camera = -location(scene, a)
    cf, cl, bearing = bearing_in_frame(to_camera, obj.front, obj.left)
    where, clear = sector(bearing, VIEWPOINT_SECTORS, VIEWPOINT_MARGIN_DEG)
    steps = (
        locate_step(scene, a),
        f"Vector from {a} to the camera (the origin): {fmt(to_camera)}.",
        f"Front direction of {a}: {fmt(obj.front)}; left direction: {fmt(obj.left)}.",
        f"Horizontal cosine with the front {cf:.2f}, with the left {cl:.2f}: the camera is at "
        f"bearing {bearing:.1f} deg (0 ahead, 90 left, 180 behind, 270 right).",
        f"That lies in the sector '{where}' (sectors end at 45, 135, 225, 315 deg).",
    )
    predicate = {
        "in front of it": "in front of",
        "on its left": "left of",
        "behind it": "behind",
        "on its right": "right of",
    }[where]
    return Decision(where, steps, clear, (("camera", predicate, a),))


def decide_multi_closer_to(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 3)
    a, b, c = probe.object_ids
    pc = location(scene, c)
    da = float(np.linalg.norm(location(scene, a) - pc))
    db = float(np.linalg.norm(location(scene, b) - pc))
    steps = (
        locate_step(scene, a),
        locate_step(scene, b),
        locate_step(scene, c),
        f"Distance from {a} to {c}: {da:.2f} m; from {b} to {c}: {db:.2f} m.",
        f"{da:.2f} {'<' if da < db else '>='} {db:.2f}, so the answer is {_yes_no(da < db)}.",
    )
    near, far = (a, b) if da < db else (b, a)
    return Decision(
        _yes_no(da < db),
        steps,
        distance_clear(min(da, db), max(da, db)),
        ((near, "closer to", c), (far, "farther from", c)),
    )


def decide_facing(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 1, 2)
    (a,) = probe.object_ids
    need_front(scene, a, probe.family)
    front = np.array(scene.get(a).front)
    steps, angles = [locate_step(scene, a), f"Front direction of {a}: {fmt(front)}."], {}
    for other in probe.candidates:
        vector = location(scene, other) - location(scene, a)
        cos, angles[other] = cosine_angle(vector, front)
        steps.append(
            f"{locate_step(scene, other)} Vector from {a} to {other}: {fmt(vector)}; "
            f"cosine with the front {cos:.2f}, angle {angles[other]:.1f} deg."
        )
    ranked = sorted(probe.candidates, key=lambda i: angles[i])
    clear = angles[ranked[0]] <= FACING_MAX_DEG and angles[ranked[1]] >= NOT_FACING_MIN_DEG
    steps.append(
        f"The smallest angle is {angles[ranked[0]]:.1f} deg, so {label(scene, a)} "
        f"faces {label(scene, ranked[0])}."
    )
    return Decision(ranked[0], tuple(steps), clear, ((a, "facing", ranked[0]),))


def decide_viewpoint_towards_object(scene: Scene, probe: Probe) -> Decision:
    expect(probe, 3)
    a, b, c = probe.object_ids
    ahead = horizontal(location(scene, b) - location(scene, a))
    if np.linalg.norm(ahead) < MIN_HEADING_BASE_M:  # b stands on a (or a on b): no direction
        steps = (
            locate_step(scene, a),
            locate_step(scene, b),
            f"{a} and {b} are {np.linalg.norm(ahead):.2f} m apart horizontally, too close "
            "to define a facing direction.",
        )
        return Decision("left", steps, False, ())
    forward = unit(ahead)
    left = np.cross(UP, forward)
    vector = location(scene, c) - location(scene, a)
    cos, angle = cosine_angle(vector, left)
    side = "left" if angle < 90.0 else "right"
    steps = (
        locate_step(scene, a),
        locate_step(scene, b),
        locate_step(scene, c),
        f"Standing at {a} facing {b}: forward direction {fmt(forward)}, left direction "
        f"(up x forward) {fmt(left)}.",
        f"Vector from {a} to {c}: {fmt(vector)}.",
        f"Cosine with the left direction {cos:.2f}, angle {angle:.1f} deg "
        f"{'<' if angle < 90 else '>='} 90 deg, so {c} is on the {side}.",
    )
    return Decision(
        side, steps, abs(angle - 90.0) >= SIDE_MARGIN_DEG, ((a, "facing", b), (c, f"{side} of", a))
    )


def _front_angle(scene: Scene, probe: Probe):
    expect(probe, 2)
    a, b = probe.object_ids
    need_front(scene, a, probe.family)
    need_front(scene, b, probe.family)
    fa, fb = scene.get(a).front, scene.get(b).front
    cos, angle = cosine_angle(np.array(fa), np.array(fb))
    steps = [
        f"Front direction of {label(scene, a)}: {fmt(fa)}.",
        f"Front direction of {label(scene, b)}: {fmt(fb)}.",
        f"Cosine between the fronts {cos:.2f}, angle {angle:.1f} deg.",
    ]
    return a, b, angle, steps


def decide_parallel(scene: Scene, probe: Probe) -> Decision:
    a, b, angle, steps = _front_angle(scene, probe)
    line_angle = min(angle, 180.0 - angle)
    yes = line_angle <= PARALLEL_MAX_DEG
    steps.append(
        f"Angle between the two lines {line_angle:.1f} deg; parallel needs at most "
        f"{PARALLEL_MAX_DEG} deg, so the answer is {_yes_no(yes)}."
    )
    clear = yes or line_angle >= NOT_PARALLEL_MIN_DEG
    return Decision(
        _yes_no(yes), tuple(steps), clear, ((a, "parallel to" if yes else "not parallel to", b),)
    )


def decide_same_direction(scene: Scene, probe: Probe) -> Decision:
    a, b, angle, steps = _front_angle(scene, probe)
    yes = angle <= SAME_DIRECTION_MAX_DEG
    steps.append(
        f"Same direction needs at most {SAME_DIRECTION_MAX_DEG} deg, so the answer is "
        f"{_yes_no(yes)}."
    )
    clear = yes or angle >= DIFFERENT_DIRECTION_MIN_DEG
    return Decision(
        _yes_no(yes),
        tuple(steps),
        clear,
        ((a, "same direction as" if yes else "different direction from", b),),
    )
