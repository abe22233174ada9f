"""Graph connectivity (IRED, REFERENCE 3.4) as a ponder task: which nodes reach which?

Wraps ``graph_tasks.Connectivity``: undirected k-nearest-neighbour graphs of 12 nodes (k in
1..2). Variables are adjacency rows in +1 / -1: the n rows of the adjacency matrix are known,
the n rows of the reflexive transitive closure are generated (``[B, 2n, n]``). The metric is
the per-entry accuracy of ``answer > 0`` over all n^2 entries, reported beside the trivial
predictors of ``trivial_baselines`` on the same batch (self only; per-entry majority).

The ``harder`` test split draws 18-node graphs (``[B, 36, 18]``): only a size-agnostic
denoiser reads them (``model.denoiser=graph``, whose weights do not depend on the node count;
``Pipeline.sample`` refuses the others with a clear error). The layout stays the training one.
``train_nodes: [lo, hi]`` trains that denoiser on a node count drawn per batch from lo..hi
(each batch one size), so it learns what holds at every size, not only at ``nodes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ponder.tasks import trivial_baselines as trivial
from ponder.tasks.base import Batch
from ponder.tasks.generated import GeneratedTask
from ponder.tasks.graph_tasks import Connectivity, signed
from ponder.tasks.matrix_tasks import TEST_SPLITS, EnergyBatch, ValidationSwitch
from ponder.variables.layout import VariableLayout

# trivial predictor -> metric key suffix ("accuracy_self_only", ...)
BASELINE_KEYS = {trivial.SELF_ONLY: "self_only", trivial.MAJORITY: "majority"}


@dataclass
class ConnectivityConfig(ValidationSwitch):
    name: str = "connectivity"
    nodes: int = 12
    test_split: str = "same"  # same | harder (18 nodes: needs model.denoiser=graph)
    # [lo, hi]: each training batch draws its node count from lo..hi (model.denoiser=graph);
    # empty: every batch has `nodes` nodes. The test splits keep theirs.
    train_nodes: tuple[int, ...] = ()


class ConnectivityTask(GeneratedTask):
    metric = "accuracy"
    baseline_keys = BASELINE_KEYS
    Config = ConnectivityConfig
    name = "connectivity"

    def __init__(self, config: ConnectivityConfig) -> None:
        check_graph_test_split(config.test_split)
        if config.nodes < 3:
            raise ValueError(
                f"nodes must be >= 3 (each node links to 1-2 others), got {config.nodes}"
            )
        self.config = config
        n = config.nodes
        self.train_nodes = check_train_nodes(config.train_nodes, minimum=3)
        self.energy_task = Connectivity(nodes=n, harder_nodes=max(n, Connectivity.harder_nodes))
        parts = (0,) * n + (1,) * n  # adjacency rows, then closure rows: two n x n matrices
        self.layout = VariableLayout(
            2 * n, n, structure={"part": parts, "node": tuple(range(n)) * 2}, graph=parts
        )
        self.data_range = self.energy_task.spec(config.test_split).data_range  # (-1, 1)

    # ------------------------------------------------------------------ data

    def to_batch(self, energy_batch: EnergyBatch) -> Batch:
        n = energy_batch.condition.shape[-1]
        x = torch.cat([energy_batch.condition, energy_batch.answer], dim=1)  # [B, 2n, n]
        known = torch.zeros(x.shape[:2], dtype=torch.bool)
        known[:, :n] = True
        return Batch(x, known)

    def to_energy_batch(self, x: Tensor) -> EnergyBatch:
        """Variables ``[B, 2n, n]`` -> adjacency ``[B, n, n]`` and closure ``[B, n, n]``, for
        the training split's n or the harder split's."""
        n = x.shape[-1] if x.dim() == 3 else self.config.nodes
        sizes = node_counts(self.energy_task, self.train_nodes)
        if x.dim() != 3 or tuple(x.shape[1:]) != (2 * n, n) or n not in sizes:
            raise ValueError(
                f"connectivity takes graphs of {sizes} nodes, as variables [B, 2n, n]; "
                f"got {list(x.shape)}"
            )
        adjacency, closure = x[:, :n], x[:, n:]
        return EnergyBatch(adjacency, closure, {"adjacency": adjacency > 0, "closure": closure > 0})

    def from_graphs(self, adjacency: Tensor) -> Batch:
        """Conditions for the user's undirected graphs ``[B, n, n]`` (edge where > 0).

        Self-loops are dropped (reachability is reflexive anyway). ValueError naming the shape
        for the wrong node count, and for a non-symmetric (directed) adjacency.
        """
        n = self.config.nodes
        if adjacency.dim() != 3 or tuple(adjacency.shape[1:]) != (n, n):
            raise ValueError(
                f"connectivity with nodes={n} takes adjacency [B, {n}, {n}], got "
                f"{list(adjacency.shape)}"
            )
        edges = (adjacency > 0) & ~torch.eye(n, dtype=torch.bool)  # [B, n, n]
        if not torch.equal(edges, edges.mT):
            raise ValueError(
                "connectivity graphs must be undirected: the adjacency is not symmetric"
            )
        closure = self.energy_task.target(edges.float(), "same")  # [B, n, n] +-1
        return self.to_batch(EnergyBatch(signed(edges), closure, {}))

    def negatives(
        self, x: Tensor, known: Tensor, generator: torch.Generator, fraction: float = 0.05
    ) -> Tensor:
        """IRED's connectivity negatives: flip ``fraction`` of the unknown entries' signs
        (and at least one per sample). ``x [B, N, n]`` +-1, ``known [B, N]`` -> ``[B, N, n]``."""
        draws = torch.rand(x.shape, generator=generator).masked_fill(known[..., None], 2.0)
        lowest = draws.flatten(1).min(1).values[:, None, None]  # [B, 1, 1]: one sure flip
        flip = ((draws < fraction) | (draws == lowest)) & ~known[..., None]  # [B, N, n]
        return torch.where(flip, -x, x)

    @staticmethod
    def project(x: Tensor) -> Tensor:
        """The nearest +-1 code of each entry (0 -> -1)."""
        return torch.where(x > 0, 1.0, -1.0).to(x.dtype)

    def to_images(self, x: Tensor) -> Tensor:
        """Adjacency and closure side by side, white = edge / reachable: ``[B, 1, n, 2n]``."""
        n = self.config.nodes
        adjacency, closure = x.view(-1, 2, n, n).unbind(1)  # [B, n, n] each
        return ((torch.cat([adjacency, closure], dim=2)[:, None] + 1) / 2).clamp(0, 1)

    def dependency(self) -> Tensor:
        """All rows depend on each other, at the test split's node count."""
        rows = 2 * self.energy_task.num_nodes(self.config.test_split)
        return torch.ones(rows, rows) - torch.eye(rows)


def check_train_nodes(train_nodes: tuple[int, ...], minimum: int) -> tuple[int, ...]:
    """``()`` or ``(lo, hi)`` with minimum <= lo <= hi; ValueError naming the value otherwise."""
    if train_nodes and (
        len(train_nodes) != 2
        or not all(isinstance(v, int) for v in train_nodes)
        or not minimum <= train_nodes[0] <= train_nodes[1]
    ):
        raise ValueError(
            f"train_nodes must be [lo, hi] with {minimum} <= lo <= hi (node counts drawn per "
            f"training batch), or empty; got {list(train_nodes)}"
        )
    return tuple(train_nodes)


def node_counts(energy_task, train_nodes: tuple[int, ...]) -> list[int]:
    """The node counts a graph task's tensors may have: its test splits' and, with
    ``train_nodes = (lo, hi)``, lo..hi (training batches and their negatives)."""
    sizes = {energy_task.num_nodes(split) for split in TEST_SPLITS}
    if train_nodes:
        sizes.update(range(train_nodes[0], train_nodes[1] + 1))
    return sorted(sizes)


def check_graph_test_split(test_split: str) -> None:
    """ValueError naming the value for an unknown split."""
    if test_split not in TEST_SPLITS:
        raise ValueError(f"test_split must be one of {list(TEST_SPLITS)}, got {test_split!r}")
