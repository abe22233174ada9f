"""Object categories and their shapes as lists of convex parts (used by the renderer and boxes).

Every part is built in the object's local frame (left, up, front), metres, origin at the centre
of the object's box, then moved to the camera frame. Parts are drawn in list order, except
*attached* parts (a nose, wheels, headlights): those are drawn just after their parent when the
face they sit on looks at the camera, and just before it otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ponder.spatial.scene import PinholeCamera, SceneObject


@dataclass(frozen=True)
class Category:
    name: str
    shape: str  # "box" | "cylinder" | "figure" | "car" | "chair"
    size_min: tuple[float, float, float]  # metres along (left, up, front)
    size_max: tuple[float, float, float]
    has_front: bool  # orientation is visible and questions may use it
    can_support: bool = False  # other objects may rest on its top
    can_stack: bool = False  # may rest on a supporting object


CATEGORIES: dict[str, Category] = {
    "person": Category("person", "figure", (0.5, 1.6, 0.32), (0.6, 1.9, 0.38), has_front=True),
    "car": Category("car", "car", (1.7, 1.35, 3.8), (1.9, 1.6, 4.6), has_front=True),
    "chair": Category("chair", "chair", (0.45, 0.85, 0.45), (0.55, 1.0, 0.55), has_front=True),
    "crate": Category(
        "crate",
        "box",
        (0.5, 0.4, 0.5),
        (1.1, 0.9, 1.1),
        has_front=False,
        can_support=True,
        can_stack=True,
    ),
    "barrel": Category(
        "barrel", "cylinder", (0.5, 0.8, 0.5), (0.7, 1.1, 0.7), has_front=False, can_stack=True
    ),
}

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (205, 45, 40),
    "blue": (40, 80, 200),
    "green": (50, 150, 60),
    "yellow": (235, 200, 40),
    "orange": (240, 130, 30),
    "purple": (130, 60, 170),
    "pink": (235, 120, 170),
    "cyan": (40, 190, 200),
    "brown": (120, 75, 40),
    "white": (240, 240, 235),
}

SKIN = (230, 190, 150)
DARK = (30, 30, 35)
GLASS = (60, 90, 120)
LIGHT = (255, 250, 200)
TAIL = (200, 20, 20)


@dataclass(frozen=True)
class Part:
    """A convex solid or a flat decal. vertices [V, 3] local metres; normals [F, 3] local."""

    vertices: np.ndarray
    faces: tuple[tuple[int, ...], ...]
    normals: np.ndarray
    rgb: tuple[int, int, int]
    attached_to: int | None = None  # index of the parent part in the list
    attach_normal: tuple[float, float, float] | None = None  # local normal of the parent face
    shaded: bool = True  # decals are flat-coloured


def cuboid(l0, l1, u0, u1, f0, f1, rgb, **kw) -> Part:
    """Axis-aligned (local) box spanning [l0, l1] x [u0, u1] x [f0, f1]."""
    v = np.array([[l, u, f] for l in (l0, l1) for u in (u0, u1) for f in (f0, f1)], dtype=float)
    # vertex index = 4 * (l is l1) + 2 * (u is u1) + (f is f1)
    faces = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))
    normals = np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]], float)
    return Part(v, faces, normals, rgb, **kw)


def prism(center_a, center_b, radius, a0, a1, axis, rgb, sides=16, **kw) -> Part:
    """A regular prism (cylinder stand-in) along local `axis` (0: left, 1: up), from a0 to a1.

    center_a, center_b: the centre coordinates on the two other axes, in increasing axis order.
    """
    others = [i for i in range(3) if i != axis]
    angles = 2 * math.pi * (np.arange(sides) + 0.5) / sides
    ring = np.stack([center_a + radius * np.cos(angles), center_b + radius * np.sin(angles)], 1)
    vertices = np.zeros((2 * sides, 3))
    for level, value in enumerate((a0, a1)):
        block = vertices[level * sides : (level + 1) * sides]
        block[:, axis] = value
        block[:, others[0]], block[:, others[1]] = ring[:, 0], ring[:, 1]
    faces = [tuple(range(sides - 1, -1, -1)), tuple(range(sides, 2 * sides))]
    normals = [np.eye(3)[axis] * -1, np.eye(3)[axis]]
    for i in range(sides):
        j = (i + 1) % sides
        faces.append((i, j, sides + j, sides + i))
        n = np.zeros(3)
        mid = angles[i] + math.pi / sides  # between vertices i and i + 1 (also for the last)
        n[others[0]], n[others[1]] = math.cos(mid), math.sin(mid)
        normals.append(n)
    return Part(vertices, tuple(faces), np.array(normals), rgb, **kw)


def decal_front(l0, l1, u0, u1, f, rgb, parent, sign=1.0) -> Part:
    """A flat rectangle on the plane front = f, facing +front (sign 1) or -front (sign -1)."""
    f = f + sign * 0.004  # a few millimetres off the face
    v = np.array([[l0, u0, f], [l1, u0, f], [l1, u1, f], [l0, u1, f]], dtype=float)
    n = (0.0, 0.0, sign)
    return Part(
        v, ((0, 1, 2, 3),), np.array([n]), rgb, attached_to=parent, attach_normal=n, shaded=False
    )


def local_parts(category: str, size, rgb) -> list[Part]:
    """The parts of one object of `category`, sized to its (left, up, front) box."""
    shape = CATEGORIES[category].shape if category in CATEGORIES else None
    w, h, d = size
    bottom = -h / 2
    if shape == "box":
        return [cuboid(-w / 2, w / 2, -h / 2, h / 2, -d / 2, d / 2, rgb)]
    if shape == "cylinder":
        return [prism(0.0, 0.0, min(w, d) / 2, -h / 2, h / 2, 1, rgb)]
    if shape == "figure":
        head_r = min(0.11, d * 0.45)
        legs_top, torso_top = bottom + 0.47 * h, bottom + 0.84 * h
        return [
            cuboid(-0.32 * w, 0.32 * w, bottom, legs_top, -0.3 * d, 0.3 * d, (60, 60, 90)),
            cuboid(-w / 2, w / 2, legs_top, torso_top, -0.38 * d, 0.38 * d, rgb),
            prism(0.0, 0.0, head_r, torso_top + 0.01, h / 2, 1, SKIN, sides=12),
            cuboid(
                -0.025,
                0.025,
                h / 2 - 0.12,
                h / 2 - 0.07,
                head_r - 0.01,
                d / 2,
                SKIN,
                attached_to=2,
                attach_normal=(0, 0, 1),
            ),
            decal_front(0.03, 0.07, h / 2 - 0.07, h / 2 - 0.04, head_r * 0.96, DARK, 2),
            decal_front(-0.07, -0.03, h / 2 - 0.07, h / 2 - 0.04, head_r * 0.96, DARK, 2),
        ]
    if shape == "car":
        wheel_r, body_w = 0.2 * h, 0.9 * w
        body_top = bottom + 0.55 * h
        parts = [
            cuboid(-body_w / 2, body_w / 2, bottom + 0.14 * h, body_top, -d / 2, d / 2, rgb),
            cuboid(-0.42 * w, 0.42 * w, body_top, h / 2, -0.3 * d, 0.18 * d, rgb),
            decal_front(
                -0.38 * w, 0.38 * w, body_top + 0.05 * h, h / 2 - 0.06 * h, 0.18 * d, GLASS, 1
            ),
            decal_front(
                -0.38 * w,
                0.38 * w,
                body_top + 0.05 * h,
                h / 2 - 0.06 * h,
                -0.3 * d,
                GLASS,
                1,
                sign=-1.0,
            ),
            decal_front(
                0.24 * w, 0.42 * w, body_top - 0.17 * h, body_top - 0.07 * h, d / 2, LIGHT, 0
            ),
            decal_front(
                -0.42 * w, -0.24 * w, body_top - 0.17 * h, body_top - 0.07 * h, d / 2, LIGHT, 0
            ),
            decal_front(
                0.28 * w,
                0.42 * w,
                body_top - 0.15 * h,
                body_top - 0.08 * h,
                -d / 2,
                TAIL,
                0,
                sign=-1.0,
            ),
            decal_front(
                -0.42 * w,
                -0.28 * w,
                body_top - 0.15 * h,
                body_top - 0.08 * h,
                -d / 2,
                TAIL,
                0,
                sign=-1.0,
            ),
        ]
        for side in (1.0, -1.0):
            l_in, l_out = side * body_w / 2, side * w / 2
            for f in (0.3 * d, -0.3 * d):
                parts.append(
                    prism(
                        bottom + wheel_r,
                        f,
                        wheel_r,
                        min(l_in, l_out),
                        max(l_in, l_out),
                        0,
                        DARK,
                        sides=12,
                        attached_to=0,
                        attach_normal=(side, 0, 0),
                    )
                )
        return parts
    if shape == "chair":
        seat_lo, seat_hi, leg = bottom + 0.45 * h, bottom + 0.52 * h, 0.05
        parts = [
            cuboid(
                sl * w / 2 - (leg if sl > 0 else 0),
                sl * w / 2 + (leg if sl < 0 else 0),
                bottom,
                seat_lo,
                sf * d / 2 - (leg if sf > 0 else 0),
                sf * d / 2 + (leg if sf < 0 else 0),
                DARK,
            )
            for sl in (-1, 1)
            for sf in (-1, 1)
        ]
        parts.append(cuboid(-w / 2, w / 2, seat_lo, seat_hi, -d / 2, d / 2, rgb))
        parts.append(cuboid(-w / 2, w / 2, seat_hi, h / 2, -d / 2, -d / 2 + 0.07, rgb))
        return parts
    raise ValueError(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")


def world_parts(obj: SceneObject) -> list[Part]:
    """The object's parts with vertices and normals in the camera frame."""
    rgb = PALETTE.get(obj.color, (150, 150, 150))
    rotation = obj.rotation()
    return [
        Part(
            obj.to_world(p.vertices),
            p.faces,
            p.normals @ rotation,
            p.rgb,
            p.attached_to,
            None if p.attach_normal is None else tuple(np.array(p.attach_normal) @ rotation),
            p.shaded,
        )
        for p in local_parts(obj.category, obj.size, rgb)
    ]


def box_2d(camera: PinholeCamera, obj: SceneObject) -> tuple[float, float, float, float]:
    """Tight pixel box (x1, y1, x2, y2) of the rendered silhouette (extreme vertices)."""
    points = np.concatenate([p.vertices for p in world_parts(obj)])
    uv = camera.project(points)
    x1, y1 = uv.min(axis=0)
    x2, y2 = uv.max(axis=0)
    return (float(x1), float(y1), float(x2), float(y2))
