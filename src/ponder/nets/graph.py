"""A size-agnostic graph denoiser: features on node pairs, mixed by per-channel matrix products.

The graph tasks lay a graph of n nodes out as rows of n entries: an n-row group is an n x n
matrix (adjacency, reachability), a single row is a vector over the nodes (start, goal, one
plan step). The layout's ``graph`` field names the group of each variable, in order, so
the network knows the *kind* of each group; n itself is read from the input at every call
(``D = n``), and no weight depends on it: a model trained on 12-node graphs reads 18-node ones.

Every pair (i, j) carries a feature vector ``P [B, n, n, C]``, built from the matrices' (i, j)
and (j, i) entries, the vectors' i-th and j-th entries, a diagonal flag and each group's noise
level. A block multiplies two projections of P as matrices, channel by channel (``sum_k
A_ik B_kj``: one hop of path composition, so L blocks can cover paths of 2^L hops), and mixes
the result into P with an MLP (the 2-WL-strength design of Maron et al., "Provably powerful
graph networks", 2019). Matrix groups are read off P at (i, j); vector groups off pooled node
features (the diagonal and the row mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ponder.nets.embeddings import sinusoidal_features
from ponder.nets.output import DenoiserOutput
from ponder.variables.layout import VariableLayout


@dataclass
class GraphConfig:
    width: int = 64  # features per node pair
    depth: int = 6  # path-composition blocks
    time_features: int = 8  # sinusoidal features of each group's noise level


def graph_groups(layout: VariableLayout) -> tuple[tuple[int, ...], int, int]:
    """The group order of ``layout.graph`` and how many groups are matrices / vectors.

    Returns (kinds, m, k): kinds[g] = 1 for an n-row matrix group, 0 for a one-row vector.
    ValueError naming the layout where it has no ``graph`` groups or a group of another size.
    """
    ids = layout.graph
    if ids is None:
        raise ValueError(
            "the graph denoiser needs a task whose layout names its graph groups "
            "(layout.graph: connectivity, shortest_path, low_rank_completion)"
        )
    order = list(dict.fromkeys(ids))
    if ids != tuple(g for g in order for _ in range(ids.count(g))):
        raise ValueError(f"graph groups must be contiguous runs of variables, got {ids}")
    n = layout.dim
    if n < 2:
        raise ValueError(f"graph variables are rows over n >= 2 nodes, got dim {n}")
    kinds = []
    for g in order:
        rows = ids.count(g)
        if rows not in (1, n):
            raise ValueError(
                f"graph group {g} has {rows} rows; a group is one n x n matrix ({n} rows) or one "
                f"vector over the nodes (1 row)"
            )
        kinds.append(int(rows == n))
    return tuple(kinds), sum(kinds), len(kinds) - sum(kinds)


class PathBlock(nn.Module):
    """``P <- P + MLP([LN(P), LN(A(P) @ B(P))])`` with the product taken per channel."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.left, self.right = nn.Linear(width, width), nn.Linear(width, width)
        self.product_norm = nn.LayerNorm(width)
        self.mix = nn.Sequential(
            nn.Linear(2 * width, 2 * width), nn.SiLU(), nn.Linear(2 * width, width)
        )

    def forward(self, p: Tensor) -> Tensor:
        h = self.norm(p)  # [B, n, n, C]
        left = self.left(h).permute(0, 3, 1, 2)  # [B, C, n, n]
        right = self.right(h).permute(0, 3, 1, 2)
        product = (left @ right).permute(0, 2, 3, 1)  # [B, n, n, C]: sum_k l_ik r_kj
        return p + self.mix(torch.cat([h, self.product_norm(product)], dim=-1))


class GraphDenoiser(nn.Module):
    size_agnostic = True  # reads graphs of any node count (see ponder.api's shape check)

    def __init__(self, layout: VariableLayout, config: GraphConfig, uncertainty: bool = False):
        super().__init__()
        if layout.num_classes:
            raise ValueError("the graph denoiser takes no class labels")
        self.kinds, self.m, self.k = graph_groups(layout)
        self.config = config
        w, f = config.width, config.time_features
        groups = self.m + self.k
        self.inp = nn.Linear(2 * self.m + 2 * self.k + 1 + groups * f, w)
        self.blocks = nn.ModuleList(PathBlock(w) for _ in range(config.depth))
        self.norm = nn.LayerNorm(w)
        self.pool = nn.Linear(2 * w, w)  # [diagonal, row mean] -> node features
        self.out = nn.Linear(w, groups)  # pairs -> matrix groups, nodes -> vector groups
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.logvar_head = nn.Linear(w, groups) if uncertainty else None

    def rows(self, n: int) -> list[int]:
        return [n if kind else 1 for kind in self.kinds]

    def forward(self, x: Tensor, t: Tensor, label: Tensor | None = None) -> DenoiserOutput:
        b, rows, n = x.shape
        sizes = self.rows(n)
        if rows != sum(sizes):
            raise ValueError(
                f"graph denoiser: {n}-node graphs of this task have {sum(sizes)} rows of {n}, "
                f"got {list(x.shape)}"
            )
        eye = torch.eye(n, dtype=x.dtype, device=x.device).expand(b, n, n)
        features, times = [eye[..., None]], []
        for kind, part, part_t in zip(
            self.kinds, x.split(sizes, dim=1), t.split(sizes, dim=1), strict=True
        ):
            if kind:  # [B, n, n] matrix; its row i's noise level at (i, j)
                features += [part[..., None], part.mT[..., None]]
                times.append(part_t[:, :, None].expand(b, n, n))
            else:  # [B, 1, n] vector over nodes, read at i and at j
                features += [part.mT.expand(b, n, n)[..., None], part.expand(b, n, n)[..., None]]
                times.append(part_t.expand(b, n)[:, :, None].expand(b, n, n))
        time = sinusoidal_features(torch.stack(times, -1), self.config.time_features)
        p = torch.cat([*features, time.to(x.dtype).flatten(-2)], dim=-1)  # [B, n, n, F]
        p = self.inp(p)
        for block in self.blocks:
            p = block(p)
        p = self.norm(p)
        nodes = self.pool(torch.cat([p.diagonal(dim1=1, dim2=2).mT, p.mean(2)], dim=-1))
        mean = self._read(self.out, p, nodes)
        logvar = None
        if self.logvar_head is not None:  # one value per row: pooled over its entries
            logvar = self._read(self.logvar_head, p, nodes).mean(-1)
        return DenoiserOutput(mean, logvar)

    def _read(self, head: nn.Linear, pairs: Tensor, nodes: Tensor) -> Tensor:
        """Head outputs per group, back in row layout: ``-> [B, rows, n]``."""
        on_pairs, on_nodes = head(pairs), head(nodes)  # [B, n, n, G], [B, n, G]
        parts = [
            on_pairs[..., g] if kind else on_nodes[:, None, :, g]
            for g, kind in enumerate(self.kinds)
        ]
        return torch.cat(parts, dim=1)
