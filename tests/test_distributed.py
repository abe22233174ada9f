"""Data-parallel training through Lightning's DDP on 2 CPU processes (gloo)."""

import os
import subprocess
import sys

from ponder.rundir import RunDir
from tiny import TINY_EVEN_PIXELS

TINY = [
    *TINY_EVEN_PIXELS,
    "train.batch_size=16",
    "train.steps=8",
    "train.log_every=1",
    "train.checkpoint_every=4",
    "train.threads=1",
]


def ponder_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ponder.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_two_processes_match_one_process_for_the_same_global_batch(tmp_path):
    ddp = ponder_cli(
        "train",
        "even_pixels",
        *TINY,
        "train.strategy=ddp",
        "train.devices=2",
        "train.accelerator=cpu",
        "--out",
        str(tmp_path / "ddp"),
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = ponder_cli("train", "even_pixels", *TINY, "--out", str(tmp_path / "one"))
    assert single.returncode == 0, single.stderr[-3000:]
    a, b = RunDir(tmp_path / "ddp").read_log(), RunDir(tmp_path / "one").read_log()
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(8))
    for ra, rb in zip(a, b, strict=True):
        assert abs(ra["loss"] - rb["loss"]) < 1e-4, (ra, rb)
    # checkpoints and logs written once, by rank 0
    assert RunDir(tmp_path / "ddp").checkpoint_steps() == [4, 8]
    assert [p.name for p in (tmp_path / "ddp" / "logs" / "csv").iterdir()] == ["version_0"]
