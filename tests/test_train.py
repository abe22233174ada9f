"""Training through Lightning: resume, checkpoints, NaN handling, bad data."""

import pytest
import torch

from ponder.checkpoint import load_tensors
from ponder.config import ConfigError
from ponder.rundir import RunDir
from tiny import TINY_EVEN_PIXELS

TINY = [
    *TINY_EVEN_PIXELS,
    "train.batch_size=16",
    "train.warmup_steps=5",
    "train.checkpoint_every=10",
    "train.log_every=1",
    "train.threads=2",
]


def test_resume_reproduces_the_uninterrupted_loss_curve(tmp_path):
    from ponder.training import train

    whole = train("even_pixels", tmp_path / "whole", [*TINY, "train.steps=20"])
    part = train("even_pixels", tmp_path / "part", [*TINY, "train.steps=10"])
    # pretend the run was cut at step 10: resume it to 20 steps
    train(None, part, ["train.steps=20"], resume=True)
    a, b = RunDir(whole).read_log(), RunDir(part).read_log()
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(20))
    for ra, rb in zip(a, b):
        assert abs(ra["loss"] - rb["loss"]) < 1e-5, (ra, rb)
    wa, _ = load_tensors(RunDir(whole).model_path)
    wb, _ = load_tensors(RunDir(part).model_path)
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=1e-5), k


def test_checkpoints_are_kept_pruned_and_loadable(tmp_path):
    from ponder.training import train

    run = RunDir(
        train("even_pixels", tmp_path / "r", [*TINY, "train.steps=30", "train.keep_checkpoints=2"])
    )
    assert run.checkpoint_steps() == [20, 30]
    tensors, meta = run.latest_checkpoint()
    assert meta["step"] == 30 and any(k.startswith("optim.") for k in tensors)
    # a corrupted newest checkpoint falls back to the previous one
    path = run.checkpoint_path(30)
    path.write_bytes(path.read_bytes()[:100])
    assert run.latest_checkpoint()[1]["step"] == 20


def test_an_existing_run_is_not_overwritten(tmp_path):
    from ponder.training import train

    train("even_pixels", tmp_path / "r", [*TINY, "train.steps=2"])
    with pytest.raises(ConfigError, match="already holds a run; pass --resume"):
        train("even_pixels", tmp_path / "r", [*TINY, "train.steps=2"])


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_checkpoint(tmp_path):
    from ponder.training import NonFiniteLossError, train

    with pytest.raises(NonFiniteLossError, match=r"at step (\d+)") as info:
        train(
            "even_pixels",
            tmp_path / "r",
            [
                *TINY,
                "train.steps=50",
                "train.lr=1e30",
                "train.grad_clip=0",
                "train.warmup_steps=1",
                "train.checkpoint_every=1",
            ],
        )
    run = RunDir(tmp_path / "r")
    steps = run.checkpoint_steps()
    assert steps and max(steps) <= info.value.step
    run.latest_checkpoint()  # the last good checkpoint loads


class WrongShapes:
    name = "wrong"

    def __init__(self, layout):
        self.layout = layout

    def train_batch(self, n, generator):
        from ponder.tasks.base import Batch

        return Batch(torch.zeros(n, 3, 5), torch.zeros(n, 3, dtype=torch.bool))


def test_a_dataset_with_wrong_shapes_names_both_shapes():
    from ponder.time_samplers import SharedTimes
    from ponder.training.data import StepBatches
    from ponder.variables import VariableLayout

    data = StepBatches(WrongShapes(VariableLayout(4, 5)), SharedTimes(), 0, 10, 8, 0)
    with pytest.raises(ValueError, match=r"x of shape \[8, 3, 5\], expected \[B, 4, 5\]"):
        data[0]


def test_ponder_train_stays_the_function_after_the_training_package_is_imported():
    import ponder
    import ponder.training  # sets ponder.training; must not shadow ponder.train

    assert callable(ponder.train) and ponder.train.__module__ == "ponder"


def test_compile_is_refused_for_energy_models_before_the_run_folder_is_touched(tmp_path):
    from ponder.training import train

    earlier = tmp_path / "r" / "checkpoints" / "step-10.safetensors"  # --force would delete it
    earlier.parent.mkdir(parents=True)
    earlier.write_text("an earlier checkpoint")
    with pytest.raises(ConfigError, match=r"train\.compile=true does not apply to energy models"):
        train("inverse_energy", tmp_path / "r", ["train.compile=true"], force=True)
    assert earlier.read_text() == "an earlier checkpoint"


def test_the_log_holds_the_scheduled_lr_and_the_gradient_norm_before_clipping(tmp_path):
    from ponder.training import train

    overrides = [*TINY, "train.steps=12", "train.lr_decay=cosine", "train.grad_clip=0.001"]
    run = RunDir(train("even_pixels", tmp_path / "r", overrides))
    norms = [r["grad_norm"] for r in run.read_log()]
    assert len(norms) == 12 and all(0.001 < n < float("inf") for n in norms)
    cfg = run.read_config().train
    logged = [(r["step"], r["lr"]) for r in run.read_log()]
    assert [s for s, _ in logged] == list(range(12))
    for step, lr in logged:
        assert lr == pytest.approx(cfg.lr_at(step))
    assert logged[-1][1] < 0.06 * cfg.lr  # the cosine has nearly reached 0 at the last step
