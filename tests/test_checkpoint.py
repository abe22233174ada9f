import json
import re

import pytest
import torch

from ponder.checkpoint import (
    CheckpointError,
    flatten_optimizer,
    load_tensors,
    save_tensors,
    unflatten_optimizer,
)


def test_round_trip_with_checksum(tmp_path):
    path = tmp_path / "w.safetensors"
    save_tensors(path, {"a": torch.arange(6.0).view(2, 3)}, {"step": 3})
    tensors, meta = load_tensors(path)
    assert torch.equal(tensors["a"], torch.arange(6.0).view(2, 3)) and meta["step"] == 3


def test_truncated_and_corrupted_files_are_detected(tmp_path):
    path = tmp_path / "w.safetensors"
    save_tensors(path, {"a": torch.randn(100)}, {})
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_tensors(path)
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match=re.escape(path.name)):
        load_tensors(path)


def test_missing_files_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothere\.safetensors does not exist"):
        load_tensors(tmp_path / "nothere.safetensors")
    path = tmp_path / "w.safetensors"
    save_tensors(path, {"a": torch.zeros(1)}, {})
    (tmp_path / "w.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_tensors(path)


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save_tensors(path, {"a": torch.ones(3)}, {"step": 1})

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_tensors(path, {"a": torch.zeros(3)}, {"step": 2})
    monkeypatch.undo()
    tensors, meta = load_tensors(path)
    assert torch.equal(tensors["a"], torch.ones(3)) and meta["step"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_optimizer_state_round_trips_without_pickle():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    tensors, rest = flatten_optimizer(opt.state_dict())
    json.dumps(rest)  # the non-tensor part is plain JSON
    opt2 = torch.optim.AdamW(model.parameters(), lr=0.1)
    opt2.load_state_dict(unflatten_optimizer(tensors, rest))
    for k, v in opt.state_dict()["state"][0].items():
        assert torch.equal(v, opt2.state_dict()["state"][0][k])
