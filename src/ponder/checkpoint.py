"""Weights on disk: safetensors plus a JSON sidecar with a SHA-256 checksum.

Writing is atomic (temporary file in the same folder, fsync, rename), weights first and sidecar
second, so a kill or a full disk mid-write leaves the previous files intact and a half-written
pair is detected by its checksum. Loading never unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

SIDECAR = ".json"


class CheckpointError(RuntimeError):
    """A missing, truncated or corrupted checkpoint (the message names the file)."""


def atomic_write(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file ordinary permissions
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(SIDECAR)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Write ``tensors`` to ``path`` and ``meta`` + checksum to its ``.json`` sidecar."""
    data = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()})
    atomic_write(Path(path), data)
    record = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), **meta}
    atomic_write(sidecar_path(path), json.dumps(record, indent=1).encode())


def read_meta(path: Path) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        raise CheckpointError(f"checkpoint metadata {side} is missing")
    try:
        return json.loads(side.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint metadata {side} is not valid JSON: {err}") from err


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Verified read: the file exists, its size and SHA-256 match the sidecar, it parses."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    meta = read_meta(path)
    data = path.read_bytes()
    if len(data) != meta.get("bytes") or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise CheckpointError(
            f"checkpoint {path} is corrupted or truncated: its checksum does not match "
            f"{sidecar_path(path).name} ({len(data)} bytes, expected {meta.get('bytes')})"
        )
    try:
        return load_file(path), meta
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"checkpoint {path} cannot be read: {err}") from err


def prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in state.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    cut = len(prefix) + 1
    return {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer ``state_dict`` -> (tensors, JSON-able rest) without pickling."""
    tensors, scalars = {}, {}
    for index, slots in state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{name}"] = value
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], rest: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in rest["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": rest["param_groups"]}
