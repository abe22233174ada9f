"""Ground-plane geometry: footprints, gaps, drawing order (painter's) and visibility.

Footprints are the objects' oriented boxes seen from above, as [4, 2] (x, z) corners.
Objects are vertical solids inside their footprint, so for two objects with disjoint
footprints a separating vertical plane exists; the one on the camera's side of that plane may
hide the other, never the reverse. That gives an exact painter's order for such scenes.
"""

from __future__ import annotations

import numpy as np

from ponder.spatial.scene import Scene, SceneObject
from ponder.spatial.shapes import box_2d

VISIBILITY_GRID = 12  # samples per side of a box when estimating how much of it is covered


def footprint(obj: SceneObject) -> np.ndarray:
    """[4, 2] (x, z) corners, counter-clockwise seen from above, of the object's box."""
    half_w, half_d = obj.size[0] / 2, obj.size[2] / 2
    left = np.array([obj.left[0], obj.left[2]])
    front = np.array([obj.front[0], obj.front[2]])
    centre = np.array([obj.center[0], obj.center[2]])
    signs = ((1, 1), (-1, 1), (-1, -1), (1, -1))
    return np.array([centre + a * half_w * left + b * half_d * front for a, b in signs])


def _axes(poly: np.ndarray) -> np.ndarray:
    """[E, 2] unit normals of the polygon's edges."""
    edges = np.roll(poly, -1, axis=0) - poly
    normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    t = np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-12), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + t * ab)))


def separating_axis(poly_a: np.ndarray, poly_b: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(unit normal n, offset s) with n.a <= s <= n.b for all points, or None when they overlap."""
    for n in np.concatenate([_axes(poly_a), _axes(poly_b)]):
        pa, pb = poly_a @ n, poly_b @ n
        if pa.max() <= pb.min():
            return n, float((pa.max() + pb.min()) / 2)
        if pb.max() <= pa.min():
            return -n, float(-(pb.max() + pa.min()) / 2)  # offsets measured along -n
    return None


def footprint_gap(a: SceneObject, b: SceneObject) -> float:
    """Shortest horizontal distance (metres) between two footprints; 0 when they overlap."""
    poly_a, poly_b = footprint(a), footprint(b)
    if separating_axis(poly_a, poly_b) is None:
        return 0.0
    distances = []
    for p, q in ((poly_a, poly_b), (poly_b, poly_a)):
        for point in p:
            for i in range(len(q)):
                distances.append(_point_segment_distance(point, q[i], q[(i + 1) % len(q)]))
    return min(distances)


def _stack_root(scene: Scene, obj: SceneObject) -> str:
    while obj.supported_by is not None:
        obj = scene.get(obj.supported_by)
    return obj.id


def _boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def painter_order(scene: Scene) -> list[str]:
    """Object ids in drawing order, far to near; a supported object right after its support."""
    roots: dict[str, list[SceneObject]] = {}
    for obj in scene.objects:
        roots.setdefault(_stack_root(scene, obj), []).append(obj)
    for members in roots.values():
        members.sort(key=lambda o: o.bottom_y)  # supports before what rests on them
    ids = list(roots)
    distance = {i: float(np.linalg.norm(scene.get(i).center)) for i in ids}
    boxes = {i: _union_box([box_2d(scene.camera, o) for o in roots[i]]) for i in ids}
    prints = {i: footprint(scene.get(i)) for i in ids}
    before: dict[str, set[str]] = {i: set() for i in ids}  # before[j]: groups drawn before j
    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            a, b = ids[x], ids[y]
            if not _boxes_overlap(boxes[a], boxes[b]):
                continue
            found = separating_axis(prints[a], prints[b])
            if found is None:  # touching or overlapping footprints: fall back to distance
                near, far = (a, b) if distance[a] < distance[b] else (b, a)
            else:
                _, s = found  # a lies on the side n.p <= s; the camera is at p = 0
                near, far = (a, b) if s >= 0.0 else (b, a)
            before[near].add(far)
    order: list[str] = []
    remaining = set(ids)
    while remaining:
        ready = [i for i in remaining if not (before[i] & remaining)]
        if not ready:  # a cycle cannot happen for disjoint convex footprints; be safe anyway
            ready = list(remaining)
        pick = max(ready, key=lambda i: (distance[i], i))
        order.append(pick)
        remaining.remove(pick)
    return [o.id for root in order for o in roots[root]]


def _union_box(boxes):
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def visible_fractions(scene: Scene) -> dict[str, float]:
    """Lower bound on the visible fraction of each object's pixel box.

    A sample of the box counts as hidden when it falls in the box of any object drawn after it
    (boxes over-cover silhouettes, so the true visible fraction is at least this).
    """
    order = painter_order(scene)
    boxes = {o.id: box_2d(scene.camera, o) for o in scene.objects}
    steps = (np.arange(VISIBILITY_GRID) + 0.5) / VISIBILITY_GRID
    result = {}
    for index, object_id in enumerate(order):
        x1, y1, x2, y2 = boxes[object_id]
        us, vs = np.meshgrid(x1 + steps * (x2 - x1), y1 + steps * (y2 - y1))
        hidden = np.zeros_like(us, dtype=bool)
        for later in order[index + 1 :]:
            bx1, by1, bx2, by2 = boxes[later]
            hidden |= (us >= bx1) & (us <= bx2) & (vs >= by1) & (vs <= by2)
        result[object_id] = float(1.0 - hidden.mean())
    return result


def inside_image(scene: Scene, obj: SceneObject, margin_px: float = 2.0) -> bool:
    x1, y1, x2, y2 = box_2d(scene.camera, obj)
    cam = scene.camera
    return (
        x1 >= margin_px
        and y1 >= margin_px
        and x2 <= cam.image_width - margin_px
        and y2 <= cam.image_height - margin_px
    )
