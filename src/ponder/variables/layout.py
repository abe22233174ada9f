"""What a denoiser needs to know about the variables it sees.

A sample is a set of N variables of D features each: ``x: [B, N, D]``. The layout says how the
variables are arranged so that a network can use the structure (a grid of image patches, Sudoku
rows / columns / boxes) without knowing which task produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VariableLayout:
    num_variables: int
    dim: int
    # Variables laid out row-major on a (rows, cols) grid, e.g. image patches or Sudoku cells.
    grid: tuple[int, int] | None = None
    # Each variable is a flattened (channels, p, p) pixel patch, channel-major: D = C * p * p.
    patch: tuple[int, int, int] | None = None
    # Per-variable group ids that a transformer may embed, e.g. {"row": (0, 0, ...), "box": ...}.
    structure: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Number of class labels for label-conditioned tasks (0 = unconditional).
    num_classes: int = 0
    # Graph tasks (rows over the n = dim nodes) and square-matrix tasks (low-rank completion):
    # the group of each variable, in contiguous runs; a group of n rows is an n x n matrix, a
    # one-row group a vector over the nodes. Read by the size-agnostic graph denoiser; other
    # denoisers ignore it.
    graph: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.num_variables < 1 or self.dim < 1:
            raise ValueError(
                f"a layout needs num_variables >= 1 and dim >= 1, got {self.num_variables}, "
                f"{self.dim}"
            )
        if self.grid is not None and self.grid[0] * self.grid[1] != self.num_variables:
            raise ValueError(f"grid {self.grid} does not hold {self.num_variables} variables")
        if self.patch is not None:
            c, ph, pw = self.patch
            if c * ph * pw != self.dim:
                raise ValueError(
                    f"patch {self.patch} has {c * ph * pw} features, dim is {self.dim}"
                )
        if self.graph is not None and len(self.graph) != self.num_variables:
            raise ValueError(
                f"graph has {len(self.graph)} group ids for {self.num_variables} variables"
            )
        for name, ids in self.structure.items():
            if len(ids) != self.num_variables:
                raise ValueError(
                    f"structure {name!r} has {len(ids)} ids for {self.num_variables} variables"
                )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the image the patches tile; only for patch layouts."""
        if self.grid is None or self.patch is None:
            raise ValueError("this layout is not a grid of image patches")
        c, ph, pw = self.patch
        return c, self.grid[0] * ph, self.grid[1] * pw
