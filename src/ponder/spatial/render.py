"""Render a scene to an RGB image with Pillow: sky, ground grid, shadows, shaded solids.

Painter's algorithm: objects far to near (`geometry.painter_order`), and inside an object its
convex parts in build order with back faces culled (see `shapes`). Lambert shading with one
fixed sun. Pure Pillow polygon filling, so the same scene gives the same bytes every time.
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw

from ponder.spatial.geometry import footprint, painter_order
from ponder.spatial.scene import Scene
from ponder.spatial.shapes import Part, world_parts

SUN = np.array([0.45, 0.8, -0.4]) / np.linalg.norm([0.45, 0.8, -0.4])  # towards the light
AMBIENT, DIFFUSE = 0.45, 0.6
SKY_TOP, SKY_HORIZON = (150, 190, 235), (215, 230, 245)
GROUND, GRID, SHADOW = (196, 190, 172), (176, 170, 152), (150, 145, 130)
GRID_EXTENT_M = 30  # grid lines every metre, |x| <= 30, 0.5 < z <= 60
PNG_COMPRESS_LEVEL = 3  # zlib level: files about as small as level 6, encoding twice as fast


def _shade(rgb, normal: np.ndarray) -> tuple[int, int, int]:
    light = AMBIENT + DIFFUSE * max(0.0, float(normal @ SUN))
    return tuple(int(min(255, round(c * light))) for c in rgb)


def _grid_segments(scene: Scene) -> np.ndarray:
    """[L, 2, 2] pixel end points of the ground grid, clipped to optical depth >= 0.2 m."""
    y, extent = scene.camera.ground_y, GRID_EXTENT_M
    xs = np.arange(-extent, extent + 1, dtype=float)
    zs = np.arange(1, 61, dtype=float)
    starts = np.concatenate(
        [
            np.stack([xs, np.full_like(xs, y), np.full_like(xs, 0.5)], 1),
            np.stack([np.full_like(zs, -extent), np.full_like(zs, y), zs], 1),
        ]
    )
    ends = np.concatenate(
        [
            np.stack([xs, np.full_like(xs, y), np.full_like(xs, 60.0)], 1),
            np.stack([np.full_like(zs, extent), np.full_like(zs, y), zs], 1),
        ]
    )
    near = 0.2
    da = scene.camera.to_optical(starts)[:, 2]
    db = scene.camera.to_optical(ends)[:, 2]
    keep = (da >= near) | (db >= near)
    starts, ends, da, db = starts[keep], ends[keep], da[keep], db[keep]
    span = np.where(db == da, 1.0, db - da)  # only used where one end is clipped: never 0 there
    t_start = np.where(da < near, (near - da) / span, 0.0)[:, None]  # slide start forward
    t_end = np.where(db < near, (db - near) / span, 0.0)[:, None]  # slide end back
    starts, ends = starts + (ends - starts) * t_start, ends + (starts - ends) * t_end
    uv = scene.camera.project(np.concatenate([starts, ends]))
    return np.stack([uv[: len(starts)], uv[len(starts) :]], axis=1)


def _draw_background(draw: ImageDraw.ImageDraw, scene: Scene) -> None:
    cam = scene.camera
    far = cam.project(np.array([[0.0, cam.ground_y, 1e4]]))[0]
    horizon = round(float(np.clip(far[1], -1, cam.image_height + 1)))
    for row in range(max(0, min(horizon, cam.image_height))):
        t = row / max(1, horizon)
        draw.line(
            [(0, row), (cam.image_width, row)],
            fill=tuple(int(s + (h - s) * t) for s, h in zip(SKY_TOP, SKY_HORIZON)),
        )
    draw.rectangle([0, max(0, horizon), cam.image_width, cam.image_height], fill=GROUND)
    for (u0, v0), (u1, v1) in _grid_segments(scene).tolist():
        draw.line([(u0, v0), (u1, v1)], fill=GRID, width=1)


def _draw_shadows(draw: ImageDraw.ImageDraw, scene: Scene) -> None:
    cam = scene.camera
    for obj in scene.objects:
        if obj.supported_by is not None:
            continue
        corners = footprint(obj)  # [4, 2] (x, z)
        centre = corners.mean(axis=0)
        grown = centre + (corners - centre) * 1.08 + np.array([-0.12, 0.08])
        points = np.stack([grown[:, 0], np.full(4, cam.ground_y), grown[:, 1]], axis=1)
        draw.polygon([tuple(p) for p in cam.project(points)], fill=SHADOW)


def _faces_camera(normal: np.ndarray, point: np.ndarray) -> bool:
    return float(normal @ -point) > 0.0  # the camera sits at the origin


def _draw_part(draw: ImageDraw.ImageDraw, scene: Scene, part: Part) -> None:
    uv = scene.camera.project(part.vertices).tolist()  # [V, 2] pixels
    first_vertices = part.vertices[[face[0] for face in part.faces]]  # [F, 3]
    facing = np.einsum("fk,fk->f", part.normals, -first_vertices) > 0.0  # camera at origin
    for face, normal, visible in zip(part.faces, part.normals, facing):
        if not visible:
            continue
        fill = _shade(part.rgb, normal) if part.shaded else part.rgb
        outline = tuple(int(c * 0.7) for c in fill)
        draw.polygon([tuple(uv[i]) for i in face], fill=fill, outline=outline)


def _part_order(parts: list[Part]) -> list[int]:
    """Build order, with each attached part just before or after its parent (see shapes)."""
    order = [i for i, p in enumerate(parts) if p.attached_to is None]
    for i, part in enumerate(parts):
        if part.attached_to is None:
            continue
        anchor = np.asarray(part.vertices).mean(axis=0)
        visible = _faces_camera(np.asarray(part.attach_normal), anchor)
        at = order.index(part.attached_to)
        order.insert(at + 1 if visible else at, i)
    return order


def render_scene(scene: Scene, supersample: int = 1) -> Image.Image:
    """RGB image of `scene` at the camera's image size (drawn `supersample` times larger)."""
    if supersample not in (1, 2, 3, 4):
        raise ValueError(f"supersample must be 1, 2, 3 or 4, got {supersample!r}")
    cam = scene.camera
    big = scene if supersample == 1 else _scaled(scene, supersample)
    image = Image.new("RGB", (big.camera.image_width, big.camera.image_height), SKY_TOP)
    draw = ImageDraw.Draw(image)
    _draw_background(draw, big)
    _draw_shadows(draw, big)
    for object_id in painter_order(big):
        parts = world_parts(big.get(object_id))
        for index in _part_order(parts):
            _draw_part(draw, big, parts[index])
    if supersample > 1:
        image = image.resize((cam.image_width, cam.image_height), Image.Resampling.BOX)
    return image


def _scaled(scene: Scene, factor: int) -> Scene:
    cam = scene.camera
    bigger = replace(
        cam,
        image_width=cam.image_width * factor,
        image_height=cam.image_height * factor,
        focal_px=cam.focal_px * factor,
    )
    return replace(scene, camera=bigger)


def render_png(scene: Scene, supersample: int = 1) -> bytes:
    """PNG bytes of `render_scene`; identical for identical scenes."""
    buffer = io.BytesIO()
    render_scene(scene, supersample).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
