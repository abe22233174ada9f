"""Multi-head attention that picks the faster kernel for where it runs.

``scaled_dot_product_attention`` (the fused kernel) is used everywhere except bf16 on the CPU
when autograd records the call, where its flash backward is several times slower than three
plain ops: on the AMD EPYC with
native bf16 (2 threads), forward + backward at the Sudoku presets' shape (128 x 4 heads x 81
tokens x 32) took 93 ms fused against 19 ms explicit, and the MNIST Sudoku preset network's
whole bf16 training step went from 1.19 s to 0.83 s (``benchmarks/attention_kernels.py``;
docs/RESULTS.md, "Attention on the CPU in bf16"). fp32 on the CPU and every GPU keep the fused
kernel, which wins there (0.81x the explicit path's time in fp32 at that shape, 0.52x at 256
tokens). Forward-only bf16 calls (sampling without an energy descent) keep it too: the fused
forward was within 0.1 ms of the explicit one or faster at every shape measured, and on the
Intel Xeon with AMX the
DiT-S/2-like network sampled 9.4 images/s with it against 7.5 with the explicit path."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Softmax attention over the last two dims: ``q, k, v [B, H, T, Dh] -> [B, H, T, Dh]``."""
    recorded = torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)
    if q.device.type != "cpu" or q.dtype != torch.bfloat16 or not recorded:
        return F.scaled_dot_product_attention(q, k, v)
    return explicit_attention(q, k, v)


def explicit_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Scores, softmax, weighted sum: plain ops autograd differentiates (twice, too).

    In bf16 the softmax kernel accumulates in fp32 and rounds once (its output differed from
    the fp32 softmax rounded to bf16 in about 7 entries in a million, by one ulp), so no
    upcast is needed.
    """
    scores = (q * (1.0 / math.sqrt(q.shape[-1]))) @ k.transpose(-2, -1)  # [B, H, T, T]
    return scores.softmax(dim=-1) @ v
