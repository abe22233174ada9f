"""Typed run configuration, YAML presets shipped in the package, dotted ``key=value`` overrides.

A run is described by ``RunConfig`` (task, model, train, sample). Presets are partial YAML
files in ``ponder/configs``; loading one merges it onto the dataclass defaults, then applies
overrides such as ``train.steps=500`` or ``model.transformer.width=128``. Unknown keys are
errors that name the close matches (``ConfigError``; the CLI exits with code 2 on it).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from ponder.nets.graph import GraphConfig
from ponder.nets.mlp import MLPConfig
from ponder.nets.transformer import TransformerConfig
from ponder.nets.unet import UNetConfig

COMBINE = ("best", "mean")  # how sample.candidates > 1 become one answer (SampleConfig.combine)
# where adaptive schedules and combine=best read each variable's uncertainty (SampleConfig)
UNCERTAINTY_SOURCES = ("head", "marginal")
ENERGY_HEADS = ("square", "residual")  # the scalar head of energy models (ponder.energy)
LR_DECAYS = ("constant", "cosine")  # the learning rate after warm-up (TrainConfig.lr_decay)


class ConfigError(ValueError):
    """A preset, key or value that does not fit the configuration."""


def check_choice(key: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a ConfigError naming the key, the value and
    the accepted ones (``sample.combine``, ``sample.uncertainty``)."""
    if value not in choices:
        raise ConfigError(f"{key} must be one of {list(choices)}, got {value!r}")
    return value


@dataclass
class ModelConfig:
    denoiser: str = "transformer"  # transformer | unet | mlp | graph
    flow: str = "rectified"  # rectified | cosine | vp
    flow_skew: float = 0.0  # cosine flow only
    vp_betas: str = "linear"  # vp flow only: linear | cosine
    vp_steps: int = 1000  # vp flow only: number of discrete betas (IRED uses 10)
    energy: bool = False  # energy-parameterised denoiser (IRED); flow=vp, prediction eps | x0
    contrastive_weight: float = 0.5  # energy models: weight of the energy-landscape loss
    # energy models: the scalar head on the network, square (IRED: 0.5 ||f||^2) | residual
    # (<z, f> - 0.5 ||f||^2, whose gradient is f plus a correction; ponder.energy)
    energy_head: str = "square"
    prediction: str = "velocity"  # x0 | eps | velocity | v
    uncertainty: bool = True  # per-variable log-variance head (drives adaptive schedules)
    uncertainty_weight: float = 0.01
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    mlp: MLPConfig = field(default_factory=MLPConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 64
    lr: float = 3e-4
    warmup_steps: int = 100
    # after warm-up: constant, or cosine from lr down to 0 at train.steps (a resume that raises
    # train.steps stretches the rest of the curve; the steps already taken keep theirs)
    lr_decay: str = "constant"
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    time_sampler: str = "mean_beta"  # shared | independent | mean_beta | sequential | terminal
    sharpness: float = 1.0  # mean_beta only
    add_zeros: bool = False
    label_dropout: float = 0.1  # classifier-free guidance, label-conditioned tasks only
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 25
    seed: int = 0
    precision: str = "32"  # "32" | "bf16-mixed" | "auto" (bf16-mixed where bf16 is native)
    accelerator: str = "auto"  # auto | cpu | gpu
    devices: Any = 1  # int or "auto"
    num_nodes: int = 1
    strategy: str = "auto"  # auto | ddp | ...
    deterministic: bool = False
    compile: bool = False  # torch.compile the denoiser (first steps slower; see RESULTS.md);
    # refused for energy models: torch.compile has no double backward
    threads: int = 0  # torch intra-op threads; 0 = torch's default
    workers: int = 0  # DataLoader worker processes generating batches ahead
    wandb: bool = False  # log to Weights & Biases (only when installed)
    progress: bool = True

    def __post_init__(self):
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"lr_decay must be one of {list(LR_DECAYS)}, got {self.lr_decay!r}")

    def lr_at(self, step: int) -> float:
        """The learning rate of optimizer step ``step`` (0-based): linear warm-up, then decay."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.lr_decay == "cosine":
            progress = min(1.0, (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps))
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.lr


@dataclass
class SampleConfig:
    schedule: str = "fixed"
    schedule_params: dict = field(default_factory=lambda: {"steps": 50})
    alpha: float = 0.0  # 0 = DDIM (deterministic) .. 1 = DDPM
    temperature: float = 1.0
    guidance: float = 1.0
    guidance_schedule: str = "constant"  # constant | linear
    batch_size: int = 128
    num_samples: int = 256  # evaluate's default
    seed: int = 1234
    precision: str = "32"  # "32" | "bf16" | "auto": autocast of the denoiser, loop stays fp32
    energy_steps: int = 5  # energy models: inner descent steps per level (0 = the jump alone)
    energy_step_scale: float = 1.0
    # energy models: false samples them as plain diffusion models, the ordinary DDIM / DDPM
    # loop on their eps_hat = dE/dz (no jump to the clean estimate, no inner steps)
    energy_descent: bool = True
    # clamp each clean estimate to the task's data range and re-derive the noise estimate from
    # it (DDPM's clip_denoised); keeps eps-prediction on a VP path from exploding near t = 1
    clip_x0: bool = False
    # ordinary models on a VP path: refine each level by energy_steps steps along the model's
    # own noise estimate (its implicit energy's gradient), as energy models descend E
    score_descent: bool = False
    project: bool = True  # discrete tasks: snap each variable to its nearest code at t = 0
    candidates: int = 1  # K > 1: K samples per condition, combined into one answer by `combine`
    # best: the candidate the model is surest of (needs an uncertainty head); mean: their
    # average (a Monte Carlo posterior mean, what an MSE metric rewards; on discrete tasks
    # snapped to the nearest code, i.e. a vote per variable)
    combine: str = "best"  # one of COMBINE
    # > 0: one-hot tasks draw each finished variable from the model's marginal instead of
    # taking its argmax (diverse candidates where the model must guess); 0 = argmax
    commit_temperature: float = 0.0
    # head: the model's trained uncertainty head; marginal: one-hot tasks only, the variance of
    # the code under the model's own marginal, read off its clean estimate (no head needed, so
    # adaptive order works for energy models and any x0 model; sampling.marginal_logvar)
    uncertainty: str = "head"  # one of UNCERTAINTY_SOURCES


@dataclass
class RunConfig:
    task: Any  # the task's own config dataclass (ponder.tasks.TASKS[name].Config)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    about: str = ""  # one line shown by `ponder presets`


def preset_names() -> list[str]:
    files = resources.files("ponder.configs").iterdir()
    return sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml"))


def _close(name: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def read_preset(name: str) -> dict:
    names = preset_names()
    if name not in names:
        raise ConfigError(f"unknown preset {name!r}{_close(name, names)} (presets: {names})")
    text = resources.files("ponder.configs").joinpath(f"{name}.yaml").read_text()
    return yaml.safe_load(text) or {}


def _coerce(value: Any, kind: Any, key: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is Any or kind is dict or origin is dict:
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if kind is str:
        return str(value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        return tuple(value)
    return value


def build(cls: type, data: dict, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a (possibly partial) dict; unknown keys are errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            hint = _close(key, names) or f"; {prefix.rstrip('.') or 'the config'} accepts {names}"
            raise ConfigError(f"unknown config key {prefix + key!r}{hint}")
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            kwargs[key] = build(kind, value, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, kind, prefix + key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {err}") from err


def parse_overrides(items: typing.Iterable[str]) -> dict:
    """``["train.steps=5", "model.transformer.width=64"]`` -> nested dict (YAML values)."""
    tree: dict = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw else ""
        node = tree
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override")
        node[parts[-1]] = value
    return tree


def merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def to_dict(cfg: Any) -> Any:
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, tuple):
        return list(cfg)
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def run_config_from_dict(data: dict) -> RunConfig:
    from ponder.tasks import TASKS

    data = dict(data)
    task = data.pop("task", None)
    if not isinstance(task, dict) or "name" not in task:
        raise ConfigError("config needs a task mapping with a 'name'")
    if task["name"] not in TASKS:
        raise ConfigError(
            f"unknown task {task['name']!r}{_close(task['name'], TASKS)} (tasks: {sorted(TASKS)})"
        )
    task_cfg = build(TASKS[task["name"]].Config, task, "task.")
    rest = build(RunConfig, {"task": None, **data})
    rest.task = task_cfg
    return rest


def sample_base(current: dict, update: dict) -> dict:
    """The ``sample`` mapping ``update`` is merged into: ``current`` itself, or without its
    ``schedule_params`` where ``update`` switches the schedule (they belong to the old one:
    ``sample.schedule=fixed`` on the Sudoku preset would otherwise inherit adaptive_seq's
    ``overlap``). Used for presets (``load_config``) and saved runs (``ponder evaluate``)."""
    schedule = current.get("schedule", SampleConfig.schedule)
    if update.get("schedule", schedule) != schedule:
        return {**current, "schedule_params": {}}
    return current


def load_config(preset: str, overrides: typing.Iterable[str] = ()) -> RunConfig:
    """Preset merged with dotted overrides, validated (the sampling schedule included, so a
    bad parameter stops ``ponder train`` before training, not ``evaluate`` after it).

    An override that switches ``sample.schedule`` drops the preset's ``schedule_params`` (only
    the overrides' own apply; ``sample_base``)."""
    base, update = read_preset(preset), parse_overrides(overrides)
    sample = update.get("sample", {})
    if isinstance(sample, dict):
        base = {**base, "sample": sample_base(base.get("sample", {}), sample)}
    cfg = run_config_from_dict(merge(base, update))
    from ponder.build import build_schedule  # ponder.build imports this module

    build_schedule(cfg.sample)  # ConfigError naming a bad schedule or parameter
    check_choice("sample.combine", cfg.sample.combine, COMBINE)
    check_choice("sample.uncertainty", cfg.sample.uncertainty, UNCERTAINTY_SOURCES)
    check_choice("model.energy_head", cfg.model.energy_head, ENERGY_HEADS)
    if cfg.model.contrastive_weight < 0:
        raise ConfigError(
            f"model.contrastive_weight is the energy-landscape loss's weight lambda, >= 0 "
            f"(0 trains the energy by the denoising loss alone); got {cfg.model.contrastive_weight}"
        )
    return cfg
