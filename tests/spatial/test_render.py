"""The renderer: deterministic bytes, visible fronts, painter's order.

Its speed is measured by benchmarks/render_speed.py, not here."""

import io

import numpy as np
import pytest
from PIL import Image

from ponder.spatial.generate import generate_scene
from ponder.spatial.render import render_png, render_scene
from ponder.spatial.scene import PinholeCamera, Scene, SceneObject, heading_vectors
from ponder.spatial.shapes import LIGHT, TAIL

CAMERA = PinholeCamera(512, 384, 443.4, 10.0, 1.6)


def put(object_id, color, x, z, size, heading):
    front, left, up = heading_vectors(heading)
    y = -1.6 + size[1] / 2
    return SceneObject(object_id, object_id.split(".")[0], color, (x, y, z), size, front, left, up)


def colour_count(image: Image.Image, rgb) -> int:
    pixels = np.asarray(image).reshape(-1, 3)
    return int((pixels == np.array(rgb)).all(axis=1).sum())


def test_same_seed_gives_identical_png_bytes():
    first = render_png(generate_scene(np.random.default_rng(5)))
    second = render_png(generate_scene(np.random.default_rng(5)))
    assert first == second
    assert first != render_png(generate_scene(np.random.default_rng(6)))
    image = Image.open(io.BytesIO(first))
    assert image.format == "PNG" and image.size == (512, 384) and image.mode == "RGB"


def test_supersampling_keeps_the_image_size():
    scene = generate_scene(np.random.default_rng(1))
    assert render_scene(scene, supersample=2).size == (512, 384)
    with pytest.raises(ValueError, match="supersample"):
        render_scene(scene, supersample=7)


def test_a_car_shows_headlights_from_the_front_and_tail_lights_from_behind():
    size = (1.8, 1.5, 4.2)
    towards = render_scene(Scene("s", CAMERA, (put("car.1", "blue", 0.0, 8.0, size, 180.0),)))
    away = render_scene(Scene("s", CAMERA, (put("car.1", "blue", 0.0, 8.0, size, 0.0),)))
    assert colour_count(towards, LIGHT) > 50 and colour_count(towards, TAIL) == 0
    assert colour_count(away, TAIL) > 50 and colour_count(away, LIGHT) == 0


def test_nearer_objects_are_drawn_over_farther_ones():
    far = put("crate.1", "red", 0.0, 10.0, (1.0, 1.0, 1.0), 0.0)
    near = put("crate.2", "blue", 0.2, 5.0, (1.0, 1.0, 1.0), 0.0)
    for objects in ((far, near), (near, far)):
        image = np.asarray(render_scene(Scene("s", CAMERA, objects))).astype(int)
        u, v = CAMERA.project(np.array([near.center]))[0].round().astype(int)
        r, g, b = image[v, u]
        assert b > r + 40, (r, g, b)  # the blue crate, not the red one behind it
