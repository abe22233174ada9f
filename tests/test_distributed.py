"""Data-parallel training through Lightning's DDP on 2 CPU processes (gloo)."""

import json
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


def test_evaluation_sharded_over_two_processes_matches_one_process(tmp_path):
    """torchrun-style launch of `ponder evaluate`: each rank samples every other chunk with the
    chunk's own seed; the gathered metrics equal the single-process ones."""
    run = tmp_path / "run"
    trained = ponder_cli("train", "even_pixels", *TINY, "train.steps=2", "--out", str(run))
    assert trained.returncode == 0, trained.stderr
    args = [
        "evaluate",
        str(run),
        "--num-samples",
        "12",
        "--json",
        "steps=3",
        "sample.batch_size=4",
        "--device",
        "cpu",
    ]
    single = ponder_cli(*args)
    assert single.returncode == 0, single.stderr
    env = {
        **os.environ,
        "WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29531",
        "OMP_NUM_THREADS": "1",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ponder.cli", *args],
            env={**env, "RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    assert outs[1][0].strip() == ""  # only rank 0 reports
    first, sharded = json.loads(single.stdout), json.loads(outs[0][0])
    for key in ("is_color_count_even", "color_count_error", "saturation_std"):
        assert sharded[key] == first[key]
