"""Random scenes: objects on a ground plane (some stacked), no interpenetration, all in view.

Variety is controlled by `SceneConfig` (categories, counts, distances, headings, camera height
and pitch, stacking, how much occlusion is allowed). Randomness comes only from the
`numpy.random.Generator` passed in, so a seed fixes the scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ponder.spatial.geometry import footprint_gap, inside_image, visible_fractions
from ponder.spatial.scene import PinholeCamera, Scene, SceneObject, heading_vectors
from ponder.spatial.shapes import CATEGORIES, PALETTE


@dataclass(frozen=True)
class SceneConfig:
    image_width: int = 512  # pixels
    image_height: int = 384
    horizontal_fov_deg: float = 60.0
    min_objects: int = 3
    max_objects: int = 6
    categories: tuple[str, ...] = tuple(CATEGORIES)
    distance_range_m: tuple[float, float] = (3.5, 11.0)  # forward (z) distance of centres
    heading_range_deg: tuple[float, float] = (0.0, 360.0)  # uniform headings in this range
    camera_height_range_m: tuple[float, float] = (1.4, 2.0)
    pitch_range_deg: tuple[float, float] = (8.0, 16.0)
    stack_probability: float = 0.5  # when a crate top is free: chance the next object goes on it
    cluster_probability: float = 0.35  # chance an object is put close beside another one
    min_gap_m: float = 0.15  # free space between footprints on the ground
    min_visible_fraction: float = 0.5  # occlusion control, see geometry.visible_fractions
    attempts_per_object: int = 40

    def __post_init__(self) -> None:
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if unknown or not self.categories:
            raise ValueError(f"unknown categories {unknown}; choose from {', '.join(CATEGORIES)}")
        if not 1 <= self.min_objects <= self.max_objects <= len(PALETTE):
            raise ValueError(
                f"need 1 <= min_objects <= max_objects <= {len(PALETTE)}, "
                f"got {self.min_objects}, {self.max_objects}"
            )
        near, far = self.distance_range_m
        if not 1.0 <= near < far:
            raise ValueError(f"distance_range_m must satisfy 1 <= near < far, got {(near, far)}")
        if not 0.0 <= self.min_visible_fraction <= 1.0:
            raise ValueError(
                f"min_visible_fraction must lie in [0, 1], got {self.min_visible_fraction}"
            )


def _camera(rng: np.random.Generator, config: SceneConfig) -> PinholeCamera:
    focal = (config.image_width / 2) / math.tan(math.radians(config.horizontal_fov_deg) / 2)
    return PinholeCamera(
        image_width=config.image_width,
        image_height=config.image_height,
        focal_px=round(focal, 3),
        pitch_deg=round(float(rng.uniform(*config.pitch_range_deg)), 2),
        height_m=round(float(rng.uniform(*config.camera_height_range_m)), 3),
    )


def _size(rng: np.random.Generator, category: str) -> tuple[float, float, float]:
    spec = CATEGORIES[category]
    w, h, d = (round(float(rng.uniform(lo, hi)), 3) for lo, hi in zip(spec.size_min, spec.size_max))
    if spec.shape == "cylinder":
        d = w
    return (w, h, d)


def _free_supports(placed: list[SceneObject], category: str) -> list[SceneObject]:
    """Placed objects that can carry one of `category` on their (still empty) top."""
    spec = CATEGORIES[category]
    return [
        o for o in placed
        if spec.can_stack and CATEGORIES[o.category].can_support and o.supported_by is None
        and not any(p.supported_by == o.id for p in placed)
        and max(spec.size_min[0], spec.size_min[2]) <= min(o.size[0], o.size[2])
    ]


def _candidate(rng, config, camera, category, size, placed, object_id, color,
               stack: bool) -> SceneObject:
    """One random pose for a new object: on a free support when `stack`, else on the ground."""
    heading = float(rng.uniform(*config.heading_range_deg))
    front, left, up = heading_vectors(heading)
    supports = _free_supports(placed, category)
    if stack and supports:
        base = supports[int(rng.integers(len(supports)))]
        top_side = min(base.size[0], base.size[2])
        size = (min(size[0], top_side), size[1], min(size[2], top_side))  # shrink to fit on top
        room = (top_side - max(size[0], size[2])) / 2
        dx, dz = rng.uniform(-room, room, size=2) * 0.7
        base_heading = math.degrees(math.atan2(base.front[0], base.front[2]))
        front, left, up = heading_vectors(base_heading + 90.0 * int(rng.integers(4)))
        center = (base.center[0] + dx, base.top_y + size[1] / 2, base.center[2] + dz)
        return SceneObject(object_id, category, color, center, size, front, left, up, base.id)
    grounded = [o for o in placed if o.supported_by is None]
    if grounded and rng.random() < config.cluster_probability:
        anchor = grounded[int(rng.integers(len(grounded)))]
        reach = (max(anchor.size[0], anchor.size[2]) + max(size[0], size[2])) / 2
        radius = float(rng.uniform(reach * 0.6, reach + 0.8))
        angle = float(rng.uniform(0.0, 2 * math.pi))
        x = anchor.center[0] + radius * math.cos(angle)
        z = anchor.center[2] + radius * math.sin(angle)
    else:
        z = float(rng.uniform(*config.distance_range_m))
        half_width = z * math.tan(math.radians(config.horizontal_fov_deg) / 2)
        x = float(rng.uniform(-0.8, 0.8)) * half_width
    center = (x, camera.ground_y + size[1] / 2, z)
    return SceneObject(object_id, category, color, center, size, front, left, up)


def _acceptable(scene: Scene, new: SceneObject, config: SceneConfig) -> bool:
    for other in scene.objects:
        if other.id == new.id or new.supported_by is not None or other.supported_by is not None:
            continue
        if footprint_gap(new, other) < config.min_gap_m:
            return False
    if not inside_image(scene, new):
        return False
    visible = visible_fractions(scene)
    return min(visible.values()) >= config.min_visible_fraction


def generate_scene(
    rng: np.random.Generator, config: SceneConfig | None = None, scene_id: str = "scene_0"
) -> Scene:
    """A random scene; objects that find no valid place within the attempts are left out."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    config = config or SceneConfig()
    camera = _camera(rng, config)
    target = int(rng.integers(config.min_objects, config.max_objects + 1))
    colors = list(PALETTE)
    rng.shuffle(colors)
    placed: list[SceneObject] = []
    counts: dict[str, int] = {}
    for color in colors[:target]:
        stackable = [c for c in config.categories if _free_supports(placed, c)]
        stack = bool(stackable) and rng.random() < config.stack_probability
        pool = stackable if stack else config.categories
        category = pool[int(rng.integers(len(pool)))]
        object_id = f"{category}.{counts.get(category, 0) + 1}"
        size = _size(rng, category)
        for _ in range(config.attempts_per_object):
            try:
                new = _candidate(rng, config, camera, category, size, placed, object_id, color,
                                 stack)
                trial = Scene(scene_id, camera, (*placed, new))
            except ValueError:  # e.g. too close to the camera
                continue
            if _acceptable(trial, new, config):
                placed.append(new)
                counts[category] = counts.get(category, 0) + 1
                break
    return Scene(scene_id, camera, tuple(placed))
