"""Sampling and evaluation sharded across processes (``torchrun ... ponder evaluate``).

Each rank samples every ``world``-th chunk of the test conditions with the chunk's own seed, so
the gathered result is the one a single process computes. Results are gathered by one
all-reduce of a zero-filled tensor (each rank fills its chunks), with no pickling. Only
``torch.distributed`` is used: Lightning is not imported for evaluation.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of an initialised process group, else (0, 1)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_environment() -> tuple[int, int]:
    """Join the process group a launcher (torchrun, srun with the env set) describes through
    WORLD_SIZE / RANK / MASTER_ADDR; gloo on CPU, nccl on CUDA. A no-op for one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dist = torch.distributed
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return rank_and_world()


def leave_process_group() -> None:
    """Leave an initialised process group cleanly: a barrier, then destroy it. A rank that
    simply exits while gloo's threads still hold the group can abort at interpreter exit
    ("terminate called without an active exception"), failing an otherwise finished run."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def gather_chunks(outs: dict[int, Tensor], shape: torch.Size, world: int) -> Tensor:
    """Chunks ``{start: [b, ...]}`` held by this rank -> the full ``shape`` tensor on every
    rank (the ranks' chunks do not overlap, so a sum of zero-filled copies assembles them)."""
    if world == 1:
        return torch.cat([outs[i] for i in sorted(outs)])
    nccl = torch.distributed.get_backend() == "nccl"  # reduces CUDA tensors only
    full = torch.zeros(shape, device="cuda" if nccl else "cpu")
    for i, chunk in outs.items():
        full[i : i + chunk.shape[0]] = chunk.float()
    torch.distributed.all_reduce(full)
    return full.cpu()
