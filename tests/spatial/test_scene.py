"""Scene graph geometry, validation, JSON forms and the scene generator."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from ponder.spatial.generate import SceneConfig, generate_scene
from ponder.spatial.geometry import footprint_gap, painter_order, visible_fractions
from ponder.spatial.scene import (
    PinholeCamera,
    Scene,
    SceneObject,
    heading_vectors,
    scene_from_dict,
    scene_to_dict,
    spatialthinker_json,
)
from ponder.spatial.shapes import box_2d

LEVEL = PinholeCamera(512, 384, 443.4, 0.0, 1.6)


def crate(
    object_id="crate.1",
    color="green",
    center=(0.0, 0.0, 5.0),
    size=(1.0, 1.0, 1.0),
    heading=0.0,
    **kw,
):
    front, left, up = heading_vectors(heading)
    return SceneObject(object_id, "crate", color, center, size, front, left, up, **kw)


def test_heading_vectors_follow_the_camera_frame():
    front, left, up = heading_vectors(0.0)
    assert np.allclose(front, (0, 0, 1)) and np.allclose(left, (1, 0, 0)) and up == (0, 1, 0)
    front, left, _ = heading_vectors(90.0)
    assert np.allclose(front, (1, 0, 0)) and np.allclose(left, (0, 0, -1))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"size": (0.0, 1.0, 1.0)}, "size must be positive"),
        ({"size": (1.0, -1.0, 1.0)}, "size must be positive"),
        ({"front": (0.0, 0.0, 2.0)}, "unit vector"),
        ({"front": (0.0, 0.6, 0.8)}, "orthogonal"),
        ({"left": (-1.0, 0.0, 0.0)}, "right-handed"),
        ({"center": (float("nan"), 0.0, 5.0)}, "finite"),
        ({"center": (1.0, 2.0)}, "three numbers"),
        ({"id": "Crate 1"}, "name.number"),
    ],
)
def test_degenerate_objects_are_rejected(change, needle):
    with pytest.raises(ValueError, match=needle):
        replace(crate(), **change)


def test_scene_rejects_objects_behind_the_camera_and_duplicates():
    with pytest.raises(ValueError, match=r"crate\.1.*behind"):
        Scene("s", LEVEL, (crate(center=(0.0, 0.0, -3.0)),))
    with pytest.raises(ValueError, match="duplicate object id"):
        Scene("s", LEVEL, (crate(), crate(center=(3.0, 0.0, 5.0), color="red")))
    with pytest.raises(ValueError, match="unique"):
        Scene("s", LEVEL, (crate(), crate("crate.2", center=(3.0, 0.0, 5.0))))
    with pytest.raises(ValueError, match="unknown object"):
        Scene("s", LEVEL, (crate(supported_by="crate.9"),))


def test_camera_rejects_bad_settings():
    with pytest.raises(ValueError, match="focal_px"):
        PinholeCamera(focal_px=-1.0)
    with pytest.raises(ValueError, match="pitch_deg"):
        PinholeCamera(pitch_deg=80.0)


def test_projection_by_hand():
    uv = LEVEL.project(np.array([[1.0, 0.0, 5.0], [0.0, -1.6, 8.0]]))
    assert np.allclose(uv, [[256 - 443.4 / 5, 192], [256, 192 + 443.4 * 1.6 / 8]])
    pitched = PinholeCamera(512, 384, 443.4, 30.0, 1.6)
    on_axis = 7.0 * np.array([[0.0, -math.sin(math.pi / 6), math.cos(math.pi / 6)]])
    assert np.allclose(pitched.project(on_axis), [[256, 192]])


def test_box_of_a_cube_facing_the_camera():
    # Front face at z = 4.5, half-size 0.5: 443.4 * 0.5 / 4.5 = 49.27 px either side of centre.
    half = 443.4 * 0.5 / 4.5
    assert np.allclose(box_2d(LEVEL, crate()), (256 - half, 192 - half, 256 + half, 192 + half))


def test_3d_json_round_trip_is_exact():
    scene = generate_scene(np.random.default_rng(4), scene_id="round_trip")
    text = json.dumps(scene_to_dict(scene))
    assert scene_from_dict(json.loads(text)) == scene
    with pytest.raises(ValueError, match="not a ponder 3D scene"):
        scene_from_dict({"scene_id": "x", "objects": []})


def test_spatialthinker_json_shape():
    scene = Scene("s", LEVEL, (crate(), crate("crate.2", "red", center=(-2.0, 0.0, 6.0))))
    graph = spatialthinker_json(scene, relationships=[("crate.1", "left of", "crate.2")])
    assert [o["id"] for o in graph["objects"]] == ["crate.1", "crate.2"]
    assert graph["objects"][0]["bbox"] == [207, 143, 305, 241]
    assert all(isinstance(v, int) for o in graph["objects"] for v in o["bbox"])
    assert graph["relationships"] == [
        {"subject": "crate.1", "predicate": "left of", "object": "crate.2"}
    ]


def test_footprint_gap_by_hand():
    a = crate()
    assert footprint_gap(a, crate("crate.2", "red", center=(2.0, 0.0, 5.0))) == pytest.approx(1.0)
    turned = crate(heading=45.0)  # half-diagonal sqrt(0.5) towards +x
    other = crate("crate.2", "red", center=(3.0, 0.0, 5.0))
    assert footprint_gap(turned, other) == pytest.approx(3.0 - 0.5 - math.sqrt(0.5))
    assert footprint_gap(a, crate("crate.3", "blue", center=(0.5, 0.0, 5.5))) == 0.0


def test_painter_order_and_visibility():
    far = crate("crate.1", "red", center=(0.0, 0.0, 9.0), size=(1.0, 1.0, 1.0))
    near = crate("crate.2", "blue", center=(0.3, 0.0, 5.0), size=(2.0, 2.0, 1.0))
    on_top = crate(
        "crate.3", "green", center=(0.3, 1.25, 5.0), size=(0.5, 0.5, 0.5), supported_by="crate.2"
    )
    scene = Scene("s", LEVEL, (near, on_top, far))
    assert painter_order(scene) == ["crate.1", "crate.2", "crate.3"]
    visible = visible_fractions(scene)
    assert visible["crate.1"] == 0.0 and visible["crate.3"] == 1.0


def test_generator_is_seeded_and_respects_its_constraints():
    config = SceneConfig(min_objects=4, max_objects=6)
    first = generate_scene(np.random.default_rng(7), config)
    assert first == generate_scene(np.random.default_rng(7), config)
    assert first != generate_scene(np.random.default_rng(8), config)
    for seed in range(6):
        scene = generate_scene(np.random.default_rng(seed), config)
        grounded = [o for o in scene.objects if o.supported_by is None]
        for i, a in enumerate(grounded):
            assert abs(a.bottom_y - scene.camera.ground_y) < 1e-9
            for b in grounded[i + 1 :]:
                assert footprint_gap(a, b) >= config.min_gap_m - 1e-9
        for o in scene.objects:
            x1, y1, x2, y2 = box_2d(scene.camera, o)
            assert 0 <= x1 and x2 <= 512 and 0 <= y1 and y2 <= 384
            if o.supported_by:
                assert abs(o.bottom_y - scene.get(o.supported_by).top_y) < 1e-9
        assert min(visible_fractions(scene).values()) >= config.min_visible_fraction


def test_generator_config_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="unicorn"):
        SceneConfig(categories=("unicorn",))
    with pytest.raises(ValueError, match="max_objects"):
        SceneConfig(min_objects=5, max_objects=2)
    with pytest.raises(ValueError, match="Generator"):
        generate_scene(np.random.RandomState(0))
