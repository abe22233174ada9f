"""The command line: exit codes, messages, JSON output, and a light start-up."""

import json
import subprocess
import sys

import pytest

from ponder.cli import main
from tiny import TINY_EVEN_PIXELS

TINY = [
    *TINY_EVEN_PIXELS,
    "train.batch_size=8",
    "train.steps=3",
]


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "even_pixels", *TINY, "--out", str(out)]) == 0
    return out


def test_unknown_preset_and_key_exit_2_and_write_nothing(tmp_path, capsys):
    assert main(["train", "even_pixel", "--out", str(tmp_path / "a")]) == 2
    assert "did you mean 'even_pixels'" in capsys.readouterr().err
    assert main(["train", "even_pixels", "train.stepz=3", "--out", str(tmp_path / "b")]) == 2
    assert "did you mean 'steps'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_resume_takes_overrides_without_a_preset(trained, tmp_path, capsys):
    # README: `ponder train --resume --out RUN train.steps=N`; the first override once landed
    # in the preset slot and was refused
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    assert main(["train", "--resume", "--out", str(run), "train.steps=5", "train.log_every=1"]) == 0
    assert "trained:" in capsys.readouterr().out
    assert (run / "checkpoints" / "step_0000005.safetensors").exists()
    assert main(["train", "train.steps=5", "--out", str(tmp_path / "x")]) == 2
    assert "expected a preset name before the overrides" in capsys.readouterr().err


def test_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope")]) == 1
    assert "is not a ponder run" in capsys.readouterr().err


def test_corrupt_checkpoint_is_named(trained, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    model = copy / "model.safetensors"
    model.write_bytes(model.read_bytes()[:-7])
    assert main(["evaluate", str(copy), "--num-samples", "2"]) == 1
    err = capsys.readouterr().err
    assert "model.safetensors is corrupted or truncated" in err and "Traceback" not in err


def test_evaluate_json_and_sample_png(trained, tmp_path, capsys):
    assert main(["evaluate", str(trained), "--num-samples", "4", "steps=3", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["nfe"] == 3 and record["num_samples"] == 4
    assert 0.0 <= record["is_color_count_even"] <= 1.0
    assert main(["sample", str(trained), "--num-samples", "4", "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "samples.png").stat().st_size > 0


def test_evaluate_a_chosen_checkpoint_reports_its_training_time(trained, capsys):
    args = ["evaluate", str(trained), "--num-samples", "2", "steps=2", "--json"]
    assert main([*args, "--checkpoint", "3"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["step"] == 3 and record["train_seconds"] > 0
    assert main([*args, "--checkpoint", "7"]) == 2
    assert "no checkpoint at step 7; saved steps: [3]" in capsys.readouterr().err


def test_commit_temperature_needs_a_one_hot_task(trained, capsys):
    assert (
        main(["evaluate", str(trained), "--num-samples", "2", "sample.commit_temperature=1"]) == 2
    )
    assert "a task whose variables are one-hot codes" in capsys.readouterr().err


def test_switching_the_schedule_by_override_drops_the_runs_schedule_params(trained, capsys):
    # the run samples with fixed {steps: 50}; raster must not inherit them (Sudoku's
    # adaptive_seq overlap once made `sample.schedule=fixed` on such a run an error)
    args = ["evaluate", str(trained), "--num-samples", "2", "--json", "sample.schedule=raster"]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["schedule"] == "raster" and record["schedule_params"] == {}
    assert record["nfe"] == 81  # raster's own default


def test_bad_schedule_parameters_exit_2(trained, capsys):
    assert main(["evaluate", str(trained), "--schedule", "fixd"]) == 2
    assert "unknown schedule 'fixd'" in capsys.readouterr().err
    assert main(["evaluate", str(trained), "stepz=3"]) == 2
    assert "has no parameter 'stepz'" in capsys.readouterr().err


def test_study_writes_tables_and_pictures(trained, tmp_path, capsys):
    out = tmp_path / "study"
    args = [
        "study",
        str(trained),
        "--schedules",
        "fixed,random_seq,adaptive_seq",
        "--overlaps",
        "0,0.5",
        "--num-samples",
        "3",
        "--steps",
        "4",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    rows = (out / "study.csv").read_text().strip().splitlines()
    assert rows[0].startswith("schedule,overlap,steps,nfe,seconds,is_color_count_even")
    assert [r.split(",")[:2] for r in rows[1:]] == [
        ["fixed", ""],
        ["random_seq", "0"],
        ["random_seq", "0.5"],
        ["adaptive_seq", "0"],
        ["adaptive_seq", "0.5"],
    ]
    for name in ("fixed.gif", "random_seq_o0_order.png", "adaptive_seq_o0.5_active.png"):
        assert (out / name).stat().st_size > 0
    assert main(["study", str(trained), "--schedules", "fixd"]) == 2
    assert "unknown schedule 'fixd'" in capsys.readouterr().err


def test_adaptive_schedule_needs_an_uncertainty_head(tmp_path, capsys):
    run = tmp_path / "nohead"
    assert main(["train", "even_pixels", *TINY, "model.uncertainty=false", "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--schedule", "adaptive_seq", "steps=4"]) == 2
    assert "no uncertainty head" in capsys.readouterr().err


def test_commands_that_do_not_train_never_import_lightning(trained):
    code = (
        "import sys; from ponder.cli import main; "
        "main(['presets']); "
        f"main(['evaluate', {str(trained)!r}, '--num-samples', '2', 'steps=2']); "
        "bad = [m for m in ('lightning', 'transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
