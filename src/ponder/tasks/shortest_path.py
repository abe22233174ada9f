"""Shortest-path planning (IRED, REFERENCE 3.4) as a ponder task.

Wraps ``graph_tasks.ShortestPath``: directed k-nearest-neighbour graphs of 15 nodes, a start
and a goal 4-6 hops apart, and a plan of 8 steps (the nodes visited after the start, padded by
repeating the goal). Variables are rows of n entries in +1 / -1: the n out-edge rows of the
adjacency matrix, the start's one-hot row and the goal's one-hot row are known; the 8 one-hot
plan rows are generated (``[B, n + 10, n]``). The metric is ``first_action_success``: the
plan's first node (argmax) is an out-neighbour of the start strictly closer to the goal. It
is reported beside the trivial predictors of ``trivial_baselines`` on the same batch (a random
out-neighbour of the start; a random node), both exact expectations.

The ``harder`` test split draws 25-node graphs (``[B, 35, 25]``), which only a size-agnostic
denoiser reads (``model.denoiser=graph``; see ``graph_connectivity``), and ``train_nodes: [lo,
hi]`` trains it on node counts drawn per batch from lo..hi.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ponder.tasks import trivial_baselines as trivial
from ponder.tasks.base import Batch
from ponder.tasks.generated import GeneratedTask
from ponder.tasks.graph_connectivity import (
    check_graph_test_split,
    check_train_nodes,
    node_counts,
)
from ponder.tasks.graph_tasks import ShortestPath, bfs_distances, distances_to_goal, signed
from ponder.tasks.matrix_tasks import EnergyBatch, ValidationSwitch
from ponder.variables.layout import VariableLayout

# trivial predictor -> metric key suffix ("first_action_success_random_neighbour", ...)
BASELINE_KEYS = {trivial.RANDOM_NEIGHBOUR: "random_neighbour", trivial.RANDOM_NODE: "random_node"}
METRIC = "first_action_success"


@dataclass
class ShortestPathConfig(ValidationSwitch):
    name: str = "shortest_path"
    nodes: int = 15
    test_split: str = "same"  # same | harder (25 nodes: needs model.denoiser=graph)
    train_nodes: tuple[int, ...] = ()  # [lo, hi]: node counts drawn per training batch (graph)


class ShortestPathTask(GeneratedTask):
    metric = METRIC
    baseline_keys = BASELINE_KEYS
    Config = ShortestPathConfig
    name = "shortest_path"
    one_hot_codes = True  # plan rows are +-1 one-hot next nodes (sample.commit_temperature)

    def __init__(self, config: ShortestPathConfig) -> None:
        check_graph_test_split(config.test_split)
        n = config.nodes
        self.energy_task = ShortestPath(nodes=n, harder_nodes=max(n, ShortestPath.harder_nodes))
        if n <= self.energy_task.max_distance:
            raise ValueError(
                f"nodes must be > {self.energy_task.max_distance} (start and goal "
                f"lie up to {self.energy_task.max_distance} hops apart), got {n}"
            )
        self.config = config
        self.train_nodes = check_train_nodes(config.train_nodes, self.energy_task.max_distance + 1)
        steps = self.energy_task.plan_steps
        # the graph denoiser's groups: the adjacency matrix, then one vector per other row
        graph = (0,) * n + tuple(range(1, 3 + steps))
        self.layout = VariableLayout(
            n + 2 + steps,
            n,
            structure={"part": (0,) * n + (1, 2) + (3,) * steps},
            graph=graph,
        )
        self.data_range = self.energy_task.spec(config.test_split).data_range  # (-1, 1)

    @staticmethod
    def num_known(nodes: int) -> int:
        """Known rows: n out-edge rows, the start row, the goal row."""
        return nodes + 2

    # ------------------------------------------------------------------ data

    def to_batch(self, energy_batch: EnergyBatch) -> Batch:
        condition = energy_batch.condition  # [B, n, n + 2]
        n = condition.shape[1]
        rows = [condition[:, :, :n], condition[:, None, :, n], condition[:, None, :, n + 1]]
        x = torch.cat([*rows, energy_batch.answer], dim=1)  # [B, n + 2 + steps, n]
        known = torch.zeros(x.shape[:2], dtype=torch.bool)
        known[:, : self.num_known(n)] = True
        return Batch(x, known)

    def to_energy_batch(self, x: Tensor) -> EnergyBatch:
        """Variables ``[B, n + 2 + steps, n]`` -> condition ``[B, n, n + 2]``, plan
        ``[B, steps, n]`` and the ``extra`` the metric and the trivial predictors read, for the
        training split's n or the harder split's."""
        n = x.shape[-1] if x.dim() == 3 else self.config.nodes
        sizes = node_counts(self.energy_task, self.train_nodes)
        rows = n + 2 + self.energy_task.plan_steps
        if x.dim() != 3 or tuple(x.shape[1:]) != (rows, n) or n not in sizes:
            raise ValueError(
                f"shortest_path takes graphs of {sizes} nodes, as variables "
                f"[B, n + {rows - n}, n]; got {list(x.shape)}"
            )
        condition = torch.cat([x[:, :n], x[:, n, :, None], x[:, n + 1, :, None]], dim=2)
        adjacency, goal = x[:, :n] > 0, x[:, n + 1].argmax(1)  # [B, n, n], [B]
        extra = {
            "adjacency": adjacency,
            "start": x[:, n].argmax(1),  # [B]
            "goal": goal,
            "distance_to_goal": distances_to_goal(adjacency, goal),  # [B, n]
        }
        return EnergyBatch(condition, x[:, self.num_known(n) :], extra)

    def from_graphs(self, adjacency: Tensor, start: Tensor, goal: Tensor) -> Batch:
        """Conditions for the user's directed graphs ``[B, n, n]`` (edge i -> j where > 0) and
        start / goal node indices ``[B]``; the answer rows hold a shortest plan (the lowest
        numbered closer neighbour at each step). ValueError naming the value for the wrong node
        count, out-of-range nodes, or a goal that is unreachable or too far for the plan."""
        n, steps = self.config.nodes, self.energy_task.plan_steps
        if adjacency.dim() != 3 or tuple(adjacency.shape[1:]) != (n, n):
            raise ValueError(
                f"shortest_path with nodes={n} takes adjacency [B, {n}, {n}], got "
                f"{list(adjacency.shape)}"
            )
        count = adjacency.shape[0]
        for what, nodes in (("start", start), ("goal", goal)):
            bad_type = nodes.is_floating_point() or tuple(nodes.shape) != (count,)
            if bad_type or nodes.min() < 0 or nodes.max() >= n:
                raise ValueError(f"{what} must be {count} node indices in 0..{n - 1}, got {nodes}")
        edges = (adjacency > 0) & ~torch.eye(n, dtype=torch.bool)  # [B, n, n]
        rows = torch.arange(count)
        to_goal = bfs_distances(edges)[rows, :, goal]  # [B, n] hops to the goal (n: never)
        distance = to_goal[rows, start]  # [B]
        if distance.min() < 1 or distance.max() > steps:
            raise ValueError(
                f"the goal must lie 1..{steps} hops from the start, got distances "
                f"{distance.tolist()} ({n} = unreachable)"
            )
        at_goal = F.one_hot(goal, n).bool()  # [B, n]
        current, plan = start, []
        for _ in range(steps):
            closer = edges[rows, current] & (to_goal == (to_goal[rows, current] - 1)[:, None])
            current = torch.where((current == goal)[:, None], at_goal, closer).float().argmax(1)
            plan.append(current)
        answer = signed(F.one_hot(torch.stack(plan, 1), n).bool())  # [B, steps, n]
        flags = F.one_hot(start, n).bool()[..., None], at_goal[..., None]  # [B, n, 1] each
        condition = signed(torch.cat([edges, *flags], dim=2))  # [B, n, n + 2]
        return self.to_batch(EnergyBatch(condition, answer, {}))

    def negatives(self, x: Tensor, known: Tensor, generator: torch.Generator) -> Tensor:
        """IRED's planning negatives: the first plan step replaced by a random node that is
        not a good first action. ``x [B, N, n]`` -> ``[B, N, n]``; only that row changes (the
        plan rows are never known, so ``known`` is not needed)."""
        extra = self.to_energy_batch(x).extra
        rows, start, to_goal = torch.arange(x.shape[0]), extra["start"], extra["distance_to_goal"]
        good = extra["adjacency"][rows, start] & (to_goal < to_goal[rows, start][:, None])
        # the start itself is never good (no self-loops), so every row has a wrong choice
        wrong = torch.multinomial((~good).float(), 1, generator=generator).squeeze(1)  # [B]
        negative = x.clone()
        negative[:, self.num_known(x.shape[-1])] = signed(F.one_hot(wrong, x.shape[-1]).bool())
        return negative

    @staticmethod
    def project(x: Tensor) -> Tensor:
        """The nearest plan code of each row: +-1 one-hot of its argmax."""
        return signed(F.one_hot(x.argmax(-1), x.shape[-1]).bool()).to(x.dtype)

    def to_images(self, x: Tensor) -> Tensor:
        """Out-edges, start, goal and plan rows stacked, white = +1: ``[B, 1, n + 10, n]``."""
        return ((x[:, None] + 1) / 2).clamp(0, 1)

    def dependency(self) -> Tensor:
        """All rows depend on each other, at the test split's node count."""
        rows = self.energy_task.num_nodes(self.config.test_split) + 2 + self.energy_task.plan_steps
        return torch.ones(rows, rows) - torch.eye(rows)
