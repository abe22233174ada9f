"""The files of a run folder (no Lightning here; sampling and evaluation read these).

RUN/config.yaml                      resolved configuration
RUN/checkpoints/step_0000500.*       resumable training state (+ .json sidecar, checksum)
RUN/model.safetensors                final EMA weights for sampling (+ .json sidecar)
RUN/train_log.csv                    step, loss, mean, nll, contrastive, lr, grad_norm
RUN/logs/                            Lightning CSV and TensorBoard logs
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from ponder.checkpoint import CheckpointError, atomic_write, load_tensors, sidecar_path
from ponder.config import RunConfig, run_config_from_dict, to_dict

LOG_FIELDS = ("step", "loss", "mean", "nll", "contrastive", "lr", "grad_norm")


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def model_path(self) -> Path:
        return self.path / "model.safetensors"

    @property
    def log_path(self) -> Path:
        return self.path / "train_log.csv"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def write_config(self, cfg: RunConfig) -> None:
        text = yaml.safe_dump(to_dict(cfg), sort_keys=False)
        atomic_write(self.config_path, text.encode())

    def read_config(self) -> RunConfig:
        if not self.config_path.is_file():
            raise FileNotFoundError(
                f"{self.path} is not a ponder run: {self.config_path} does not exist"
            )
        data = yaml.safe_load(self.config_path.read_text())
        transformer = (data.get("model") or {}).get("transformer")
        if isinstance(transformer, dict):  # saved before the key existed: trained with tanh
            transformer.setdefault("gelu", "tanh")
        return run_config_from_dict(data)

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:07d}.safetensors"

    def checkpoint_steps(self) -> list[int]:
        if not self.checkpoints.is_dir():
            return []
        steps = []
        for p in self.checkpoints.glob("step_*.safetensors"):
            if sidecar_path(p).is_file():
                steps.append(int(p.stem.split("_")[1]))
        return sorted(steps)

    def latest_checkpoint(self) -> tuple[dict, dict]:
        """The newest checkpoint that passes its checksum; older ones are tried in turn
        (naming the ones skipped) so one corrupted file does not lose a run."""
        problems = []
        for step in reversed(self.checkpoint_steps()):
            try:
                return load_tensors(self.checkpoint_path(step))
            except CheckpointError as err:
                problems.append(str(err))
        detail = "; ".join(problems) or f"no checkpoints in {self.checkpoints}"
        raise CheckpointError(f"cannot resume {self.path}: {detail}")

    def prune_checkpoints(self, keep: int) -> None:
        for step in self.checkpoint_steps()[:-keep] if keep > 0 else []:
            path = self.checkpoint_path(step)
            path.unlink(missing_ok=True)
            sidecar_path(path).unlink(missing_ok=True)

    def append_log(self, row: dict) -> None:
        new = not self.log_path.is_file()
        with self.log_path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=LOG_FIELDS)
            if new:
                writer.writeheader()
            writer.writerow({k: row.get(k) for k in LOG_FIELDS})

    def read_log(self) -> list[dict]:
        if not self.log_path.is_file():
            return []
        rows = csv.DictReader(io.StringIO(self.log_path.read_text()))
        # an empty field (grad_norm in logs written before it existed) reads as nan
        return [{k: float(v) if v else float("nan") for k, v in row.items()} for row in rows]

    def truncate_log(self, after_step: int) -> None:
        """Drop log rows past ``after_step`` (written after the checkpoint we resume from)."""
        rows = [r for r in self.read_log() if r["step"] < after_step]
        self.log_path.unlink(missing_ok=True)
        for row in rows:
            self.append_log({k: (int(v) if k == "step" else v) for k, v in row.items()})
