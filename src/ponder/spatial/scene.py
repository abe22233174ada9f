"""3D scene graphs: objects, a pinhole camera, and their JSON forms.

Frame (as SpatialReasoner): camera-centred and gravity-aligned, in metres. The origin is the
camera centre, +x points to the camera's left, +y up (against gravity), +z forward (the
camera's heading projected on the ground). The ground plane is y = -camera.height_m.
The camera may look down by `pitch_deg`; its optical axis is (0, -sin p, cos p).

Two JSON forms:
- `scene_to_dict` / `scene_from_dict`: the full 3D scene; floats are written with `repr`
  precision by `json`, so a round trip is exact.
- `spatialthinker_json`: the SpatialThinker scene graph, objects with pixel boxes
  [x1, y1, x2, y2] and relationships {"subject", "predicate", "object"}.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

Vec3 = tuple[float, float, float]

UNIT_TOLERANCE = 1e-6  # |norm - 1| and |dot| allowed for direction vectors
NEAR_PLANE_M = 0.1  # every object corner must be at least this far in front of the camera
ID_PATTERN = re.compile(r"^[a-z][a-z_]*\.[1-9][0-9]*$")  # "car.1", "traffic_cone.12"


def _vec3(value, name: str) -> Vec3:
    """Three finite floats, or a ValueError naming `name` and the bad value."""
    try:
        x, y, z = (float(v) for v in value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be three numbers, got {value!r}") from error
    if not all(math.isfinite(v) for v in (x, y, z)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return (x, y, z)


def heading_vectors(heading_deg: float) -> tuple[Vec3, Vec3, Vec3]:
    """(front, left, up) of an upright object turned `heading_deg` from +z towards +x.

    heading 0 faces away from the camera (+z), 90 faces the camera's left (+x),
    180 faces the camera (-z), 270 faces the camera's right (-x).
    """
    h = math.radians(heading_deg)
    front = (math.sin(h), 0.0, math.cos(h))
    left = (math.cos(h), 0.0, -math.sin(h))  # up x front
    return front, left, (0.0, 1.0, 0.0)


@dataclass(frozen=True)
class SceneObject:
    """One object: an oriented 3D box holding a shape of its category.

    size is the extent along the object's own (left, up, front) axes, in metres.
    front, left, up form a right-handed orthonormal frame with left = up x front
    (the same handedness as the camera frame: x = y x z).
    """

    id: str  # "name.number", e.g. "car.1"
    category: str  # e.g. "car"; decides the rendered shape
    color: str  # colour name, part of the object's description ("the red car")
    center: Vec3  # metres, camera frame
    size: Vec3  # metres along (left, up, front)
    front: Vec3
    left: Vec3
    up: Vec3 = (0.0, 1.0, 0.0)
    supported_by: str | None = None  # id of the object this one rests on, None: the ground

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not ID_PATTERN.match(self.id):
            raise ValueError(
                f"object id must look like 'name.number' (e.g. 'car.1'), got {self.id!r}"
            )
        for name in ("center", "size", "front", "left", "up"):
            object.__setattr__(self, name, _vec3(getattr(self, name), f"{self.id}.{name}"))
        if min(self.size) <= 0.0:
            raise ValueError(f"{self.id}.size must be positive along every axis, got {self.size}")
        axes = {"front": self.front, "left": self.left, "up": self.up}
        for name, vector in axes.items():
            norm = math.sqrt(sum(v * v for v in vector))
            if abs(norm - 1.0) > UNIT_TOLERANCE:
                raise ValueError(
                    f"{self.id}.{name} must be a unit vector, got {vector} (norm {norm:.6g})"
                )
        pairs = (("front", "left"), ("front", "up"), ("left", "up"))
        for a, b in pairs:
            dot = sum(p * q for p, q in zip(axes[a], axes[b]))
            if abs(dot) > UNIT_TOLERANCE:
                raise ValueError(
                    f"{self.id}.{a} and {self.id}.{b} must be orthogonal, dot = {dot:.6g}"
                )
        expected_left = np.cross(self.up, self.front)
        if np.abs(expected_left - np.array(self.left)).max() > 1e-5:
            raise ValueError(
                f"{self.id}.left must equal up x front = {tuple(np.round(expected_left, 6))} "
                f"(right-handed frame), got {self.left}"
            )

    @property
    def name(self) -> str:
        return self.id.split(".")[0]

    @property
    def description(self) -> str:
        """How questions refer to the object: 'the red car'."""
        return f"the {self.color} {self.category.replace('_', ' ')}"

    def rotation(self) -> np.ndarray:
        """[3, 3], rows are the world directions of the local (left, up, front) axes."""
        return np.array([self.left, self.up, self.front])

    def to_world(self, local: np.ndarray) -> np.ndarray:
        """[N, 3] local (left, up, front) metres -> [N, 3] camera-frame metres."""
        return np.asarray(self.center) + np.asarray(local) @ self.rotation()

    def corners(self) -> np.ndarray:
        """[8, 3] corners of the object's oriented box, camera frame."""
        half = np.array(self.size) / 2.0
        signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)])
        return self.to_world(signs * half)

    @property
    def bottom_y(self) -> float:
        return float(self.corners()[:, 1].min())

    @property
    def top_y(self) -> float:
        return float(self.corners()[:, 1].max())


@dataclass(frozen=True)
class PinholeCamera:
    """A pinhole camera at the origin, pitched down by `pitch_deg`, principal point centred."""

    image_width: int = 512  # pixels
    image_height: int = 384  # pixels
    focal_px: float = 443.4  # pixels; 512 px wide -> 60 deg horizontal field of view
    pitch_deg: float = 12.0  # positive looks down
    height_m: float = 1.6  # camera centre above the ground plane

    def __post_init__(self) -> None:
        if int(self.image_width) < 16 or int(self.image_height) < 16:
            raise ValueError(
                "image size must be at least 16 x 16 pixels, "
                f"got {self.image_width} x {self.image_height}"
            )
        if not (math.isfinite(self.focal_px) and self.focal_px > 0):
            raise ValueError(f"focal_px must be a positive number of pixels, got {self.focal_px}")
        if not -60.0 <= self.pitch_deg <= 60.0:
            raise ValueError(f"pitch_deg must lie in [-60, 60], got {self.pitch_deg}")
        if not (math.isfinite(self.height_m) and self.height_m > 0):
            raise ValueError(f"height_m must be a positive height in metres, got {self.height_m}")

    @property
    def ground_y(self) -> float:
        return -self.height_m

    def to_optical(self, points: np.ndarray) -> np.ndarray:
        """[N, 3] camera frame -> [N, 3] optical frame (x left, y image-up, z along the axis)."""
        p = math.radians(self.pitch_deg)
        c, s = math.cos(p), math.sin(p)
        points = np.asarray(points, dtype=np.float64)
        x, y, z = points[:, 0], points[:, 1], points[:, 2]
        return np.stack([x, y * c + z * s, -y * s + z * c], axis=1)

    def project(self, points: np.ndarray) -> np.ndarray:
        """[N, 3] camera frame (in front of the camera) -> [N, 2] pixel (u, v), v grows downward."""
        optical = self.to_optical(points)
        depth = optical[:, 2]
        u = self.image_width / 2.0 - self.focal_px * optical[:, 0] / depth
        v = self.image_height / 2.0 - self.focal_px * optical[:, 1] / depth
        return np.stack([u, v], axis=1)


@dataclass(frozen=True)
class Scene:
    """A camera and its objects; validated on construction."""

    scene_id: str
    camera: PinholeCamera
    objects: tuple[SceneObject, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        seen: set[str] = set()
        descriptions: set[str] = set()
        for obj in self.objects:
            if obj.id in seen:
                raise ValueError(f"duplicate object id {obj.id!r} in scene {self.scene_id!r}")
            if obj.description in descriptions:
                raise ValueError(
                    f"two objects are both {obj.description!r} in scene {self.scene_id!r}; "
                    "colour + category must be unique so questions can name objects"
                )
            seen.add(obj.id)
            descriptions.add(obj.description)
            depth = self.camera.to_optical(obj.corners())[:, 2].min()
            if depth < NEAR_PLANE_M:
                raise ValueError(
                    f"object {obj.id!r} is behind or too close to the camera: nearest corner at "
                    f"optical depth {depth:.3f} m, need >= {NEAR_PLANE_M} m"
                )
        for obj in self.objects:
            if obj.supported_by is not None and obj.supported_by not in seen:
                raise ValueError(f"{obj.id}.supported_by names unknown object {obj.supported_by!r}")

    def get(self, object_id: str) -> SceneObject:
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        known = ", ".join(o.id for o in self.objects)
        raise ValueError(f"no object {object_id!r} in scene {self.scene_id!r}; objects: {known}")

    @property
    def categories(self) -> list[str]:
        return sorted({o.category for o in self.objects})


def scene_to_dict(scene: Scene) -> dict:
    """The full 3D scene as plain JSON types; `scene_from_dict` inverts it exactly."""
    cam = scene.camera
    return {
        "scene_id": scene.scene_id,
        "frame": "camera-centred, gravity-aligned, metres: +x left, +y up, +z forward",
        "camera": {
            "image_width": cam.image_width,
            "image_height": cam.image_height,
            "focal_px": cam.focal_px,
            "pitch_deg": cam.pitch_deg,
            "height_m": cam.height_m,
        },
        "objects": [
            {
                "id": o.id,
                "category": o.category,
                "color": o.color,
                "center": list(o.center),
                "size": list(o.size),
                "front": list(o.front),
                "left": list(o.left),
                "up": list(o.up),
                "supported_by": o.supported_by,
            }
            for o in scene.objects
        ],
    }


def scene_from_dict(data: dict) -> Scene:
    """Inverse of `scene_to_dict`; validates everything (ValueError on bad input)."""
    try:
        camera = PinholeCamera(**data["camera"])
        objects = tuple(
            SceneObject(
                id=o["id"],
                category=o["category"],
                color=o["color"],
                center=o["center"],
                size=o["size"],
                front=o["front"],
                left=o["left"],
                up=o.get("up", (0.0, 1.0, 0.0)),
                supported_by=o.get("supported_by"),
            )
            for o in data["objects"]
        )
        return Scene(scene_id=str(data["scene_id"]), camera=camera, objects=objects)
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a ponder 3D scene dict ({error!r}): {str(data)[:200]}") from error


def spatialthinker_json(
    scene: Scene,
    object_ids: list[str] | None = None,
    relationships: list[tuple[str, str, str]] | None = None,
) -> dict:
    """SpatialThinker scene graph: objects with integer pixel boxes, and relationships.

    object_ids: which objects to list (default all, in scene order).
    relationships: (subject, predicate, object) triples; default none.
    """
    from ponder.spatial.shapes import box_2d  # shapes imports scene: import here

    ids = [o.id for o in scene.objects] if object_ids is None else list(object_ids)
    objects = []
    for object_id in ids:
        x1, y1, x2, y2 = box_2d(scene.camera, scene.get(object_id))
        objects.append({"id": object_id, "bbox": [round(x1), round(y1), round(x2), round(y2)]})
    rels = [{"subject": s, "predicate": p, "object": o} for s, p, o in (relationships or [])]
    return {"objects": objects, "relationships": rels}
