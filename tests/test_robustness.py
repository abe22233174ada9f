"""A training process killed with SIGKILL and resumed ends with the same weights."""

import os
import signal
import subprocess
import sys
import time

import torch

from ponder.checkpoint import load_tensors
from ponder.rundir import RunDir
from tiny import TINY_EVEN_PIXELS

TINY = [
    *TINY_EVEN_PIXELS,
    "train.batch_size=16",
    "train.steps=60",
    "train.log_every=1",
    "train.checkpoint_every=5",
    "train.threads=1",
    "train.deterministic=true",
]


def ponder_cli(*args: str, wait: bool = True):
    cmd = [sys.executable, "-m", "ponder.cli", *args]
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path):
    whole = ponder_cli("train", "even_pixels", *TINY, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]

    cut = RunDir(tmp_path / "cut")
    proc = ponder_cli("train", "even_pixels", *TINY, "--out", str(cut.path), wait=False)
    kill_after = 13 + int(torch.randint(0, 20, (1,)))  # a random step past a checkpoint
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        rows = cut.read_log() if cut.log_path.is_file() else []
        if rows and rows[-1]["step"] >= kill_after:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not cut.model_path.exists() and 0 < max(cut.checkpoint_steps()) < 60

    resumed = ponder_cli("train", "--resume", "--out", str(cut.path))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, _ = load_tensors(RunDir(tmp_path / "whole").model_path)
    b, _ = load_tensors(cut.model_path)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    log_a, log_b = RunDir(tmp_path / "whole").read_log(), cut.read_log()
    assert [r["step"] for r in log_b] == list(range(60))
    assert max(abs(x["loss"] - y["loss"]) for x, y in zip(log_a, log_b, strict=True)) < 1e-6
