"""What the machine computes fast: ``precision: auto`` resolves to bf16 only where bf16
matmuls run natively.

Measured (docs/RESULTS.md): on an AMD EPYC with AVX-512 BF16 a 2-thread bf16 matmul ran 4.7x
faster than fp32, so bf16 autocast pays; on an Intel Xeon without it (AVX-512 but no
``avx512_bf16`` / ``amx_bf16``) bf16 is emulated: its matmul ran 5x *slower* than fp32, and
the Sudoku preset's training step took 2.8-3.3 s in bf16-mixed against 0.85 s in fp32; on an
AMD EPYC with AVX2 only, a bf16 matmul ran about 300x slower than fp32 (0.3 against 92
GFLOP/s). Asking for bf16 explicitly on such a CPU is kept, with a warning.
"""

from __future__ import annotations

import functools
import platform
import warnings
from pathlib import Path

import torch

# CPU feature flags (Linux /proc/cpuinfo) that mean hardware bf16 matmuls.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 (two), aarch64 ("bf16")


@functools.cache
def cpuinfo() -> dict[str, str]:
    """The first value of each /proc/cpuinfo field; empty where it is unavailable (not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (x86 ``flags``, aarch64 ``Features``)."""
    info = cpuinfo()
    return frozenset((info.get("flags") or info.get("Features") or "").split())


def native_bf16(device: str | torch.device = "cpu") -> bool:
    """True where bf16 matmuls are computed in hardware on ``device`` (cpu or cuda)."""
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if kind == "mps":
        return True
    return bool(BF16_CPU_FLAGS & cpu_flags())


def describe_cpu() -> str:
    """One line naming the CPU, for benchmark tables."""
    name = cpuinfo().get("model name") or platform.processor() or platform.machine()
    bf16 = "native bf16" if native_bf16("cpu") else "no native bf16"
    return f"{name}, {torch.get_num_threads()} threads, {bf16}"


def warn_emulated_bf16(what: str, device: str | torch.device) -> None:
    """A warning where bf16 was asked for explicitly on a CPU that emulates it.

    Measured: a 2-thread bf16 matmul ran 5x slower than fp32 on an Intel Xeon with AVX-512
    but no bf16 flag, and about 300x slower on an AMD EPYC with AVX2 only (docs/RESULTS.md).
    """
    if torch.device(device).type == "cpu" and not native_bf16("cpu"):
        warnings.warn(
            f"{what} on a CPU without native bf16 (none of {sorted(BF16_CPU_FLAGS)} in its "
            f"flags): bf16 matmuls are emulated here and run 5-300x slower than fp32; "
            f"'auto' picks fp32 on this machine",
            stacklevel=3,
        )


def train_precision(precision: str, device: str) -> str:
    """A Lightning precision: ``auto`` becomes ``bf16-mixed`` where bf16 is native on
    ``device``, else ``32``; anything else is returned unchanged (with a warning for bf16 on
    a CPU that emulates it)."""
    if precision != "auto":
        if precision.startswith("bf16"):
            warn_emulated_bf16(f"train.precision={precision!r}", device)
        return precision
    return "bf16-mixed" if native_bf16(device) else "32"


def sample_bf16(precision: str, device: str | torch.device) -> bool:
    """Whether sampling autocasts to bf16: ``bf16`` yes, ``32`` no, ``auto`` where native."""
    if precision not in ("32", "bf16", "auto"):
        raise ValueError(f"sample.precision must be '32', 'bf16' or 'auto', got {precision!r}")
    if precision == "bf16":
        warn_emulated_bf16("sample.precision='bf16'", device)
    return precision == "bf16" or (precision == "auto" and native_bf16(device))
