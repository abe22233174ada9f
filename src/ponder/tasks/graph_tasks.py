"""Graph IRED tasks (REFERENCE 3.4): connectivity and shortest-path planning.

Graphs follow the DNC recipe of the IRED release (``reasoning_dataset.random_generate_graph_dnc``):
n points uniform in the unit square, node i links to its k_i nearest other points, k_i uniform
in 1..k_max per node. Connectivity graphs are made symmetric; shortest-path graphs stay directed.
Both tasks encode booleans as +1 (true) / -1 (false), the release's ``(x - 0.5) * 2``.

- ``Connectivity``: 12 nodes (harder 18), k_max = 2 on both splits. Condition = adjacency
  ``[n, n]``; answer = the reflexive transitive closure ``[n, n]`` (node i reaches j; every
  node reaches itself, as in the release's ``get_connectivity(exclude_self=False)``). Metric:
  per-entry accuracy of ``prediction > 0`` over all n^2 entries, the diagonal included.
- ``ShortestPath``: 15 nodes (harder 25), k_max = n // 2 (the release's ``p = 0.5``). A
  distance d is drawn uniformly in 4..6, graphs are redrawn until some ordered pair (start,
  goal) lies at BFS distance d, and one such pair is drawn uniformly. Condition ``[n, n + 2]``:
  row i holds the out-edges of i, then "i is the start", then "i is the goal". Answer ``[8, n]``:
  the nodes visited after the start along a shortest path (each step drawn uniformly among
  the neighbours one step closer, as the release's oracle does), padded by repeating the goal.
  Metric: ``first_action_success``: the first step's node (argmax of ``prediction[:, 0]``) is an
  out-neighbour of the start strictly closer to the goal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ponder.tasks.matrix_tasks import EnergyBatch, TaskSpec, check_count, check_split


def signed(x: Tensor) -> Tensor:
    """Booleans to float32 +1 / -1."""
    return x.float() * 2 - 1


def knn_adjacency(points: Tensor, k: Tensor) -> Tensor:
    """Edge i -> j when j is among the ``k[b, i]`` nearest other points of i.

    points ``[B, n, 2]``, k ``[B, n]`` (long) -> adjacency ``[B, n, n]`` bool, no self-loops.
    """
    n = points.shape[1]
    dist = torch.cdist(points.double(), points.double())  # [B, n, n]
    dist.diagonal(dim1=1, dim2=2).fill_(float("inf"))
    rank = dist.argsort(dim=-1).argsort(dim=-1)  # [B, n, n]: rank of j among i's neighbours
    adjacency = rank < k[..., None]  # [B, n, n]
    return adjacency & ~torch.eye(n, dtype=torch.bool)


def transitive_closure(adjacency: Tensor) -> Tensor:
    """Reflexive transitive closure by repeated squaring: ``[B, n, n]`` bool -> ``[B, n, n]``."""
    n = adjacency.shape[-1]
    reach = adjacency.bool() | torch.eye(n, dtype=torch.bool)  # paths of length <= 1
    length = 1
    while length < n - 1:  # after squaring, paths of length <= 2 * length
        reach = reach | (reach.float() @ reach.float() > 0)
        length *= 2
    return reach


def bfs_distances(adjacency: Tensor) -> Tensor:
    """All-pairs hop distances ``D[b, i, j]`` from i to j (``n`` where j is unreachable).

    adjacency ``[B, n, n]`` (edge i -> j where true) -> long ``[B, n, n]``.
    """
    n = adjacency.shape[-1]
    edges = adjacency.float()
    reach = torch.eye(n, dtype=torch.bool).expand_as(adjacency).clone()  # [B, n, n]
    dist = torch.where(reach, 0, n).long()
    for step in range(1, n):
        grown = reach | (reach.float() @ edges > 0)  # one more hop
        new = grown & ~reach
        if not new.any():
            break
        dist[new] = step
        reach = grown
    return dist


def check_node_count(adjacency: Tensor, nodes: int, task: str, split: str) -> None:
    if adjacency.dim() != 3 or adjacency.shape[1] != adjacency.shape[2]:
        raise ValueError(f"{task}: graphs must be [B, n, n] adjacency, got {list(adjacency.shape)}")
    if adjacency.shape[-1] != nodes:
        raise ValueError(
            f"{task} split {split!r} takes graphs of {nodes} nodes, got {adjacency.shape[-1]}"
        )


def knn_graphs(
    count: int, nodes: int, max_k: int, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """DNC graphs: points ``[B, n, 2]``, out-degrees k ``[B, n]``, directed adjacency."""
    points = torch.rand(count, nodes, 2, generator=generator)  # [B, n, 2]
    k = torch.randint(1, max_k + 1, (count, nodes), generator=generator)  # [B, n]
    return points, k, knn_adjacency(points, k)


# --------------------------------------------------------------------------- connectivity


@dataclass(frozen=True)
class Connectivity:
    """Is node j reachable from node i in an undirected k-nearest-neighbour graph?"""

    nodes: int = 12
    harder_nodes: int = 18
    max_k: int = 2
    harder_max_k: int | None = None  # None: max_k (the release's p = 0.2 rule would give 3)
    name: str = "connectivity"

    def __post_init__(self) -> None:
        for field, k in (("max_k", self.max_k), ("harder_max_k", self.harder_max_k)):
            if k is not None and not 1 <= k < min(self.nodes, self.harder_nodes):
                raise ValueError(
                    f"{field} must be in 1..{min(self.nodes, self.harder_nodes) - 1}, got {k}"
                )

    def num_nodes(self, split: str) -> int:
        return self.harder_nodes if check_split(split) == "harder" else self.nodes

    def out_degree_bound(self, split: str) -> int:
        """k_max of the split: node i links to k_i ~ U{1..k_max} nearest neighbours."""
        if check_split(split) == "harder" and self.harder_max_k is not None:
            return self.harder_max_k
        return self.max_k

    def spec(self, split: str) -> TaskSpec:
        n = self.num_nodes(split)
        return TaskSpec(self.name, split, (n, n), (n, n), (-1.0, 1.0), "accuracy", True)

    def check_graphs(self, adjacency: Tensor, split: str) -> None:
        """ValueError naming the node count when graphs do not fit the split."""
        check_node_count(adjacency, self.num_nodes(split), self.name, split)

    def target(self, adjacency: Tensor, split: str) -> Tensor:
        """The answer (+1 / -1 closure ``[B, n, n]``) of graphs given as adjacency > 0."""
        self.check_graphs(adjacency, split)
        return signed(transitive_closure(adjacency > 0))

    def make_batch(self, n: int, split: str, generator: torch.Generator) -> EnergyBatch:
        nodes = self.num_nodes(split)
        max_k = self.out_degree_bound(split)
        points, k, directed = knn_graphs(check_count(n), nodes, max_k, generator)
        adjacency = directed | directed.mT  # [B, nodes, nodes], symmetric
        closure = transitive_closure(adjacency)  # [B, nodes, nodes]
        extra = {"adjacency": adjacency, "closure": closure, "points": points, "k": k}
        return EnergyBatch(signed(adjacency), signed(closure), extra)

    def metric(
        self, prediction: Tensor, answer: Tensor, extra: dict[str, Tensor], split: str
    ) -> Tensor:
        """Per-sample share of the n^2 entries whose sign matches: ``[B, n, n] -> [B]``."""
        self.check_graphs(prediction, split)
        if prediction.shape != answer.shape:
            raise ValueError(
                f"prediction has shape {list(prediction.shape)}, expected {list(answer.shape)}"
            )
        return ((prediction > 0) == (answer > 0)).flatten(1).float().mean(1)


# --------------------------------------------------------------------------- shortest path


def _as_index(value: Tensor, nodes: int, what: str) -> Tensor:
    """Node indices ``[B]`` from indices ``[B]`` or scores ``[B, n]`` (argmax)."""
    if value.dim() == 2:
        if value.shape[1] != nodes:
            raise ValueError(f"{what} scores must be [B, {nodes}], got {list(value.shape)}")
        value = value.argmax(dim=1)
    if value.dim() != 1 or value.is_floating_point():
        raise ValueError(f"{what} must be long indices [B] or scores [B, n], got {value.dtype}")
    if value.numel() and (value.min() < 0 or value.max() >= nodes):
        bad = value[(value < 0) | (value >= nodes)][0].item()
        raise ValueError(f"{what} index {bad} is out of range for graphs of {nodes} nodes")
    return value


def distances_to_goal(adjacency: Tensor, goal: Tensor) -> Tensor:
    """Hops from every node to ``goal`` (``n`` if unreachable): ``[B, n, n], [B] -> [B, n]``."""
    dist = bfs_distances(adjacency > 0)  # [B, n, n]
    index = goal[:, None, None].expand(-1, dist.shape[1], 1)  # [B, n, 1]
    return dist.gather(2, index).squeeze(2)  # [B, n]


def first_action_success(
    graph: Tensor, start: Tensor, goal: Tensor, first_action: Tensor
) -> Tensor:
    """Whether each first action is an out-neighbour of the start strictly closer to the goal.

    graph ``[B, n, n]`` (edge i -> j where > 0), start and goal ``[B]`` long, first_action
    ``[B]`` long or scores ``[B, n]`` (argmax taken) -> bool ``[B]``. Distances are BFS hops.
    """
    if graph.dim() != 3 or graph.shape[1] != graph.shape[2]:
        raise ValueError(f"graph must be [B, n, n] adjacency, got {list(graph.shape)}")
    batch, nodes = graph.shape[0], graph.shape[-1]
    start, goal = _as_index(start, nodes, "start"), _as_index(goal, nodes, "goal")
    action = _as_index(first_action, nodes, "first_action")
    if not start.shape[0] == goal.shape[0] == action.shape[0] == batch:
        raise ValueError(
            f"batch sizes differ: graph {batch}, start {start.shape[0]}, goal {goal.shape[0]}, "
            f"first_action {action.shape[0]}"
        )
    to_goal = distances_to_goal(graph, goal)  # [B, n]
    rows = torch.arange(batch)
    is_edge = graph[rows, start, action] > 0  # [B]
    return is_edge & (to_goal[rows, action] < to_goal[rows, start])


def random_neighbour_success(graph: Tensor, start: Tensor, goal: Tensor) -> Tensor:
    """Exact success probability of a uniformly random out-neighbour of the start: ``[B]``.

    (Out-neighbours strictly closer to the goal) / (out-degree); 0 where the start has none.
    """
    nodes = graph.shape[-1]
    start, goal = _as_index(start, nodes, "start"), _as_index(goal, nodes, "goal")
    rows = torch.arange(graph.shape[0])
    to_goal = distances_to_goal(graph, goal)  # [B, n]
    neighbours = graph[rows, start] > 0  # [B, n]
    closer = neighbours & (to_goal < to_goal[rows, start][:, None])  # [B, n]
    degree = neighbours.sum(1)
    return closer.sum(1).float() / degree.clamp(min=1)


@dataclass(frozen=True)
class ShortestPath:
    """Plan a shortest path from a start to a goal node in a directed kNN graph."""

    nodes: int = 15
    harder_nodes: int = 25
    min_distance: int = 4
    max_distance: int = 6
    plan_steps: int = 8
    name: str = "shortest_path"

    def __post_init__(self) -> None:
        smallest = min(self.nodes, self.harder_nodes)
        if not 1 <= self.min_distance <= self.max_distance <= min(self.plan_steps, smallest - 1):
            raise ValueError(
                f"need 1 <= min_distance ({self.min_distance}) <= max_distance "
                f"({self.max_distance}) <= min(plan_steps, nodes - 1) "
                f"({min(self.plan_steps, smallest - 1)})"
            )

    def num_nodes(self, split: str) -> int:
        return self.harder_nodes if check_split(split) == "harder" else self.nodes

    def spec(self, split: str) -> TaskSpec:
        n = self.num_nodes(split)
        return TaskSpec(
            self.name,
            split,
            (n, n + 2),
            (self.plan_steps, n),
            (-1.0, 1.0),
            "first_action_success",
            True,
        )

    def check_graphs(self, adjacency: Tensor, split: str) -> None:
        """ValueError naming the node count when graphs do not fit the split."""
        check_node_count(adjacency, self.num_nodes(split), self.name, split)

    def _graphs_with_pairs(
        self, count: int, nodes: int, distance: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Redraw graphs until each holds a pair at its ``distance`` ``[B]`` (as the release)."""
        points = torch.empty(count, nodes, 2)
        k = torch.empty(count, nodes, dtype=torch.long)
        adjacency = torch.empty(count, nodes, nodes, dtype=torch.bool)
        dist = torch.empty(count, nodes, nodes, dtype=torch.long)
        pending = torch.arange(count)
        while pending.numel():
            p, kk, adj = knn_graphs(pending.numel(), nodes, max(1, nodes // 2), generator)
            d = bfs_distances(adj)  # [P, n, n]
            ok = (d == distance[pending, None, None]).flatten(1).any(1)  # [P]
            done = pending[ok]
            points[done], k[done], adjacency[done], dist[done] = p[ok], kk[ok], adj[ok], d[ok]
            pending = pending[~ok]
        return points, k, adjacency, dist

    def make_batch(self, n: int, split: str, generator: torch.Generator) -> EnergyBatch:
        nodes, count = self.num_nodes(split), check_count(n)
        distance = torch.randint(
            self.min_distance, self.max_distance + 1, (count,), generator=generator
        )  # [B]
        points, k, adjacency, dist = self._graphs_with_pairs(count, nodes, distance, generator)
        pairs = (dist == distance[:, None, None]).flatten(1).float()  # [B, n*n]
        pair = torch.multinomial(pairs, 1, generator=generator).squeeze(1)  # [B]
        start, goal = pair // nodes, pair % nodes
        rows = torch.arange(count)
        to_goal = dist[rows, :, goal]  # [B, n]: hops from each node to the goal
        at_goal = torch.nn.functional.one_hot(goal, nodes).bool()  # [B, n]
        current, plan = start, []
        for _ in range(self.plan_steps):
            # the release's oracle: a uniformly random neighbour one hop closer to the goal
            closer = adjacency[rows, current] & (to_goal == (to_goal[rows, current] - 1)[:, None])
            choices = torch.where((current == goal)[:, None], at_goal, closer)  # [B, n]
            current = torch.multinomial(choices.float(), 1, generator=generator).squeeze(1)
            plan.append(current)
        plan_nodes = torch.stack(plan, dim=1)  # [B, steps]
        answer = signed(torch.nn.functional.one_hot(plan_nodes, nodes).bool())  # [B, steps, n]
        start_flag = torch.nn.functional.one_hot(start, nodes).bool()[..., None]  # [B, n, 1]
        condition = signed(torch.cat([adjacency, start_flag, at_goal[..., None]], dim=2))
        extra = {
            "adjacency": adjacency,  # [B, n, n] bool, edge i -> j
            "start": start,  # [B]
            "goal": goal,  # [B]
            "distance": distance,  # [B] BFS hops from start to goal
            "distance_to_goal": to_goal,  # [B, n]
            "plan": plan_nodes,  # [B, steps] node indices
            "points": points,  # [B, n, 2]
            "k": k,  # [B, n] out-degrees
        }
        return EnergyBatch(condition, answer, extra)  # condition [B, n, n + 2]

    def metric(
        self, prediction: Tensor, answer: Tensor, extra: dict[str, Tensor], split: str
    ) -> Tensor:
        """1.0 where the plan's first step is a good first action, else 0.0: ``[B]``."""
        self.check_graphs(extra["adjacency"], split)
        if prediction.shape != answer.shape:
            raise ValueError(
                f"prediction has shape {list(prediction.shape)}, expected {list(answer.shape)}"
            )
        first = prediction[:, 0]  # [B, n] scores of the first step
        return first_action_success(
            extra["adjacency"], extra["start"], extra["goal"], first
        ).float()


GRAPH_TASKS: dict[str, type] = {"connectivity": Connectivity, "shortest_path": ShortestPath}
