"""What every task provides to training, sampling and evaluation."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class Batch(NamedTuple):
    x: Tensor  # [B, N, D] variables (ground truth where known; training targets)
    known: Tensor  # [B, N] bool: observed variables (t = 0, repainted)
    label: Tensor | None = None  # [B] class labels for label-conditioned tasks
    # [B, N] the symbol each variable renders, where variables are continuous pictures of
    # discrete values (MNIST Sudoku: each cell's digit), for evaluation only
    symbols: Tensor | None = None


def check_batch(batch: Batch, num_variables: int, dim: int, source: str) -> None:
    """Clear errors for a data source that returns wrong shapes."""
    x, known = batch.x, batch.known
    if x.dim() != 3 or tuple(x.shape[1:]) != (num_variables, dim):
        raise ValueError(
            f"{source} returned x of shape {list(x.shape)}, expected [B, {num_variables}, {dim}]"
        )
    if tuple(known.shape) != tuple(x.shape[:2]):
        raise ValueError(
            f"{source} returned known of shape {list(known.shape)}, expected {list(x.shape[:2])}"
        )
