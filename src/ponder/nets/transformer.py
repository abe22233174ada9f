"""A transformer over variable tokens with per-token adaLN time conditioning.

Each variable becomes ``tokens_per_variable`` tokens (sub-patches for image patches, equal
feature chunks otherwise). Every token is conditioned on *its own variable's* noise level through
adaLN-Zero (shift, scale, gate from the time embedding), so one network handles any mix of
clean, partly noisy and pure-noise variables. Positions are learned per token; optional structure
embeddings (e.g. Sudoku row / column / box) are added per variable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ponder.nets.attention import attention
from ponder.nets.embeddings import LabelEmbedding, TimeEmbedding
from ponder.nets.output import DenoiserOutput
from ponder.variables.layout import VariableLayout


@dataclass
class TransformerConfig:
    width: int = 256
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    tokens_per_variable: int = 1
    # The MLP's GELU: "exact" (erf) or "tanh" (the approximation); they differ by 4.7e-4 at most;
    # in bf16 on the CPU the exact one's forward + backward ran 3x faster (7.7 against 23 ms at
    # 8192 x 1536, AMX Xeon), in fp32 15% slower; docs/RESULTS.md. Runs saved before this key
    # existed were trained with "tanh" and keep it (RunDir.read_config).
    gelu: str = "exact"

    def __post_init__(self) -> None:
        if self.gelu not in GELU_APPROXIMATION:
            raise ValueError(f"gelu must be one of {list(GELU_APPROXIMATION)}, got {self.gelu!r}")


GELU_APPROXIMATION = {"exact": "none", "tanh": "tanh"}  # config name -> nn.GELU's approximate


def _modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale) + shift


class Block(nn.Module):
    """Pre-norm attention + MLP, each modulated by adaLN-Zero from its variable's noise level.

    The adaLN projection (width -> 6 width, as costly as the MLP's two layers) runs once per
    *variable* and broadcasts over the variable's k tokens: its k token copies would be equal.
    At the DiT-S/2-like size (k = 16) that is a third of the forward FLOPs not spent.
    """

    def __init__(self, width: int, heads: int, mlp_ratio: float, gelu: str = "exact") -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(width, hidden),
            nn.GELU(approximate=GELU_APPROXIMATION[gelu]),
            nn.Linear(hidden, width),
        )
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))
        nn.init.zeros_(self.ada[1].weight)
        nn.init.zeros_(self.ada[1].bias)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        # x: [B, N, k, W], a variable's k tokens side by side; cond: [B, N, W], one per variable
        b, n, k, w = x.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(cond).unsqueeze(2).chunk(6, -1)
        h = _modulate(self.norm1(x), shift1, scale1)  # [B, N, 1, W] broadcast over the k tokens
        qkv = self.qkv(h).view(b, n * k, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        attn = attention(qkv[0], qkv[1], qkv[2])  # [B, H, N*k, W/H]: every token sees all
        x = x + gate1 * self.proj(attn.transpose(1, 2).reshape(b, n, k, w))
        return x + gate2 * self.mlp(_modulate(self.norm2(x), shift2, scale2))


class TransformerDenoiser(nn.Module):
    """``(x [B, N, D], t [B, N], label [B] | None) -> DenoiserOutput``."""

    def __init__(
        self, layout: VariableLayout, config: TransformerConfig, uncertainty: bool = False
    ) -> None:
        super().__init__()
        if config.width % config.heads:
            raise ValueError(f"width {config.width} is not divisible by heads {config.heads}")
        self.layout, self.config = layout, config
        k = config.tokens_per_variable
        self.split = _TokenSplit(layout, k)
        w = config.width
        self.embed = nn.Linear(self.split.token_dim, w)
        self.position = nn.Parameter(torch.randn(layout.num_variables * k, w) * 0.02)
        self.structure = nn.ModuleDict(
            {name: nn.Embedding(max(ids) + 1, w) for name, ids in layout.structure.items()}
        )
        for name, ids in layout.structure.items():
            self.register_buffer(f"ids_{name}", torch.tensor(ids), persistent=False)
        self.time = TimeEmbedding(w)
        self.label = LabelEmbedding(layout.num_classes, w) if layout.num_classes else None
        self.blocks = nn.ModuleList(
            Block(w, config.heads, config.mlp_ratio, config.gelu) for _ in range(config.depth)
        )
        self.norm_out = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Sequential(nn.SiLU(), nn.Linear(w, 2 * w))
        self.out = nn.Linear(w, self.split.token_dim)
        for layer in (self.ada_out[1], self.out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.logvar_head = nn.Linear(w, 1) if uncertainty else None
        if self.logvar_head is not None:
            nn.init.zeros_(self.logvar_head.weight)
            nn.init.zeros_(self.logvar_head.bias)

    def forward(self, x: Tensor, t: Tensor, label: Tensor | None = None) -> DenoiserOutput:
        b, n, _ = x.shape
        k = self.config.tokens_per_variable
        tokens = self.embed(self.split.to_tokens(x))  # [B, N, D] -> [B, N*k, W]
        per_variable = self.time(t)  # [B, N] -> [B, N, W]
        if self.label is not None:
            if label is None:
                label = torch.full((b,), -1, dtype=torch.long, device=x.device)
            per_variable = per_variable + self.label(label)[:, None, :]
        for name, table in self.structure.items():
            tokens = tokens + table(getattr(self, f"ids_{name}")).repeat_interleave(k, 0)
        tokens = (tokens + self.position).unflatten(1, (n, k))  # [B, N*k, W] -> [B, N, k, W]
        for block in self.blocks:
            tokens = block(tokens, per_variable)
        shift, scale = self.ada_out(per_variable).unsqueeze(2).chunk(2, dim=-1)  # [B, N, 1, W]
        h = _modulate(self.norm_out(tokens), shift, scale).flatten(1, 2)  # [B, N*k, W]
        mean = self.split.from_tokens(self.out(h), n)  # [B, N*k, d] -> [B, N, D]
        logvar = None
        if self.logvar_head is not None:
            logvar = self.logvar_head(h).view(b, n, k).mean(-1)  # [B, N]
        return DenoiserOutput(mean, logvar)


class _TokenSplit:
    """Splits each variable's D features into k tokens and back.

    Image patches (C, p, p) are cut into k = s*s square sub-patches; other variables into k
    equal chunks of their feature vector.
    """

    def __init__(self, layout: VariableLayout, k: int) -> None:
        self.k, self.patch = k, None
        if k == 1:
            self.token_dim = layout.dim
            return
        if layout.patch is not None:
            c, p, _ = layout.patch
            s = math.isqrt(k)
            if s * s != k or p % s:
                raise ValueError(
                    f"tokens_per_variable={k} must be a square s*s with s dividing the patch "
                    f"size {p}"
                )
            self.patch, self.s = layout.patch, s
            self.token_dim = c * (p // s) ** 2
        elif layout.dim % k:
            raise ValueError(
                f"tokens_per_variable={k} does not divide the variable dim {layout.dim}"
            )
        else:
            self.token_dim = layout.dim // k

    def to_tokens(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        if self.patch is None:
            return x.reshape(b, n * self.k, self.token_dim)
        c, p, _ = self.patch
        s, q = self.s, p // self.s
        x = x.view(b, n, c, s, q, s, q).permute(0, 1, 3, 5, 2, 4, 6)  # [B, N, s, s, C, q, q]
        return x.reshape(b, n * self.k, self.token_dim)

    def from_tokens(self, tokens: Tensor, n: int) -> Tensor:
        b = tokens.shape[0]
        if self.patch is None:
            return tokens.reshape(b, n, -1)
        c, p, _ = self.patch
        s, q = self.s, p // self.s
        x = tokens.view(b, n, s, s, c, q, q).permute(0, 1, 4, 2, 5, 3, 6)  # [B, N, C, s, q, s, q]
        return x.reshape(b, n, c * p * p)
