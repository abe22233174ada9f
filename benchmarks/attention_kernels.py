"""Attention kernels on this machine: the fused SDPA kernel against explicit scores + softmax.

    python benchmarks/attention_kernels.py [--threads 2] [--repeats 5]

For each shape (the Sudoku preset's, the DiT-S/2 comparison's, Even Pixels') and dtype, the
milliseconds of forward + backward and of forward alone, for ``F.scaled_dot_product_attention``
and for ``ponder.nets.attention``'s explicit path (scores, softmax, weighted sum). Prints a
Markdown table; the ratio column is what ``ponder.nets.attention.attention`` decides on (it
takes the explicit path for bf16 on the CPU).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from ponder.hardware import describe_cpu
from ponder.nets.attention import explicit_attention

SHAPES = {  # name: (batch, heads, tokens, head dim)
    "sudoku preset": (128, 4, 81, 32),
    "DiT-S/2 (256 tokens)": (32, 6, 256, 64),
    "even pixels": (64, 4, 64, 32),
}

KERNELS = {"fused": F.scaled_dot_product_attention, "explicit": explicit_attention}


def millis(kernel, qkv: list[torch.Tensor], backward: bool, repeats: int) -> float:
    def once():
        with torch.set_grad_enabled(backward):
            out = kernel(*qkv)
            if backward:
                out.sum().backward()

    once()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        once()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {describe_cpu()}, torch {torch.__version__}\n")
    print(
        "| shape | dtype | fused fwd+bwd ms | explicit fwd+bwd ms | fused / explicit "
        "| fused fwd ms | explicit fwd ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, shape in SHAPES.items():
        for dtype in (torch.float32, torch.bfloat16):
            qkv = [torch.randn(shape, dtype=dtype, requires_grad=True) for _ in range(3)]
            row = {}
            for kernel_name, kernel in KERNELS.items():
                row[kernel_name] = millis(kernel, qkv, True, args.repeats)
                row[kernel_name + "_fwd"] = millis(kernel, qkv, False, args.repeats)
            print(
                f"| {name} {tuple(shape)} | {str(dtype).removeprefix('torch.')} | "
                f"{row['fused']:.1f} | {row['explicit']:.1f} | "
                f"{row['fused'] / row['explicit']:.2f} | {row['fused_fwd']:.1f} | "
                f"{row['explicit_fwd']:.1f} |"
            )


if __name__ == "__main__":
    main()
