"""Plain sets of vectors as variables (matrix entries, graph edges, object positions)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ponder.variables.layout import VariableLayout


@dataclass(frozen=True)
class VectorSetMapper:
    """``[B, N, D]`` in and out; the dependency is all-to-all unless one is given."""

    num_variables: int
    dim: int

    def layout(self, num_classes: int = 0, **structure: tuple[int, ...]) -> VariableLayout:
        return VariableLayout(
            self.num_variables, self.dim, structure=structure, num_classes=num_classes
        )

    def to_variables(self, x: Tensor) -> Tensor:
        expected = (self.num_variables, self.dim)
        if x.dim() != 3 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"expected variables of shape [B, {expected[0]}, {expected[1]}], "
                f"got {list(x.shape)}"
            )
        return x

    def dependency(self) -> Tensor:
        n = self.num_variables
        return torch.ones(n, n) - torch.eye(n)
