"""The IRED generators wrapped as ponder tasks: matrix inverse, low-rank completion,
connectivity and shortest path (layouts, fixed test sets, metrics, negatives, bad input)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from ponder.config import ConfigError
from ponder.tasks import TASKS
from ponder.tasks.matrix_tasks import test_set as fixed_test_set

ENERGY_WRAPPERS = ["matrix_inverse", "low_rank_completion", "connectivity", "shortest_path"]
GRAPH_WRAPPERS = ["connectivity", "shortest_path"]
# task -> (metric, higher is better, rows known, rows generated)
EXPECTED = {
    "matrix_inverse": ("mse", False, 20, 20),
    "low_rank_completion": ("mse", False, 40, 20),
    "connectivity": ("accuracy", True, 12, 12),
    "shortest_path": ("first_action_success", True, 17, 8),
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small batched ops: one thread is faster, and far faster when the cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make(name: str, **fields):
    cls = TASKS[name]
    return cls(cls.Config(**fields))


@pytest.mark.parametrize("name", ENERGY_WRAPPERS)
def test_train_batches_fit_the_layout(name):
    task = make(name)
    _, _, known_rows, answer_rows = EXPECTED[name]
    batch = task.train_batch(6, torch.Generator().manual_seed(0))
    layout = task.layout
    assert layout.num_variables == known_rows + answer_rows
    assert batch.x.shape == (6, layout.num_variables, layout.dim) and batch.x.dtype == torch.float32
    assert batch.known[:, :known_rows].all() and not batch.known[:, known_rows:].any()
    lo, hi = task.data_range
    assert lo < 0 < hi and batch.x[:, known_rows:].abs().max() <= hi
    assert task.to_images(batch.x).shape[:2] == (6, 1) and task.to_images(batch.x).max() <= 1
    assert task.dependency().shape == (layout.num_variables,) * 2


@pytest.mark.parametrize("name", ENERGY_WRAPPERS)
def test_test_batches_are_the_fixed_test_set(name):
    task = make(name)
    first, again = task.test_batch(40, seed=0), task.test_batch(40, seed=3)
    assert torch.equal(first.x, again.x) and torch.equal(first.known, again.known)
    expected = task.to_batch(fixed_test_set(task.energy_task, "same", 40))
    assert torch.equal(first.x, expected.x)
    assert torch.equal(task.test_batch(10, seed=0).x, first.x[:10])  # a prefix
    train = task.train_batch(40, torch.Generator().manual_seed(0))
    assert not torch.equal(train.x, first.x)


@pytest.mark.parametrize("name", [*ENERGY_WRAPPERS, "matrix_addition"])
def test_validation_sets_are_fixed_and_disjoint_from_the_test_set(name):
    task, held_out = make(name), make(name, validation=True)
    test, validation = task.test_batch(40, seed=0), held_out.test_batch(40, seed=0)
    assert torch.equal(validation.x, held_out.test_batch(40, seed=0).x)  # fixed
    assert validation.x.shape == test.x.shape and torch.equal(validation.known, test.known)
    rows = test.x.flatten(1)  # no problem of the validation set is one of the test set's
    assert not (validation.x.flatten(1)[:, None] == rows[None]).all(-1).any()


@pytest.mark.parametrize("name", ENERGY_WRAPPERS)
def test_ground_truth_is_perfect_and_no_worse_than_the_trivial_predictors(name):
    task = make(name)
    metric, higher_is_better, _, _ = EXPECTED[name]
    batch = task.test_batch(200, seed=0)
    scores = task.evaluate(batch.x, batch)
    baselines = {k: v for k, v in scores.items() if k.startswith(f"{metric}_")}
    assert len(baselines) == 2 and all(math.isfinite(v) for v in baselines.values())
    assert scores[metric] == (1.0 if higher_is_better else 0.0)
    for value in baselines.values():
        assert scores[metric] >= value if higher_is_better else scores[metric] <= value


def test_matrix_baselines_match_the_reference_figures():
    inverse = make("matrix_inverse")
    batch = inverse.test_batch(1000, seed=0)
    scores = inverse.evaluate(torch.zeros_like(batch.x), batch)
    assert scores["mse"] == scores["mse_all_zeros"] == pytest.approx(0.0208, rel=0.05)
    assert scores["mse_constant_mean"] == pytest.approx(0.0142, rel=0.05)
    low_rank = make("low_rank_completion")
    batch = low_rank.test_batch(1000, seed=0)
    scores = low_rank.evaluate(batch.x, batch)
    assert scores["mse_copy_observed"] == pytest.approx(0.0175, rel=0.05)
    assert scores["mse_all_zeros"] == pytest.approx(0.035, rel=0.05)


def test_harder_matrix_splits_use_their_own_range_and_test_set():
    inverse = make("matrix_inverse", test_split="harder")
    assert inverse.data_range == (-10.0, 10.0)
    assert not torch.equal(inverse.test_batch(5, 0).x, make("matrix_inverse").test_batch(5, 0).x)
    batch = inverse.test_batch(5, 0)
    assert "mse_constant_mean_oracle" in inverse.evaluate(batch.x, batch)
    assert make("low_rank_completion", test_split="harder").data_range == (-4.48, 4.48)


@pytest.mark.parametrize("name", GRAPH_WRAPPERS)
def test_negatives_are_wrong_answers_in_the_answer_rows_only(name):
    task = make(name)
    metric = EXPECTED[name][0]
    batch = task.train_batch(64, torch.Generator().manual_seed(1))
    negative = task.negatives(batch.x, batch.known, torch.Generator().manual_seed(2))
    changed = (negative != batch.x).any(-1)  # [B, N]
    assert changed.any(1).all() and not (changed & batch.known).any()
    assert set(negative.unique().tolist()) == {-1.0, 1.0}
    per_sample = task.energy_task.metric(
        task.to_energy_batch(negative).answer,
        task.to_energy_batch(batch.x).answer,
        task.to_energy_batch(batch.x).extra,
        "same",
    )
    assert (per_sample < 1).all(), metric
    answers = ~batch.known  # [B, N]: project snaps generated rows to their nearest code
    assert torch.equal(task.project(negative * 0.4)[answers], negative[answers])


def test_bad_test_splits_name_the_value():
    for name in ENERGY_WRAPPERS:
        with pytest.raises(ValueError, match=r"test_split must be one of.*'hard'"):
            make(name, test_split="hard")


def test_inverse_refuses_non_square_wrongly_sized_and_singular_matrices():
    task = make("matrix_inverse")
    with pytest.raises(ValueError, match=r"square matrices \[B, n, n\], got \[2, 20, 19\]"):
        task.from_matrices(torch.randn(2, 20, 19))
    with pytest.raises(ValueError, match=r"size 20 takes \[B, 20, 20\] matrices, got \[2, 5, 5\]"):
        task.from_matrices(torch.randn(2, 5, 5))
    singular = torch.randn(2, 20, 20)
    singular[1, 3] = singular[1, 7]
    with pytest.raises(ValueError, match="condition number"):
        task.from_matrices(singular)
    with pytest.raises(ValueError, match=r"variables \[B, 40, 20\], got \[3, 30, 20\]"):
        task.evaluate(torch.zeros(3, 30, 20), task.test_batch(3, 0))
    a = task.test_batch(4, 0).x[:, :20]
    batch = task.from_matrices(a)
    assert torch.allclose(a @ batch.x[:, 20:], torch.eye(20).expand(4, 20, 20), atol=1e-4)


def test_graph_tasks_build_conditions_from_user_graphs_and_refuse_wrong_sizes():
    connectivity = make("connectivity")
    test = connectivity.test_batch(20, 0)
    adjacency = test.x[:, :12] > 0
    assert torch.equal(connectivity.from_graphs(adjacency).x, test.x)
    with pytest.raises(
        ValueError, match=r"nodes=12 takes adjacency \[B, 12, 12\], got \[2, 10, 10\]"
    ):
        connectivity.from_graphs(torch.ones(2, 10, 10))
    directed = torch.zeros(1, 12, 12)
    directed[0, 0, 1] = 1
    with pytest.raises(ValueError, match="not symmetric"):
        connectivity.from_graphs(directed)
    with pytest.raises(ValueError, match="graphs of 12 nodes"):
        connectivity.evaluate(torch.zeros(20, 36, 18), test)

    planning = make("shortest_path")
    test = planning.test_batch(20, 0)
    extra = planning.to_energy_batch(test.x).extra
    batch = planning.from_graphs(extra["adjacency"], extra["start"], extra["goal"])
    assert torch.equal(batch.x[:, :17], test.x[:, :17])  # same graphs, start and goal rows
    assert planning.evaluate(batch.x, test)["first_action_success"] == 1.0
    with pytest.raises(
        ValueError, match=r"nodes=15 takes adjacency \[B, 15, 15\], got \[20, 25, 25\]"
    ):
        planning.from_graphs(torch.ones(20, 25, 25), extra["start"], extra["goal"])
    no_edges = torch.zeros(1, 15, 15)
    with pytest.raises(ValueError, match=r"1\.\.8 hops from the start, got distances \[15\]"):
        planning.from_graphs(no_edges, torch.tensor([0]), torch.tensor([1]))
    with pytest.raises(ValueError, match=r"start must be 1 node indices in 0\.\.14"):
        planning.from_graphs(no_edges, torch.tensor([15]), torch.tensor([1]))


def _tiny(overrides: dict) -> dict:
    common = {"train.batch_size": 16, "train.progress": False, "train.steps": 3}
    items = {**common, "sample.num_samples": 8, **overrides}
    return {key.replace(".", "__"): value for key, value in items.items()}


@pytest.mark.parametrize(
    "preset, overrides, metric",
    [
        (
            "lowrank_energy",
            {"task.size": 4, "model.graph.width": 16, "model.graph.depth": 2},
            "mse",
        ),
        (
            "lowrank_energy",
            {  # IRED's model: eps form, square head, contrastive term, inner descent steps
                "task.size": 4,
                "model.denoiser": "mlp",
                "model.mlp.width": 32,
                "model.mlp.depth": 2,
                "model.prediction": "eps",
                "model.energy_head": "square",
                "model.contrastive_weight": 0.5,
                "sample.energy_steps": 5,
            },
            "mse",
        ),
        (
            "connectivity_energy",
            {
                "task.nodes": 5,
                "task.train_nodes": [4, 6],
                "model.graph.width": 16,
                "model.graph.depth": 2,
            },
            "accuracy",
        ),
        (
            "connectivity_energy",
            {
                "task.nodes": 5,
                "task.train_nodes": [],
                "model.denoiser": "transformer",
                "model.transformer.width": 32,
                "model.transformer.depth": 1,
                "model.transformer.heads": 2,
            },
            "accuracy",
        ),
    ],
)
def test_energy_presets_train_and_evaluate(tmp_path, preset, overrides, metric):
    import ponder

    # The energy loss differentiates dE/dz again (create_graph=True); torch's fused attention
    # kernels have no double backward, so the transformer needs the math kernel here.
    with sdpa_kernel(SDPBackend.MATH):
        run = ponder.train(preset, out=tmp_path / "r", **_tiny(overrides))
    pipe = ponder.load(run, device="cpu")
    result = pipe.evaluate(8)
    inner = pipe.cfg.sample.energy_steps  # T: 0 low-rank, 5 IRED's low-rank, 1 connectivity
    levels = pipe.cfg.sample.schedule_params["steps"]  # 3 low-rank, 10 connectivity
    # each level: the jump, then (when T > 0) the initial energy and T descent steps
    assert result.nfe == levels * (1 + (1 + inner if inner else 0))
    assert math.isfinite(result.metrics[metric]) and len(result.metrics) == 3
    pipe = ponder.load(run, device="cpu")
    pipe.cfg.sample.energy_steps = 0  # jump to the clamped clean estimate only: one call a level
    assert pipe.evaluate(8).nfe == levels
    pipe.cfg.sample.project = False  # raw outputs: snapping could hide the difference
    jump = pipe.sample(8).x
    pipe.cfg.sample.energy_descent = False  # the plain DDIM loop on dE/dz: no jump, no descent
    pipe.cfg.sample.energy_steps = 5
    plain = pipe.sample(8)
    assert plain.nfe == levels and torch.isfinite(plain.x).all()
    assert not torch.equal(plain.x, jump)  # DDIM keeps the noise estimate the jump drops
    pipe.cfg.sample.energy_descent, pipe.cfg.sample.project = True, True
    pipe.cfg.sample.energy_steps = 0
    pipe.cfg.sample.score_descent = True
    with pytest.raises(ConfigError, match="already descends its energy"):
        pipe.sample(8)
    pipe.cfg.sample.score_descent = False
    if hasattr(pipe.task, "impose"):  # completion: observed entries come back unchanged
        result = pipe.sample(8)
        n = pipe.task.config.size
        values, mask, answer = result.x.unflatten(1, (3, n)).unbind(1)
        assert torch.equal(answer[mask > 0.5], values[mask > 0.5])


def test_sudoku_energy_preset_samples_cells_in_its_marginals_order(tmp_path):
    """The preset's sampling: adaptive_seq, one cell per step, ordered by the variance of each
    cell's code under the energy model's clean estimate (no uncertainty head)."""
    import ponder

    tiny = {
        "task.pool_size": 20,
        "model.transformer.width": 16,
        "model.transformer.depth": 1,
        "model.transformer.heads": 2,
    }
    with sdpa_kernel(SDPBackend.MATH):
        run = ponder.train("sudoku_energy", out=tmp_path / "r", **_tiny(tiny))
    pipe = ponder.load(run, device="cpu")
    assert not pipe.model.has_uncertainty
    result = pipe.evaluate(4)
    assert result.nfe == 81 and result.schedule == "adaptive_seq"
    assert 0.0 <= result.metrics["cell_accuracy_vs_reference"] <= 1.0
    pipe.cfg.sample.uncertainty = "head"
    with pytest.raises(ConfigError, match="no uncertainty head"):
        pipe.sample(2)


def test_low_rank_scale_changes_what_the_model_sees_not_the_metric():
    plain, scaled = make("low_rank_completion"), make("low_rank_completion", scale=5.35)
    a, b = plain.test_batch(50, 0), scaled.test_batch(50, 0)
    assert torch.allclose(b.x[:, :20], 5.35 * a.x[:, :20])  # observed values
    assert torch.equal(b.x[:, 20:40], a.x[:, 20:40])  # the mask is not scaled
    assert torch.allclose(b.x[:, 40:], 5.35 * a.x[:, 40:])  # R
    assert b.x[:, 40:].var().item() == pytest.approx(1.0, rel=0.1)  # unit variance, as said
    assert scaled.data_range == pytest.approx(tuple(5.35 * v for v in plain.data_range))
    wrong = a.x.clone()
    wrong[:, 40:] += 0.1  # the same answer, off by 0.1 in R's units
    scaled_wrong = b.x.clone()
    scaled_wrong[:, 40:] += 0.535
    assert scaled.evaluate(scaled_wrong, b) == pytest.approx(plain.evaluate(wrong, a), rel=1e-5)
    with pytest.raises(ValueError, match="scale must be > 0, got 0"):
        make("low_rank_completion", scale=0.0)


def test_low_rank_impose_sets_only_the_observed_entries():
    task = TASKS["low_rank_completion"](TASKS["low_rank_completion"].Config(size=5))
    batch = task.test_batch(4, 0)
    x0 = torch.randn(batch.x.shape, generator=torch.Generator().manual_seed(0))
    out = task.impose(x0, batch.x)
    values, mask = batch.x[:, :5], batch.x[:, 5:10] > 0.5
    assert torch.equal(out[:, 10:][mask], values[mask])
    assert torch.equal(out[:, 10:][~mask], x0[:, 10:][~mask])
    assert torch.equal(out[:, :10], x0[:, :10])
    assert 0 < mask.float().mean() < 1


def test_the_regressor_and_plain_diffusion_baselines_run_from_the_energy_preset(tmp_path):
    import ponder

    small = {"task.size": 4, "model.mlp.width": 32, "model.mlp.depth": 2}
    regressor = ponder.train(
        "inverse_energy",
        out=tmp_path / "regressor",
        **_tiny(
            {
                **small,
                "model.energy": False,
                "model.flow": "rectified",
                "model.prediction": "x0",
                "train.time_sampler": "terminal",
                "sample.schedule_params": {"steps": 1},
            }
        ),
    )
    pipe = ponder.load(regressor, device="cpu")
    result = pipe.evaluate(8)
    assert result.nfe == 1 and math.isfinite(result.metrics["mse"])
    pipe.cfg.sample.score_descent = True  # the step sizes come from a VP path
    with pytest.raises(ConfigError, match=r"model\.flow=vp"):
        pipe.sample(8)
    diffusion = ponder.train(
        "inverse_energy",
        out=tmp_path / "diffusion",
        **_tiny({**small, "model.energy": False, "sample.clip_x0": True}),
    )
    pipe = ponder.load(diffusion, device="cpu")
    assert pipe.evaluate(8).nfe == 10  # one network call per level, no inner loop
    result = pipe.sample(8)
    x, generated = result.x, ~result.conditions.known
    lo, hi = pipe.task.data_range
    assert x[generated].min() >= lo and x[generated].max() <= hi
    pipe.cfg.sample.score_descent = True  # refined along its own eps: 1 + 2 calls more a level
    pipe.cfg.sample.energy_steps = 2
    assert pipe.evaluate(8).nfe == 10 * (1 + 1 + 2)
    pipe.cfg.sample.score_descent = False
    pipe.task.data_range = None  # a task without a data range cannot clip
    with pytest.raises(ConfigError, match="clip_x0"):
        pipe.sample(8)


def test_every_energy_preset_builds_its_task():
    from ponder.build import build_task
    from ponder.config import load_config

    for preset, name in [
        ("inverse_energy", "matrix_inverse"),
        ("lowrank_energy", "low_rank_completion"),
        ("connectivity_energy", "connectivity"),
        ("shortest_path_energy", "shortest_path"),
    ]:
        cfg = load_config(preset, [])
        assert cfg.model.energy and cfg.about and build_task(cfg).name == name
