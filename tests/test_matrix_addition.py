"""The matrix-addition task and the energy model wired through config, training and sampling."""

import pytest
import torch

from ponder.build import build_model, build_task
from ponder.config import ConfigError, load_config
from ponder.energy import EnergyModel
from ponder.tasks.matrix_addition import MatrixAdditionConfig, MatrixAdditionTask

SMALL = [
    "task.size=4",
    "model.mlp.width=32",
    "model.mlp.depth=2",
    "train.batch_size=16",
    "train.progress=false",
    "train.steps=3",
    "sample.num_samples=8",
]


def test_data_and_the_all_zeros_baseline():
    task = MatrixAdditionTask(MatrixAdditionConfig())
    batch = task.test_batch(4000, seed=0)
    a, b, y = batch.x.view(4000, 3, 20, 20).unbind(1)
    assert torch.equal(y, a + b) and batch.known[:, :40].all() and not batch.known[:, 40:].any()
    zeros = task.evaluate(torch.zeros_like(batch.x), batch)
    assert zeros["mse"] == pytest.approx(2 / 3, abs=0.01)  # Var(A + B) = 2/3 (REFERENCE 0.667)
    assert task.evaluate(batch.x, batch)["mse"] == 0.0
    harder = MatrixAdditionTask(MatrixAdditionConfig(test_split="harder")).test_batch(4000, 0)
    assert harder.x[:, 40:].pow(2).mean().item() == pytest.approx(2 * 2.5**2 / 3, rel=0.02)
    assert torch.equal(task.test_batch(3, 5).x, task.test_batch(3, 5).x)


def test_bad_split():
    with pytest.raises(ValueError, match="test_split must be one of"):
        MatrixAdditionTask(MatrixAdditionConfig(test_split="hard"))


def test_energy_config_builds_an_energy_model():
    cfg = load_config("addition_energy", SMALL)
    model = build_model(cfg, build_task(cfg).layout)
    assert isinstance(model, EnergyModel) and model.flow.steps == 10
    with pytest.raises(ConfigError, match=r"predict one of \('eps', 'x0'\).*velocity"):
        bad = load_config("addition_energy", [*SMALL, "model.prediction=velocity"])
        build_model(bad, build_task(bad).layout)


def test_energy_preset_trains_and_samples_with_descent(tmp_path):
    import ponder
    from ponder.rundir import RunDir

    run = ponder.train(
        "addition_energy",
        out=tmp_path / "r",
        **{
            k.split("=")[0].replace(".", "__"): v
            for k, v in (o.split("=") for o in [*SMALL, "sample.energy_steps=5"])
        },
    )
    rows = RunDir(run).read_log()
    assert all(r["contrastive"] >= 0 for r in rows)
    pipe = ponder.load(run, device="cpu")
    result = pipe.evaluate(8)
    assert result.nfe == 10 * (1 + 1 + 5)  # predict + initial gradient + 5 inner steps per level
    assert torch.isfinite(torch.tensor(result.metrics["mse"]))
