"""Shared pieces of explicit 3D reasoning: probes, decisions, vectors and trace phrases.

A `Probe` says what a question asks (family, objects, candidate answers); a `Decision` is
what the explicit solver concludes: the answer value, the step-by-step trace in the
SpatialReasoner style (locations, vectors, directions, cosines, angles, decision), the
relationships that justify it, and whether it clears the family's ambiguity margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ponder.spatial.scene import Scene

UP = np.array([0.0, 1.0, 0.0])


@dataclass(frozen=True)
class Probe:
    """What a question asks about a scene, independent of its wording and option order."""

    family: str  # a key of ponder.spatial.families.FAMILIES
    object_ids: tuple[str, ...] = ()  # the objects named in the question, in the family's roles
    candidates: tuple[str, ...] = ()  # option values when the options are objects
    category: str | None = None  # the category asked about (count, existence)


@dataclass(frozen=True)
class Decision:
    value: str  # the answer as an option value: "yes", "car.1", "left", "3", ...
    steps: tuple[str, ...]  # the explicit 3D reasoning, one sentence per step
    clear: bool  # False: a near-tie inside the family's margin; questions are not made from it
    relationships: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    @property
    def trace(self) -> str:
        return "\n".join(self.steps)


def fmt(vector) -> str:
    """'(0.20, 0.40, 0.60)'"""
    return "(" + ", ".join(f"{float(v):.2f}" for v in vector) + ")"


def location(scene: Scene, object_id: str) -> np.ndarray:
    return np.array(scene.get(object_id).center)


def label(scene: Scene, object_id: str) -> str:
    return f"{scene.get(object_id).description} ({object_id})"


def locate_step(scene: Scene, object_id: str) -> str:
    return f"3D location of {label(scene, object_id)}: {fmt(location(scene, object_id))}."


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if norm < 1e-9:
        raise ValueError(f"cannot take the direction of a zero vector {fmt(vector)}")
    return np.asarray(vector, dtype=float) / norm


def horizontal(vector: np.ndarray) -> np.ndarray:
    return np.array([vector[0], 0.0, vector[2]], dtype=float)


def cosine_angle(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(cosine, angle in degrees) between two non-zero vectors."""
    cos = float(np.clip(unit(a) @ unit(b), -1.0, 1.0))
    return cos, math.degrees(math.acos(cos))


def side_test(vector: np.ndarray, direction: np.ndarray, what: str, margin_deg: float):
    """(is_on_that_side, clear, step): angle between `vector` and `direction` against 90 deg."""
    cos, angle = cosine_angle(vector, direction)
    relation = "<" if angle < 90 else ">="
    verdict = "on that side" if angle < 90 else "not on that side"
    clear = abs(angle - 90.0) >= margin_deg
    step = (
        f"cosine between them {cos:.2f}, angle {angle:.1f} deg {relation} 90 deg, "
        f"so it is {verdict} ({what})."
    )
    return angle < 90.0, clear, step


def distance_clear(near: float, far: float, min_m: float = 0.3, min_ratio: float = 0.1) -> bool:
    """Two distances differ enough: by at least min_m metres and min_ratio of the smaller."""
    return far - near >= max(min_m, min_ratio * near)


def sector(angle_deg: float, names: tuple[str, str, str, str], margin_deg: float):
    """Name of the 90-degree sector around 0 / 90 / 180 / 270 deg and whether it is clear.

    names: (around 0, around 90, around 180, around 270). Clear when the angle is at least
    margin_deg away from the sector boundaries at 45, 135, 225, 315.
    """
    a = angle_deg % 360.0
    index = int(((a + 45.0) % 360.0) // 90.0)
    offset = (a - 45.0) % 90.0
    to_boundary = min(offset, 90.0 - offset)  # 45 at a sector centre, 0 on a boundary
    return names[index], to_boundary >= margin_deg
