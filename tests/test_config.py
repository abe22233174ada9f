import pytest

from ponder.config import (
    ConfigError,
    load_config,
    parse_overrides,
    preset_names,
    run_config_from_dict,
    to_dict,
)


def test_presets_load_with_their_task_config():
    assert "even_pixels" in preset_names()
    cfg = load_config("even_pixels")
    assert cfg.task.name == "even_pixels" and cfg.task.size == 32
    assert cfg.model.transformer.width == 128


def test_overrides_are_typed_and_nested():
    cfg = load_config(
        "even_pixels",
        [
            "train.steps=7",
            "model.transformer.width=64",
            "train.lr=1e-3",
            "task.patch=2",
            "model.uncertainty=false",
        ],
    )
    assert cfg.train.steps == 7 and cfg.model.transformer.width == 64
    assert cfg.train.lr == 1e-3 and cfg.task.patch == 2 and cfg.model.uncertainty is False


def test_unknown_keys_name_the_close_matches():
    with pytest.raises(
        ConfigError, match=r"unknown config key 'train\.setps'; did you mean 'steps'"
    ):
        load_config("even_pixels", ["train.setps=3"])
    with pytest.raises(ConfigError, match=r"'task\.pach'.*'patch'"):
        load_config("even_pixels", ["task.pach=3"])
    with pytest.raises(
        ConfigError, match="unknown preset 'even_pixel'; did you mean 'even_pixels'"
    ):
        load_config("even_pixel")


def test_bad_values_are_errors():
    with pytest.raises(ConfigError, match=r"train\.steps must be an integer, got 'many'"):
        load_config("even_pixels", ["train.steps=many"])
    with pytest.raises(ConfigError, match="not of the form key=value"):
        parse_overrides(["train.steps"])


def test_round_trip_through_a_dict():
    cfg = load_config("even_pixels", ["train.steps=11"])
    again = run_config_from_dict(to_dict(cfg))
    assert to_dict(again) == to_dict(cfg)
