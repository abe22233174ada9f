"""Continuous IRED tasks (REFERENCE 3.4): matrix addition, low-rank completion, matrix inverse.

Every task is a small frozen dataclass with

- ``spec(split) -> TaskSpec``: shapes, the data range answers lie in (clamp generated answers to
  the range of the split being evaluated, not to the training range) and the metric;
- ``make_batch(n, split, generator) -> EnergyBatch(condition, answer, extra)``: float32 tensors
  drawn with an explicit ``torch.Generator`` (CPU);
- ``metric(prediction, answer, extra, split) -> [B]``: the per-sample metric (here the MSE over
  the answer's entries); report its mean.

Splits: ``train`` (training distribution), ``same`` (test, training distribution), ``harder``
(test, out of the training distribution). ``test_set(task, split)`` returns the fixed test set
of a split, drawn in chunks of 1,000 from seeds reserved for it (see ``test_seed``), so a
smaller ``n`` is a prefix of a larger one; ``test_set(task, split, validation=True)`` is a
second fixed set of the same distribution from other reserved seeds, for choosing sampling
settings (levels, inner steps) without looking at the test set. Generators follow the IRED release
(``dataset.py``): the low-rank noise ``0.1 N(0, 1)`` is added on both splits and the inverse
task's ``A = B B^T + (B B^T)^T + c I = 2 B B^T + c I``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import torch
from torch import Tensor

SPLITS = ("train", "same", "harder")
TEST_SPLITS = ("same", "harder")
TEST_SET_SIZE = 10_000
TEST_CHUNK = 1_000
# Test seeds live at 9e9 and above; training streams must draw from seeds below that.
TEST_SEED_BASE = {"same": 9_100_000_000, "harder": 9_200_000_000}
VALIDATION_SEED_BASE = {"same": 9_300_000_000, "harder": 9_400_000_000}


@dataclass
class ValidationSwitch:
    """Inherited by the configs of the tasks built on these generators (``task.validation``):
    true evaluates on the split's validation set, to choose sampling settings there."""

    validation: bool = False


def check_split(split: str, accepted: tuple[str, ...] = SPLITS) -> str:
    if split not in accepted:
        raise ValueError(f"unknown split {split!r}; expected one of {list(accepted)}")
    return split


def check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of samples must be an int >= 1, got {n!r}")
    return n


@dataclass(frozen=True)
class TaskSpec:
    """What a model must read and write for one split of a task (shapes exclude the batch)."""

    name: str
    split: str
    condition_shape: tuple[int, ...]
    answer_shape: tuple[int, ...]
    data_range: tuple[float, float]  # answers lie in it (low-rank: all but ~1e-6 of entries)
    metric: str  # "mse" | "accuracy" | "first_action_success"
    higher_is_better: bool


class EnergyBatch(NamedTuple):
    condition: Tensor  # [B, *spec.condition_shape] float32
    answer: Tensor  # [B, *spec.answer_shape] float32
    extra: dict[str, Tensor]  # task-specific ground truth (masks, graphs, distances)


class EnergyTask(Protocol):
    name: str

    def spec(self, split: str) -> TaskSpec: ...

    def make_batch(self, n: int, split: str, generator: torch.Generator) -> EnergyBatch: ...

    def metric(
        self, prediction: Tensor, answer: Tensor, extra: dict[str, Tensor], split: str
    ) -> Tensor: ...


def test_seed(task_name: str, split: str, chunk: int, validation: bool = False) -> int:
    """The seed of chunk ``chunk`` (``TEST_CHUNK`` samples) of a task's fixed test set (or of
    its validation set: disjoint seeds, the same distribution)."""
    check_split(split, TEST_SPLITS)
    base = (VALIDATION_SEED_BASE if validation else TEST_SEED_BASE)[split]
    return base + (zlib.crc32(task_name.encode()) % 1_000_000) * 1_000 + chunk


def test_set(
    task: EnergyTask, split: str, n: int = TEST_SET_SIZE, validation: bool = False
) -> EnergyBatch:
    """The fixed test set of ``split`` ("same" or "harder"): the same tensors on every call;
    ``validation=True``: the split's validation set instead."""
    check_split(split, TEST_SPLITS)
    check_count(n)
    if n > 1_000 * TEST_CHUNK:
        raise ValueError(f"test sets hold at most {1_000 * TEST_CHUNK} samples, asked for {n}")
    parts = []
    for chunk in range((n + TEST_CHUNK - 1) // TEST_CHUNK):
        generator = torch.Generator().manual_seed(test_seed(task.name, split, chunk, validation))
        parts.append(task.make_batch(TEST_CHUNK, split, generator))
    return concat_batches(parts, n)


# names starting with "test" would be collected by pytest wherever they are imported
test_seed.__test__ = False  # type: ignore[attr-defined]
test_set.__test__ = False  # type: ignore[attr-defined]


def concat_batches(parts: list[EnergyBatch], n: int | None = None) -> EnergyBatch:
    """Concatenate batches along the batch dimension, keeping the first ``n`` samples."""
    end = slice(None) if n is None else slice(0, n)
    condition = torch.cat([p.condition for p in parts])[end]
    answer = torch.cat([p.answer for p in parts])[end]
    extra = {key: torch.cat([p.extra[key] for p in parts])[end] for key in parts[0].extra}
    return EnergyBatch(condition, answer, extra)


def mse_per_sample(prediction: Tensor, answer: Tensor) -> Tensor:
    """Mean squared error over all entries of each sample: ``[B, ...] -> [B]``."""
    if prediction.shape != answer.shape:
        raise ValueError(
            f"prediction has shape {list(prediction.shape)}, expected {list(answer.shape)}"
        )
    return (prediction.float() - answer.float()).pow(2).flatten(1).mean(1)


def uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> Tensor:
    """U[-bound, bound] float32 draws."""
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


# --------------------------------------------------------------------------- addition


@dataclass(frozen=True)
class MatrixAddition:
    """Given A and B ~ U[-r, r]^{size x size}, infer A + B (r = 1; harder r = 2.5)."""

    size: int = 20
    name: str = "matrix_addition"

    def bound(self, split: str) -> float:
        return 2.5 if check_split(split) == "harder" else 1.0

    def spec(self, split: str) -> TaskSpec:
        n, r = self.size, self.bound(split)
        return TaskSpec(self.name, split, (2, n, n), (n, n), (-2 * r, 2 * r), "mse", False)

    def make_batch(self, n: int, split: str, generator: torch.Generator) -> EnergyBatch:
        r, s = self.bound(split), self.size
        a = uniform((check_count(n), s, s), r, generator)  # [B, s, s]
        b = uniform((n, s, s), r, generator)  # [B, s, s]
        return EnergyBatch(torch.stack([a, b], dim=1), a + b, {})  # [B, 2, s, s], [B, s, s]

    def metric(
        self, prediction: Tensor, answer: Tensor, extra: dict[str, Tensor], split: str
    ) -> Tensor:
        return mse_per_sample(prediction, answer)


# --------------------------------------------------------------------------- low rank


@dataclass(frozen=True)
class LowRankCompletion:
    """Complete R = U V^T / d + 0.1 N(0, 1) from the half of its entries that is observed.

    U, V ~ N(0, 1)^{size x rank}; d = 20 (harder: 5); the 0.1 noise applies to both splits (as
    in the IRED release). Each entry is observed with probability 0.5. The condition stacks the
    observed values (zero where unobserved) and the observed mask (1.0 / 0.0): ``[B, 2, n, n]``.
    ``extra["observed"]`` is the mask as booleans. Metric: MSE over all entries.
    """

    size: int = 20
    rank: int = 10
    noise: float = 0.1
    observed_rate: float = 0.5
    name: str = "low_rank_completion"

    def divisor(self, split: str) -> float:
        return 5.0 if check_split(split) == "harder" else 20.0

    def entry_variance(self, split: str) -> float:
        """Var(R_ij) = rank / d^2 + noise^2 (0.035 train/same, 0.41 harder)."""
        return self.rank / self.divisor(split) ** 2 + self.noise**2

    def spec(self, split: str) -> TaskSpec:
        # about 7 standard deviations: a 20x20 matrix exceeds it with probability ~1e-5
        bound = round(7 * self.entry_variance(split) ** 0.5, 2)
        n = self.size
        return TaskSpec(self.name, split, (2, n, n), (n, n), (-bound, bound), "mse", False)

    def make_batch(self, n: int, split: str, generator: torch.Generator) -> EnergyBatch:
        s, d = self.size, self.divisor(split)
        u = torch.randn(check_count(n), s, self.rank, generator=generator)  # [B, s, rank]
        v = torch.randn(n, s, self.rank, generator=generator)  # [B, s, rank]
        noise = torch.randn(n, s, s, generator=generator)  # [B, s, s]
        full = u @ v.mT / d + self.noise * noise  # [B, s, s]
        observed = torch.rand(n, s, s, generator=generator) < self.observed_rate  # [B, s, s]
        condition = torch.stack([full * observed, observed.float()], dim=1)  # [B, 2, s, s]
        return EnergyBatch(condition, full, {"observed": observed})

    def metric(
        self, prediction: Tensor, answer: Tensor, extra: dict[str, Tensor], split: str
    ) -> Tensor:
        return mse_per_sample(prediction, answer)


# --------------------------------------------------------------------------- inverse


def inverse_target(a: Tensor, max_condition: float = 1e6) -> Tensor:
    """``A^{-1}`` of a batch of square matrices ``[..., n, n]`` (float64 inside, float32 out).

    Raises ValueError naming the shape for a non-square input, and naming the condition number
    for a matrix that is singular, ill-conditioned or holds non-finite entries. The condition
    number is the 1-norm one, ``||A||_1 ||A^{-1}||_1`` (cheap once the inverse exists; within a
    factor n of the 2-norm one); matrices above ``max_condition`` are refused.
    """
    if a.dim() < 2 or a.shape[-1] != a.shape[-2] or a.shape[-1] == 0:
        raise ValueError(f"inverse_target needs square matrices [..., n, n], got {list(a.shape)}")
    a64 = a.to(torch.float64)
    if not torch.isfinite(a64).all():
        raise ValueError("inverse_target got non-finite entries (condition number inf)")
    lu, pivots, info = torch.linalg.lu_factor_ex(a64)  # info > 0 where singular: [...]
    # a contiguous right-hand side: batched inv, or lu_solve of an expanded eye, is slow on CPU
    eye = torch.eye(a64.shape[-1], dtype=torch.float64).expand_as(a64).contiguous()
    inverse = torch.linalg.lu_solve(lu, pivots, eye)  # [..., n, n]
    cond = torch.linalg.matrix_norm(a64, ord=1) * torch.linalg.matrix_norm(inverse, ord=1)
    cond = torch.where(info == 0, cond, torch.full_like(cond, float("inf")))  # [...]
    worst = cond.max() if cond.numel() else cond.new_tensor(0.0)
    if not torch.isfinite(worst) or worst > max_condition:
        raise ValueError(
            f"inverse_target got a singular or ill-conditioned matrix: condition number "
            f"{worst.item():.3g} > max_condition={max_condition:.3g}"
        )
    return inverse.to(torch.float32)


@dataclass(frozen=True)
class MatrixInverse:
    """Given A = 2 B B^T + c I with B ~ U[-1, 1]^{size x size}, infer A^{-1}.

    c = 0.5 (harder: 0.1). A is symmetric positive definite with eigenvalues >= c, so every
    entry of A^{-1} lies in [-1/c, 1/c] (the spec's data range). A is built in float64 and
    stored in float32; the target is the float64 inverse of that float32 matrix.
    """

    size: int = 20
    name: str = "matrix_inverse"

    def shift(self, split: str) -> float:
        return 0.1 if check_split(split) == "harder" else 0.5

    def spec(self, split: str) -> TaskSpec:
        n, c = self.size, self.shift(split)
        return TaskSpec(self.name, split, (n, n), (n, n), (-1 / c, 1 / c), "mse", False)

    def make_batch(self, n: int, split: str, generator: torch.Generator) -> EnergyBatch:
        s, c = self.size, self.shift(split)
        b = uniform((check_count(n), s, s), 1.0, generator).double()  # [B, s, s]
        bbt = b @ b.mT  # [B, s, s]
        # B B^T + (B B^T)^T as in the release: exactly symmetric in floating point
        a = (bbt + bbt.mT + c * torch.eye(s, dtype=torch.float64)).float()  # [B, s, s]
        return EnergyBatch(a, inverse_target(a), {})

    def metric(
        self, prediction: Tensor, answer: Tensor, extra: dict[str, Tensor], split: str
    ) -> Tensor:
        return mse_per_sample(prediction, answer)


MATRIX_TASKS: dict[str, type] = {
    "matrix_addition": MatrixAddition,
    "low_rank_completion": LowRankCompletion,
    "matrix_inverse": MatrixInverse,
}
