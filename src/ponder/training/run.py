"""``ponder.train``: configuration -> Lightning Trainer -> run folder."""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from ponder.build import build_model, build_task, build_time_sampler
from ponder.checkpoint import save_tensors
from ponder.config import (
    ConfigError,
    RunConfig,
    load_config,
    merge,
    parse_overrides,
    run_config_from_dict,
    to_dict,
)
from ponder.hardware import train_precision
from ponder.rundir import RunDir
from ponder.training.data import StepBatches, collate_one
from ponder.training.module import DenoisingModule, NonFiniteLossError

__all__ = ["NonFiniteLossError", "train"]

# Lightning's start-up banner (accelerator table, tips) is noise on every run; keep warnings.
logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=".*(LeafSpec|all_gather).*is deprecated")


class _Module(DenoisingModule):
    """DenoisingModule plus its data, which needs the rank known only inside the trainer."""

    def __init__(self, cfg, model, time_sampler, task, resume=None):
        super().__init__(cfg, model, resume)
        self.task, self.time_sampler = task, time_sampler

    def train_dataloader(self):
        t = self.cfg.train
        world = self.trainer.world_size
        if t.batch_size % world:
            raise ConfigError(
                f"train.batch_size={t.batch_size} is not divisible by the {world} processes"
            )
        data = StepBatches(
            self.task,
            self.time_sampler,
            self.step,
            t.steps,
            t.batch_size,
            t.seed,
            self.global_rank,
            world,
            t.label_dropout,
            negatives=self.cfg.model.energy,
        )
        return DataLoader(
            data,
            batch_size=None,
            shuffle=False,
            collate_fn=collate_one,
            num_workers=t.workers,
            persistent_workers=t.workers > 0,
        )


def _train_device(accelerator: str) -> str:
    """The device Lightning will pick for ``train.accelerator`` (for ``precision: auto``)."""
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return "cuda"
    return "cpu"


def _progress(t) -> list:
    """A progress bar that redraws about 100 times per run, not every step (logs stay small)."""
    if not t.progress:
        return []
    from lightning.pytorch.callbacks import TQDMProgressBar

    return [TQDMProgressBar(refresh_rate=max(1, t.steps // 100))]


def _loggers(cfg: RunConfig, run: RunDir) -> list:
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    logs = run.path / "logs"
    loggers = [CSVLogger(logs, name="csv"), TensorBoardLogger(logs, name="tensorboard")]
    if cfg.train.wandb:
        try:
            from lightning.pytorch.loggers import WandbLogger

            loggers.append(WandbLogger(project="ponder", save_dir=run.path))
        except (ImportError, ModuleNotFoundError) as err:
            raise ConfigError(f"train.wandb=true needs the wandb package: {err}") from err
    return loggers


def train(
    preset: str | RunConfig,
    out: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    resume: bool = False,
    force: bool = False,
) -> Path:
    """Train a preset (or a ``RunConfig``) into the run folder ``out``; returns its path.

    ``resume=True`` continues the run in ``out`` from its newest valid checkpoint (overrides,
    e.g. ``train.steps=...``, apply on top of its saved config). An existing run is never
    overwritten unless ``force=True``.
    """
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    # In a multi-process run every process executes this function; only the first one (rank
    # from the launcher's environment) checks and prepares the run folder.
    first = rank_zero_only.rank == 0
    run = RunDir(out)
    resume_state = None
    if resume:
        base = to_dict(run.read_config())
        cfg = run_config_from_dict(merge(base, parse_overrides(overrides)))
        resume_state = run.latest_checkpoint()
    else:
        cfg = preset if isinstance(preset, RunConfig) else load_config(preset, overrides)
    if cfg.train.compile and cfg.model.energy:  # before the run folder is touched
        raise ConfigError(
            "train.compile=true does not apply to energy models (model.energy=true): their loss "
            "differentiates the network's input gradient again, and torch.compile has no double "
            "backward; set train.compile=false"
        )
    if resume:
        if first:
            run.truncate_log(int(resume_state[1]["step"]))
    else:
        if not first:
            pass
        elif run.exists() and not force:
            raise ConfigError(
                f"{run.path} already holds a run; pass --resume to continue it or --force to "
                f"replace it"
            )
        if force and run.path.is_dir():
            for name in ("checkpoints", "logs", "samples"):
                shutil.rmtree(run.path / name, ignore_errors=True)
            for path in (run.log_path, run.model_path, run.model_path.with_suffix(".json")):
                path.unlink(missing_ok=True)
    t = cfg.train
    if t.threads > 0:
        torch.set_num_threads(t.threads)
    task = build_task(cfg)
    torch.manual_seed(t.seed)  # initial weights (later randomness uses per-step generators)
    model = build_model(cfg, task.layout)
    module = _Module(cfg, model, build_time_sampler(cfg), task, resume_state)
    if t.compile:  # after the EMA copy and any resumed weights were loaded into the plain net
        model.net = torch.compile(model.net)
    start = module.step
    if start >= t.steps:
        raise ConfigError(f"the run is already at step {start} of train.steps={t.steps}")
    trainer = L.Trainer(
        max_steps=t.steps - start,
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=train_precision(t.precision, _train_device(t.accelerator)),
        gradient_clip_val=t.grad_clip or None,
        logger=_loggers(cfg, run),
        log_every_n_steps=max(1, min(t.log_every, t.steps - start)),
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=t.progress,
        callbacks=_progress(t),
        deterministic=t.deterministic,
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        default_root_dir=run.path,
    )
    if trainer.is_global_zero:
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_config(cfg)

    def on_log(step: int, row: dict) -> None:
        if trainer.is_global_zero:
            run.append_log({"step": step, **row})

    # wall seconds of training so far, carried across resumes (time to accuracy)
    seconds_before = float((resume_state[1] if resume_state else {}).get("train_seconds", 0.0))
    fit_start = time.perf_counter()

    def train_seconds() -> float:
        return round(seconds_before + time.perf_counter() - fit_start, 3)

    def on_step_end(step: int) -> None:
        if trainer.is_global_zero and (step % t.checkpoint_every == 0 or step == t.steps):
            tensors, meta = module.training_state()
            save_tensors(
                run.checkpoint_path(step), tensors, {**meta, "train_seconds": train_seconds()}
            )
            run.prune_checkpoints(t.keep_checkpoints)

    module.on_log, module.on_step_end = on_log, on_step_end
    trainer.fit(module)
    if trainer.is_global_zero:
        save_tensors(
            run.model_path,
            module.ema.state_dict(),
            {
                "step": module.step,
                "weights": "ema",
                "config": to_dict(cfg),
                "train_seconds": train_seconds(),
            },
        )
    return run.path
