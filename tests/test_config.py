import itertools

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
    # no close match: the accepted keys (the generated energy tasks' validation switch is not
    # a Sudoku key)
    with pytest.raises(ConfigError, match=r"'task\.validation'; task accepts \[.*'test_set'"):
        load_config("sudoku_energy", ["task.validation=true"])
    with pytest.raises(
        ConfigError, match="unknown preset 'even_pixel'; did you mean 'even_pixels'"
    ):
        load_config("even_pixel")


def test_bad_values_are_errors():
    with pytest.raises(ConfigError, match=r"train\.steps must be an integer, got 'many'"):
        load_config("even_pixels", ["train.steps=many"])
    with pytest.raises(ConfigError, match="not of the form key=value"):
        parse_overrides(["train.steps"])
    with pytest.raises(
        ConfigError, match=r"model\.energy_head must be one of \['square', 'residual'\], got 'cube'"
    ):
        load_config("sudoku_energy", ["model.energy_head=cube"])
    with pytest.raises(ConfigError, match=r"model\.contrastive_weight .* >= 0 .*got -0\.5"):
        load_config("addition_energy", ["model.contrastive_weight=-0.5"])


def test_round_trip_through_a_dict():
    cfg = load_config("even_pixels", ["train.steps=11"])
    again = run_config_from_dict(to_dict(cfg))
    assert to_dict(again) == to_dict(cfg)


def test_switching_the_schedule_drops_the_presets_schedule_params():
    # the sudoku preset samples adaptive_seq with {steps: 81, overlap: 0.0}
    cfg = load_config("sudoku", ["sample.schedule=fixed"])
    assert (cfg.sample.schedule, cfg.sample.schedule_params) == ("fixed", {})
    cfg = load_config("sudoku", ["sample.schedule=fixed", "sample.schedule_params={steps: 10}"])
    assert cfg.sample.schedule_params == {"steps": 10}
    # the same schedule keeps the preset's parameters under the overrides
    cfg = load_config("sudoku", ["sample.schedule_params.steps=20"])
    assert cfg.sample.schedule_params == {"steps": 20, "overlap": 0.0}


def test_bad_schedule_parameters_stop_before_training():
    with pytest.raises(ConfigError, match=r"'bogus'.*'overlap', 'steps', 'top_k'"):
        load_config("sudoku", ["sample.schedule_params.bogus=2"])
    with pytest.raises(ConfigError, match="steps must be >= 1, got -3"):
        load_config("sudoku", ["sample.schedule_params.steps=-3"])


def test_gelu_key_new_runs_exact_old_runs_keep_tanh(tmp_path):
    import yaml

    from ponder.rundir import RunDir

    cfg = load_config("even_pixels")
    assert cfg.model.transformer.gelu == "exact"
    with pytest.raises(ConfigError, match="gelu must be one of"):
        load_config("even_pixels", ["model.transformer.gelu=erf"])
    run = RunDir(tmp_path)
    run.write_config(cfg)
    assert run.read_config().model.transformer.gelu == "exact"
    saved = yaml.safe_load(run.config_path.read_text())
    del saved["model"]["transformer"]["gelu"]  # a run saved before the key existed
    run.config_path.write_text(yaml.safe_dump(saved))
    assert run.read_config().model.transformer.gelu == "tanh"


def test_learning_rate_warms_up_then_holds_or_follows_a_cosine_to_zero():
    constant = load_config("even_pixels", ["train.steps=1100", "train.warmup_steps=100"]).train
    cosine = load_config(
        "even_pixels", ["train.steps=1100", "train.warmup_steps=100", "train.lr_decay=cosine"]
    ).train
    lr = constant.lr
    for t in (constant, cosine):  # the same linear warm-up: step s runs at lr (s + 1) / 100
        assert t.lr_at(0) == pytest.approx(lr / 100) and t.lr_at(99) == pytest.approx(lr)
    assert constant.lr_at(100) == constant.lr_at(1099) == lr
    assert cosine.lr_at(100) == pytest.approx(lr)
    assert cosine.lr_at(600) == pytest.approx(lr / 2)  # half way through the decay
    assert cosine.lr_at(1100) == cosine.lr_at(5000) == pytest.approx(0.0, abs=1e-15)
    after = [cosine.lr_at(s) for s in range(100, 1100)]
    assert all(a > b for a, b in itertools.pairwise(after))


def test_an_unknown_lr_decay_names_the_accepted_ones():
    with pytest.raises(
        ConfigError, match=r"lr_decay must be one of \['constant', 'cosine'\], got 'cos'"
    ):
        load_config("even_pixels", ["train.lr_decay=cos"])
