"""An MLP denoiser over all variables at once (small vector sets, matrices).

Input: the flattened variables and the per-variable time features, concatenated; output: the
flattened prediction and, optionally, one log-variance per variable.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ponder.nets.embeddings import LabelEmbedding, sinusoidal_features
from ponder.nets.output import DenoiserOutput
from ponder.variables.layout import VariableLayout


@dataclass
class MLPConfig:
    width: int = 512
    depth: int = 4
    time_features: int = 16  # sinusoidal features per variable


class MLPDenoiser(nn.Module):
    def __init__(self, layout: VariableLayout, config: MLPConfig, uncertainty: bool = False):
        super().__init__()
        self.layout, self.config = layout, config
        n, d, w = layout.num_variables, layout.dim, config.width
        layers: list[nn.Module] = [nn.Linear(n * d + n * config.time_features, w), nn.SiLU()]
        for _ in range(config.depth - 1):
            layers += [nn.Linear(w, w), nn.SiLU()]
        self.body = nn.Sequential(*layers)
        self.label = LabelEmbedding(layout.num_classes, w) if layout.num_classes else None
        self.out = nn.Linear(w, n * d)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.logvar_head = nn.Linear(w, n) if uncertainty else None

    def forward(self, x: Tensor, t: Tensor, label: Tensor | None = None) -> DenoiserOutput:
        b, n, d = x.shape
        time = sinusoidal_features(t, self.config.time_features).to(x.dtype)  # [B, N, F]
        h = self.body[0](torch.cat([x.reshape(b, n * d), time.reshape(b, -1)], dim=-1))
        if self.label is not None and label is not None:
            h = h + self.label(label)
        h = self.body[1:](h)
        logvar = self.logvar_head(h) if self.logvar_head is not None else None  # [B, N]
        return DenoiserOutput(self.out(h).view(b, n, d), logvar)
