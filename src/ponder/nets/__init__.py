"""Denoisers: ``(x [B, N, D], t [B, N], label [B] | None) -> DenoiserOutput``.

One plain dict maps a name to (network class, config class); nothing registers on import.
"""

from __future__ import annotations

from ponder.nets.graph import GraphConfig, GraphDenoiser
from ponder.nets.mlp import MLPConfig, MLPDenoiser
from ponder.nets.output import DenoiserOutput
from ponder.nets.transformer import TransformerConfig, TransformerDenoiser
from ponder.nets.unet import UNetConfig, UNetDenoiser

DENOISERS: dict[str, tuple[type, type]] = {
    "transformer": (TransformerDenoiser, TransformerConfig),
    "unet": (UNetDenoiser, UNetConfig),
    "mlp": (MLPDenoiser, MLPConfig),
    "graph": (GraphDenoiser, GraphConfig),
}

__all__ = ["DENOISERS", "DenoiserOutput"]
