"""Objects from a ``RunConfig``: the task, the denoising model, the samplers."""

from __future__ import annotations

from ponder.config import ConfigError, RunConfig, SampleConfig
from ponder.flows import make_flow
from ponder.model import DenoisingModel, Guidance
from ponder.schedules import make_schedule
from ponder.time_samplers import make_time_sampler


def build_task(cfg: RunConfig):
    from ponder.tasks import TASKS

    try:
        return TASKS[cfg.task.name](cfg.task)
    except ValueError as err:  # the task's own checks of its config (node counts, sets, ...)
        raise ConfigError(f"task {cfg.task.name!r}: {err}") from err


def build_model(cfg: RunConfig, layout) -> DenoisingModel:
    from ponder.nets import DENOISERS

    m = cfg.model
    if m.denoiser not in DENOISERS:
        raise ConfigError(f"unknown denoiser {m.denoiser!r}; choose one of {sorted(DENOISERS)}")
    net_cls, _ = DENOISERS[m.denoiser]
    net = net_cls(layout, getattr(m, m.denoiser), uncertainty=m.uncertainty)
    train_nodes = getattr(cfg.task, "train_nodes", ())
    if train_nodes and not getattr(net, "size_agnostic", False):
        raise ConfigError(
            f"task.train_nodes={list(train_nodes)} trains on graphs of several node counts, "
            f"which only a size-agnostic denoiser reads (model.denoiser=graph), not "
            f"model.denoiser={m.denoiser!r}"
        )
    try:
        flow = make_flow(m.flow, skew=m.flow_skew, betas=m.vp_betas, steps=m.vp_steps)
        if m.energy:
            from ponder.energy import ENERGY_FORMS, EnergyDenoiser, EnergyModel

            if m.prediction not in ENERGY_FORMS:
                raise ValueError(
                    f"energy models predict one of {ENERGY_FORMS} (the energy's form), got "
                    f"model.prediction={m.prediction!r}"
                )
            energy_net = EnergyDenoiser(net, flow, form=m.prediction, head=m.energy_head)
            return EnergyModel(energy_net, flow, m.contrastive_weight)
        return DenoisingModel(net, flow, m.prediction)
    except ValueError as err:
        raise ConfigError(str(err)) from err


def build_time_sampler(cfg: RunConfig):
    params = {"sharpness": cfg.train.sharpness} if cfg.train.time_sampler == "mean_beta" else {}
    try:
        return make_time_sampler(cfg.train.time_sampler, cfg.train.add_zeros, **params)
    except ValueError as err:
        raise ConfigError(str(err)) from err


def build_schedule(sample: SampleConfig):
    try:
        return make_schedule(sample.schedule, **sample.schedule_params)
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from err


def build_guidance(sample: SampleConfig) -> Guidance:
    try:
        return Guidance(sample.guidance, sample.guidance_schedule)
    except ValueError as err:
        raise ConfigError(str(err)) from err
