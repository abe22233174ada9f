"""The size-agnostic graph denoiser: layout groups, node-permutation equivariance, other node
counts, the harder graph splits, and the shape check that refuses them to other denoisers."""

from __future__ import annotations

import re

import pytest
import torch

from ponder.api import Pipeline
from ponder.build import build_model, build_task
from ponder.config import ConfigError, load_config
from ponder.nets.graph import GraphConfig, GraphDenoiser, graph_groups
from ponder.tasks import TASKS
from ponder.variables import VariableLayout

SMALL = ["model.graph.width=16", "model.graph.depth=2", "sample.num_samples=4"]


def make(name: str, **fields):
    cls = TASKS[name]
    return cls(cls.Config(**fields))


def test_groups_of_the_graph_tasks():
    assert graph_groups(make("connectivity").layout) == ((1, 1), 2, 0)
    kinds, m, k = graph_groups(make("shortest_path").layout)
    assert kinds == (1,) + (0,) * 10 and (m, k) == (1, 10)  # adjacency; start, goal, 8 steps
    completion = make("low_rank_completion", size=6)
    assert graph_groups(completion.layout) == ((1, 1, 1), 3, 0)  # values, mask, R
    net = GraphDenoiser(completion.layout, GraphConfig(width=8, depth=1))
    assert net(torch.randn(2, 18, 6), torch.rand(2, 18)).mean.shape == (2, 18, 6)
    with pytest.raises(ValueError, match=r"layout.graph"):
        graph_groups(VariableLayout(4, 2))
    with pytest.raises(ValueError, match="graph group 0 has 3 rows"):
        graph_groups(VariableLayout(3, 4, graph=(0, 0, 0)))
    with pytest.raises(ValueError, match="contiguous"):
        graph_groups(VariableLayout(3, 2, graph=(0, 1, 0)))
    with pytest.raises(ValueError, match="graph has 2 group ids for 3 variables"):
        VariableLayout(3, 2, graph=(0, 1))


@pytest.mark.parametrize("name", ["connectivity", "shortest_path"])
def test_relabelling_the_nodes_relabels_the_output_at_any_node_count(name):
    torch.manual_seed(0)
    task = make(name)
    net = GraphDenoiser(task.layout, GraphConfig(width=16, depth=2), uncertainty=True).double()
    torch.nn.init.normal_(net.out.weight)  # zero-initialised: make the output informative
    kinds = net.kinds
    for n in (task.config.nodes, task.config.nodes + 6):
        rows = sum(n if kind else 1 for kind in kinds)
        x = torch.randn(2, rows, n, dtype=torch.float64)
        t = torch.rand(2, rows, dtype=torch.float64)
        perm = torch.randperm(n)
        # rows of a matrix group and every row's entries follow the relabelling
        order, start = [], 0
        for kind in kinds:
            order += (start + perm).tolist() if kind else [start]
            start += n if kind else 1
        out = net(x, t)
        moved = net(x[:, order][:, :, perm], t[:, order])
        assert out.mean.shape == (2, rows, n) and out.logvar.shape == (2, rows)
        assert torch.allclose(moved.mean, out.mean[:, order][:, :, perm], atol=1e-10)
        assert torch.allclose(moved.logvar, out.logvar[:, order], atol=1e-10)
    with pytest.raises(ValueError, match="have 24 rows of 12"):
        GraphDenoiser(make("connectivity").layout, GraphConfig())(
            torch.zeros(1, 20, 12), torch.zeros(1, 20)
        )


@pytest.mark.parametrize(("name", "nodes"), [("connectivity", 18), ("shortest_path", 25)])
def test_the_harder_split_is_served_to_the_graph_denoiser_only(name, nodes):
    preset = {"connectivity": "connectivity_energy", "shortest_path": "shortest_path_energy"}[name]
    over = ["task.test_split=harder", "model.energy=false", "model.prediction=x0"]
    cfg = load_config(preset, [*SMALL, *over, "model.denoiser=graph"])
    task = build_task(cfg)
    batch = task.test_batch(4, 0)
    assert batch.x.shape[-1] == nodes and task.dependency().shape[0] == batch.x.shape[1]
    net = build_model(cfg, task.layout).net
    result = Pipeline(cfg, net.state_dict(), step=0, device="cpu").evaluate(4)
    assert 0 <= result.metrics[task.metric] <= 1
    shipped = load_config(preset)  # the preset is the configuration that reads every split
    assert shipped.model.denoiser == "graph" and len(shipped.task.train_nodes) == 2
    row_net = ["model.denoiser=transformer", "task.train_nodes=[]", "model.transformer.width=16"]
    cfg = load_config(preset, [*SMALL, *over, *row_net])
    net = build_model(cfg, build_task(cfg).layout).net
    rows = batch.x.shape[1]
    with pytest.raises(ConfigError, match=rf"variables \[{rows}, {nodes}\].*denoiser=graph"):
        Pipeline(cfg, net.state_dict(), step=0, device="cpu").evaluate(4)


@pytest.mark.parametrize(
    ("name", "preset", "sizes", "lowest", "extra_rows", "known_rows"),
    [  # lowest: the smallest node count the task accepts
        ("connectivity", "connectivity_energy", (5, 7), 3, lambda n: n, lambda n: n),
        ("shortest_path", "shortest_path_energy", (7, 9), 7, lambda n: 10, lambda n: n + 2),
    ],
)
def test_train_nodes_draw_a_node_count_per_batch_for_the_graph_denoiser_only(
    name, preset, sizes, lowest, extra_rows, known_rows
):
    task = make(name, train_nodes=sizes)
    seen = set()
    for seed in range(12):
        batch = task.train_batch(3, torch.Generator().manual_seed(seed))
        n = batch.x.shape[-1]
        assert batch.x.shape == (3, n + extra_rows(n), n)
        assert batch.known[:, : known_rows(n)].all() and not batch.known[:, known_rows(n) :].any()
        # the energy loss's task-made negatives read every drawn size (they once refused n
        # outside the test splits' sizes); they change unknown rows only
        negative = task.negatives(batch.x, batch.known, torch.Generator().manual_seed(seed))
        assert negative.shape == batch.x.shape
        assert torch.equal(negative[batch.known], batch.x[batch.known])
        assert not torch.equal(negative, batch.x)
        seen.add(n)
    assert seen == set(range(sizes[0], sizes[1] + 1))
    assert task.sizes_vary and not make(name).sizes_vary
    for bad in ((lowest - 1, lowest + 2), (lowest + 2, lowest), (lowest,)):
        message = rf"train_nodes must be \[lo, hi\] with {lowest} <= lo.*got "
        with pytest.raises(ConfigError, match=message + re.escape(str(list(bad)))):
            build_task(load_config(preset, [f"task.train_nodes={list(bad)}"]))
    cfg = load_config(preset, [f"task.train_nodes={list(sizes)}", "model.denoiser=transformer"])
    with pytest.raises(ConfigError, match=r"only a size-agnostic denoiser.*'transformer'"):
        build_model(cfg, build_task(cfg).layout)


@pytest.mark.parametrize(
    ("preset", "sizes", "metric"),
    [
        ("connectivity_energy", "[5, 8]", "accuracy"),
        ("shortest_path_energy", "[7, 9]", "first_action_success"),
    ],
)
def test_training_on_several_node_counts_runs(tmp_path, preset, sizes, metric):
    from ponder.api import load
    from ponder.training import train

    over = ["model.energy=false", "model.prediction=x0", "model.denoiser=graph"]
    over += [f"task.train_nodes={sizes}", "train.steps=3", "train.batch_size=4"]
    run = train(preset, tmp_path / "run", [*SMALL, *over, "train.progress=false"])
    result = load(run, device="cpu").evaluate(4)
    assert 0 <= result.metrics[metric] <= 1
