"""Trivial predictors on the fixed IRED test sets: the floor any trained model must clear.

``trivial_baselines()`` scores, on ``test_set(task, split)``, predictors that read little or
nothing of the condition. Anything such a predictor needs (a mean matrix, a majority label)
is estimated on fresh training-split draws, never on the test set; the one exception is
labelled "oracle": the mean inverse of the harder distribution, drawn fresh (not the test
set), which is what REFERENCE's harder figure for the constant predictor matches.
``to_markdown(rows)`` renders the table; ``benchmarks/trivial_baselines.py`` prints it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ponder.tasks.graph_tasks import (
    GRAPH_TASKS,
    Connectivity,
    ShortestPath,
    random_neighbour_success,
    signed,
)
from ponder.tasks.matrix_tasks import (
    MATRIX_TASKS,
    TEST_SET_SIZE,
    TEST_SPLITS,
    EnergyBatch,
    EnergyTask,
    LowRankCompletion,
    MatrixAddition,
    MatrixInverse,
    check_count,
    test_set,
)

ENERGY_TASKS: dict[str, type] = {**MATRIX_TASKS, **GRAPH_TASKS}

ZEROS = "all zeros"
COPY_OBSERVED = "copy observed, zero elsewhere"
MEAN_INVERSE = "constant E[A^-1] (train draws)"
MEAN_INVERSE_ORACLE = "constant E[A^-1] (harder draws, oracle)"
SELF_ONLY = "identity (unconnected except self)"
MAJORITY = "majority per entry (train draws)"
RANDOM_NEIGHBOUR = "random out-neighbour of start (exact)"
RANDOM_NODE = "random node (exact)"

# REFERENCE 3.4 "Trivial predictors": (task, predictor) -> (same, harder). REFERENCE names one
# constant predictor; its harder figure (0.2155) is the oracle constant's, not the train one's.
REFERENCE_FIGURES: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("matrix_addition", ZEROS): (0.667, 4.166),
    ("low_rank_completion", COPY_OBSERVED): (0.0175, 0.2055),
    ("matrix_inverse", MEAN_INVERSE): (0.0142, 0.2155),
    ("matrix_inverse", MEAN_INVERSE_ORACLE): (None, 0.2155),
    ("matrix_inverse", ZEROS): (0.0208, 0.2564),
}


@dataclass(frozen=True)
class BaselineRow:
    task: str
    split: str
    predictor: str
    metric: str
    value: float  # mean of the per-sample metric over the test set
    stderr: float  # standard error of that mean (sample std / sqrt(samples))
    samples: int
    reference: float | None = None  # REFERENCE's figure for this cell, if it gives one


def reference_figure(task: str, predictor: str, split: str) -> float | None:
    figures = REFERENCE_FIGURES.get((task, predictor))
    if figures is None:
        return None
    return figures[TEST_SPLITS.index(split)]


# A predictor maps a test batch to per-sample metric values [B].
Predictor = Callable[[EnergyBatch], Tensor]


def _scored(
    task: EnergyTask, split: str, make_prediction: Callable[[EnergyBatch], Tensor]
) -> Predictor:
    def score(batch: EnergyBatch) -> Tensor:
        return task.metric(make_prediction(batch), batch.answer, batch.extra, split)

    return score


def predictors_for(
    task: EnergyTask, split: str, train_draws: int, train_seed: int
) -> dict[str, Predictor]:
    """The trivial predictors of one task and split, fitted on training draws where needed."""

    def draws(draw_split: str, offset: int = 0) -> EnergyBatch:
        generator = torch.Generator().manual_seed(train_seed + offset)
        return task.make_batch(train_draws, draw_split, generator)

    def zeros(b: EnergyBatch) -> Tensor:
        return torch.zeros_like(b.answer)

    def constant(value: Tensor) -> Callable[[EnergyBatch], Tensor]:
        return lambda b: value.expand_as(b.answer)

    if isinstance(task, MatrixAddition):
        return {ZEROS: _scored(task, split, zeros)}
    if isinstance(task, LowRankCompletion):

        def observed_values(b: EnergyBatch) -> Tensor:
            return b.condition[:, 0]  # [B, n, n], zero where unobserved

        return {
            COPY_OBSERVED: _scored(task, split, observed_values),
            ZEROS: _scored(task, split, zeros),
        }
    if isinstance(task, MatrixInverse):
        mean_inverse = draws("train").answer.double().mean(0).float()  # [n, n]
        found = {
            MEAN_INVERSE: _scored(task, split, constant(mean_inverse)),
            ZEROS: _scored(task, split, zeros),
        }
        if split == "harder":
            oracle = draws("harder", offset=1).answer.double().mean(0).float()  # [n, n]
            found[MEAN_INVERSE_ORACLE] = _scored(task, split, constant(oracle))
        return found
    if isinstance(task, Connectivity):
        # node labels are exchangeable, so the per-entry majority is one label for the
        # diagonal (always reachable) and one for all off-diagonal entries; pooling them makes
        # the rule apply to the harder split's larger graphs too
        closure = draws("train").extra["closure"]  # [D, 12, 12]
        off_diagonal = ~torch.eye(closure.shape[-1], dtype=torch.bool)
        off_rate = closure[:, off_diagonal].float().mean().item()
        nodes = task.num_nodes(split)
        eye = torch.eye(nodes, dtype=torch.bool)
        majority = signed(eye | (off_rate > 0.5))  # [n, n]
        return {
            SELF_ONLY: _scored(task, split, constant(signed(eye))),
            MAJORITY: _scored(task, split, constant(majority)),
        }
    if isinstance(task, ShortestPath):

        def neighbour(b: EnergyBatch) -> Tensor:
            return random_neighbour_success(b.extra["adjacency"], b.extra["start"], b.extra["goal"])

        def node(b: EnergyBatch) -> Tensor:
            # a uniformly random node: good first actions / n
            e = b.extra
            rows = torch.arange(e["start"].shape[0])
            good = e["adjacency"][rows, e["start"]] & (
                e["distance_to_goal"] < e["distance_to_goal"][rows, e["start"]][:, None]
            )  # [B, n]
            return good.float().mean(1)

        return {RANDOM_NEIGHBOUR: neighbour, RANDOM_NODE: node}
    raise ValueError(f"no trivial predictors for task {task.name!r}; known: {list(ENERGY_TASKS)}")


def trivial_baselines(
    samples: int = TEST_SET_SIZE,
    train_draws: int = 10_000,
    train_seed: int = 0,
    tasks: list[str] | None = None,
) -> list[BaselineRow]:
    """Score every trivial predictor on the first ``samples`` of each fixed test set."""
    check_count(samples)
    check_count(train_draws)
    names = list(ENERGY_TASKS) if tasks is None else tasks
    rows = []
    for name in names:
        if name not in ENERGY_TASKS:
            raise ValueError(f"unknown energy task {name!r}; expected one of {list(ENERGY_TASKS)}")
        task = ENERGY_TASKS[name]()
        for split in TEST_SPLITS:
            batch = test_set(task, split, samples)
            for predictor, score in predictors_for(task, split, train_draws, train_seed).items():
                values = score(batch).double()  # [B]
                stderr = values.std().item() / len(values) ** 0.5 if len(values) > 1 else 0.0
                rows.append(
                    BaselineRow(
                        name,
                        split,
                        predictor,
                        task.spec(split).metric,
                        values.mean().item(),
                        stderr,
                        len(values),
                        reference_figure(name, predictor, split),
                    )
                )
    return rows


def to_markdown(rows: list[BaselineRow]) -> str:
    lines = [
        "| task | split | predictor | metric | value ± s.e. | REFERENCE |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = "" if r.reference is None else f"{r.reference:.4g}"
        lines.append(
            f"| {r.task} | {r.split} | {r.predictor} | {r.metric} | "
            f"{r.value:.4g} ± {r.stderr:.2g} | {ref} |"
        )
    return "\n".join(lines)
