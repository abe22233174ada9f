"""Explicit 3D deciders for CV-Bench 3D (depth, relative distance) and the nine SpatialThinker
categories (relation, reach, size, orientation, instance location, depth, distance, count,
existence). Margins are module constants, listed per family in docs/spatial.md.
"""

from __future__ import annotations

import numpy as np

from ponder.spatial.families_3dsr import bearing_in_frame, expect, need_front
from ponder.spatial.geometry import footprint_gap, visible_fractions
from ponder.spatial.reasoning import (
    UP,
    Decision,
    Probe,
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
from ponder.spatial.shapes import CATEGORIES, box_2d

RELATION_DOMINANCE = 1.5  # the deciding axis offset must be 1.5 x the other one...
RELATION_MIN_M = 0.3  # ...and at least this many metres
REACH_MAX_GAP_M = 0.5  # within arm's reach: footprints at most this far apart
OUT_OF_REACH_MIN_GAP_M = 1.0  # out of reach: at least this far apart
SIZE_RATIO = 1.5  # the largest box volume must be 1.5 x the next one
ORIENTATION_MARGIN_DEG = 10.0  # heading at least this far from the 45 deg sector boundaries
IMAGE_MIDLINE_MARGIN = 0.05  # box centre at least 5 % of the image size from the midlines
COUNT_MIN_VISIBLE = 0.5  # every counted object must be at least this visible


def _ranked_by_distance(scene: Scene, probe: Probe, origin: np.ndarray, origin_name: str):
    steps, dist = [], {}
    for object_id in probe.candidates:
        dist[object_id] = float(np.linalg.norm(location(scene, object_id) - origin))
        steps.append(
            f"{locate_step(scene, object_id)} Distance to {origin_name} {dist[object_id]:.2f} m."
        )
    return sorted(probe.candidates, key=lambda i: dist[i]), dist, steps


def decide_cv_depth(scene: Scene, probe: Probe) -> Decision:
    """CV-Bench depth: which candidate is closer to the camera."""
    expect(probe, 0, 2)
    ranked, dist, steps = _ranked_by_distance(scene, probe, np.zeros(3), "the camera")
    steps.append(
        f"The smallest distance is {dist[ranked[0]]:.2f} m, so "
        f"{label(scene, ranked[0])} is closer to the camera."
    )
    rels = tuple((ranked[0], "closer to camera than", other) for other in ranked[1:])
    return Decision(ranked[0], tuple(steps), distance_clear(dist[ranked[0]], dist[ranked[1]]), rels)


def decide_cv_distance(scene: Scene, probe: Probe) -> Decision:
    """CV-Bench relative distance: which candidate is closer to the reference object."""
    expect(probe, 1, 2)
    (ref,) = probe.object_ids
    ranked, dist, steps = _ranked_by_distance(scene, probe, location(scene, ref), ref)
    steps.insert(0, locate_step(scene, ref))
    steps.append(
        f"The smallest distance is {dist[ranked[0]]:.2f} m, so "
        f"{label(scene, ranked[0])} is closer to {label(scene, ref)}."
    )
    clear = distance_clear(dist[ranked[0]], dist[ranked[1]])
    return Decision(ranked[0], tuple(steps), clear, ((ranked[0], "closer to", ref),))


def decide_st_relation(scene: Scene, probe: Probe) -> Decision:
    """Where A is relative to B seen from the camera: left of, right of, in front of, behind."""
    expect(probe, 2)
    a, b = probe.object_ids
    offset = location(scene, a) - location(scene, b)
    dx, dz = float(offset[0]), float(offset[2])
    if abs(dx) >= abs(dz):
        value, big, small = ("left of" if dx > 0 else "right of"), abs(dx), abs(dz)
    else:
        value, big, small = ("in front of" if dz < 0 else "behind"), abs(dz), abs(dx)
    steps = (
        locate_step(scene, a),
        locate_step(scene, b),
        f"Vector from {b} to {a}: {fmt(offset)}; sideways (+x is the camera's left) {dx:+.2f} m, "
        f"depth (+z away from the camera) {dz:+.2f} m.",
        f"The larger offset is {big:.2f} m against {small:.2f} m, so {a} is {value} {b}.",
    )
    clear = big >= RELATION_DOMINANCE * small and big >= RELATION_MIN_M
    return Decision(value, steps, clear, ((a, value, b),))


def decide_st_reach(scene: Scene, probe: Probe) -> Decision:
    """Can person A reach object B without walking (horizontal gap between footprints)."""
    expect(probe, 2)
    a, b = probe.object_ids
    if scene.get(a).category != "person":
        raise ValueError(f"family {probe.family!r} needs a person as first object, got {a!r}")
    gap = footprint_gap(scene.get(a), scene.get(b))
    yes = gap <= REACH_MAX_GAP_M
    steps = (
        locate_step(scene, a),
        locate_step(scene, b),
        f"Horizontal gap between {a} and {b}: {gap:.2f} m; arm's reach is "
        f"{REACH_MAX_GAP_M} m, so the answer is {'yes' if yes else 'no'}.",
    )
    clear = yes or gap >= OUT_OF_REACH_MIN_GAP_M
    return Decision(
        "yes" if yes else "no", steps, clear, ((a, "can reach" if yes else "cannot reach", b),)
    )


def decide_st_size(scene: Scene, probe: Probe) -> Decision:
    """Which candidate is largest, by the volume of its 3D box."""
    expect(probe, 0, 2)
    steps, volume = [], {}
    for object_id in probe.candidates:
        w, h, d = scene.get(object_id).size
        volume[object_id] = w * h * d
        steps.append(
            f"Size of {label(scene, object_id)}: {w:.2f} x {h:.2f} x {d:.2f} m, "
            f"box volume {volume[object_id]:.2f} m^3."
        )
    ranked = sorted(probe.candidates, key=lambda i: -volume[i])
    steps.append(
        f"The largest volume is {volume[ranked[0]]:.2f} m^3, so {label(scene, ranked[0])}"
        " is the largest."
    )
    clear = volume[ranked[0]] >= SIZE_RATIO * volume[ranked[1]]
    rels = tuple((ranked[0], "larger than", other) for other in ranked[1:])
    return Decision(ranked[0], tuple(steps), clear, rels)


ORIENTATION_SECTORS = ("away from the camera", "to the left", "towards the camera", "to the right")


def decide_st_orientation(scene: Scene, probe: Probe) -> Decision:
    """Which way A faces relative to the line of sight from the camera to A."""
    expect(probe, 1)
    (a,) = probe.object_ids
    need_front(scene, a, probe.family)
    sight = unit(horizontal(location(scene, a)))
    sight_left = np.cross(UP, sight)
    front = scene.get(a).front
    cf, cl, bearing = bearing_in_frame(np.array(front), sight, sight_left)
    value, clear = sector(bearing, ORIENTATION_SECTORS, ORIENTATION_MARGIN_DEG)
    steps = (
        locate_step(scene, a),
        f"Line of sight from the camera to {a}: {fmt(sight)}; the camera's left across it: "
        f"{fmt(sight_left)}.",
        f"Front direction of {a}: {fmt(front)}; cosine with the line of sight {cf:.2f}, "
        f"with the left {cl:.2f}; heading {bearing:.1f} deg (0 away, 90 left, 180 towards, "
        "270 right).",
        f"So {label(scene, a)} faces {value}.",
    )
    return Decision(value, steps, clear, ((a, "facing " + value, "camera"),))


def decide_st_instance_location(scene: Scene, probe: Probe) -> Decision:
    """Image quadrant of A's 2D box centre."""
    expect(probe, 1)
    (a,) = probe.object_ids
    cam = scene.camera
    x1, y1, x2, y2 = box_2d(cam, scene.get(a))
    u, v = (x1 + x2) / 2, (y1 + y2) / 2
    value = (
        f"{'top' if v < cam.image_height / 2 else 'bottom'} "
        f"{'left' if u < cam.image_width / 2 else 'right'}"
    )
    steps = (
        locate_step(scene, a),
        f"Projected with focal length {cam.focal_px:.1f} px and pitch {cam.pitch_deg:.1f} deg: "
        f"box [{x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f}], centre ({u:.0f}, {v:.0f}) px.",
        f"The image is {cam.image_width} x {cam.image_height} px, centre "
        f"({cam.image_width / 2:.0f}, {cam.image_height / 2:.0f}), so {a} is in the {value}.",
    )
    clear = (
        abs(u - cam.image_width / 2) >= IMAGE_MIDLINE_MARGIN * cam.image_width
        and abs(v - cam.image_height / 2) >= IMAGE_MIDLINE_MARGIN * cam.image_height
    )
    return Decision(value, steps, clear, ((a, "in " + value, "image"),))


def decide_st_depth(scene: Scene, probe: Probe) -> Decision:
    """Which candidate is farthest from the camera."""
    expect(probe, 0, 2)
    ranked, dist, steps = _ranked_by_distance(scene, probe, np.zeros(3), "the camera")
    far, second = ranked[-1], ranked[-2]
    steps.append(
        f"The largest distance is {dist[far]:.2f} m, so {label(scene, far)} is the "
        "farthest from the camera."
    )
    rels = tuple((far, "farther from camera than", other) for other in ranked[:-1])
    return Decision(far, tuple(steps), distance_clear(dist[second], dist[far]), rels)


def decide_st_distance(scene: Scene, probe: Probe) -> Decision:
    """Which candidate is closest to the reference object."""
    return decide_cv_distance(scene, probe)


def _instances(scene: Scene, probe: Probe):
    expect(probe, 0)
    if probe.category not in CATEGORIES:
        raise ValueError(f"unknown category {probe.category!r}; known: {', '.join(CATEGORIES)}")
    found = [o.id for o in scene.objects if o.category == probe.category]
    visible = visible_fractions(scene) if found else {}
    steps = [
        f"{locate_step(scene, i)} At least {visible[i]:.0%} of its box is unoccluded."
        for i in found
    ]
    return found, visible, steps


def decide_st_count(scene: Scene, probe: Probe) -> Decision:
    found, visible, steps = _instances(scene, probe)
    steps.append(f"Counting objects of category {probe.category}: {len(found)}.")
    clear = all(visible[i] >= COUNT_MIN_VISIBLE for i in found)
    return Decision(str(len(found)), tuple(steps), clear, ())


def decide_st_existence(scene: Scene, probe: Probe) -> Decision:
    found, visible, steps = _instances(scene, probe)
    steps.append(
        f"Objects of category {probe.category} in the scene: {len(found)}, so the answer "
        f"is {'yes' if found else 'no'}."
    )
    clear = not found or any(visible[i] >= COUNT_MIN_VISIBLE for i in found)
    return Decision("yes" if found else "no", tuple(steps), clear, ())
