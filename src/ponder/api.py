"""``ponder.load(run_dir)``: a trained model ready to sample and evaluate (no Lightning)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import Tensor

from ponder.build import build_guidance, build_model, build_schedule, build_task
from ponder.candidates import CommitUncertainty, chain_callbacks, keep_best, mean_of
from ponder.checkpoint import load_tensors, unprefixed
from ponder.config import COMBINE, UNCERTAINTY_SOURCES, ConfigError, RunConfig, check_choice
from ponder.distributed import gather_chunks, rank_and_world
from ponder.hardware import sample_bf16
from ponder.images import grid, save_png
from ponder.rundir import RunDir
from ponder.sampling import (
    chain_refiners,
    clip_prediction,
    draw_finished,
    marginal_logvar,
    project_finished,
    replace_x0,
)
from ponder.sampling import sample as sample_loop
from ponder.tasks.base import Batch


@dataclass
class SampleResult:
    x: Tensor  # [B, N, D] generated variables
    conditions: Batch  # the test conditions they were generated for
    schedule: str
    schedule_params: dict
    nfe: int  # network evaluations per sample (x2 with classifier-free guidance)
    seconds: float


@dataclass
class EvalResult:
    metrics: dict[str, float]
    num_samples: int
    schedule: str
    schedule_params: dict
    nfe: int
    seconds: float
    step: int = 0
    extra: dict = field(default_factory=dict)


class Pipeline:
    """A task, a denoising model with its EMA weights, and the sampling configuration."""

    drop_finished = True  # finished rows leave the network's batch (False: for benchmarks)

    def __init__(
        self,
        cfg: RunConfig,
        weights: dict[str, Tensor],
        step: int,
        device: str,
        meta: dict | None = None,
    ):
        self.cfg, self.step, self.device = cfg, step, torch.device(device)
        # seconds of training behind these weights (checkpoints written since it was recorded)
        self.train_seconds = (meta or {}).get("train_seconds")
        self.task = build_task(cfg)
        self.model = build_model(cfg, self.task.layout)
        self.model.net.load_state_dict(weights)
        self.model.to(self.device).eval()

    def sample_config(self, schedule: str | None = None, **overrides):
        """The run's sample config with a schedule and its parameters replaced."""
        s = self.cfg.sample
        if schedule is None or schedule == s.schedule:
            params = {**s.schedule_params, **overrides}
            return replace(s, schedule_params=params)
        return replace(s, schedule=schedule, schedule_params=dict(overrides))

    def sample(
        self,
        num_samples: int = 16,
        schedule: str | None = None,
        seed: int | None = None,
        conditions: Batch | None = None,
        callback=None,
        **schedule_params,
    ) -> SampleResult:
        """Generate for ``num_samples`` fixed test conditions (or the ``conditions`` given)."""
        s = self.sample_config(schedule, **schedule_params)
        sched = build_schedule(s)
        marginal = self.check_uncertainty_source(s)
        has_uncertainty = marginal or self.model.has_uncertainty
        if sched.needs_uncertainty and not has_uncertainty:
            raise ConfigError(
                f"schedule {s.schedule!r} orders variables by predicted uncertainty, but this "
                f"model has no uncertainty head (train with model.uncertainty=true, or on a "
                f"one-hot task use sample.uncertainty=marginal)"
            )
        guidance = build_guidance(s)
        try:
            bf16 = sample_bf16(s.precision, self.device)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        seed = s.seed if seed is None else seed
        batch = conditions if conditions is not None else self.task.test_batch(num_samples, seed)
        self.check_sizes(batch)
        dependency = self.task.dependency().to(self.device)
        energy = self.energy_refine(s)
        clip = self.check_refinements(s, energy)
        impose = getattr(self.task, "impose", None)  # (x0, x_known) -> x0, answer parts given
        project = getattr(self.task, "project", None) if s.project else None
        if s.commit_temperature < 0 or (
            s.commit_temperature > 0 and not getattr(self.task, "one_hot_codes", False)
        ):
            raise ConfigError(
                f"sample.commit_temperature={s.commit_temperature} needs a value >= 0 and, "
                f"when > 0, a task whose variables are one-hot codes (sudoku, shortest_path)"
            )
        k = s.candidates
        if k < 1:
            raise ConfigError(f"sample.candidates must be >= 1, got {k}")
        # load_config checked it already; a RunConfig built or changed in code was not
        best = k > 1 and check_choice("sample.combine", s.combine, COMBINE) == "best"
        if best and not has_uncertainty:
            raise ConfigError(
                "sample.candidates > 1 with sample.combine=best keeps the candidate with the "
                "lowest predicted uncertainty; this model has no uncertainty head "
                "(model.uncertainty=true), so use sample.combine=mean"
            )
        chunk = max(1, s.batch_size // k)  # conditions per loop call: chunk * k rows
        rank, world = rank_and_world()
        starts = list(range(0, batch.x.shape[0], chunk))
        outs, start = {}, time.perf_counter()
        for i in starts[rank::world]:  # each rank its share of the chunks, seeds unchanged
            x = batch.x[i : i + chunk].to(self.device).repeat_interleave(k, 0)
            known = batch.known[i : i + chunk].to(self.device).repeat_interleave(k, 0)
            label = None if batch.label is None else batch.label[i : i + chunk].to(x.device)
            label = None if label is None else label.repeat_interleave(k, 0)
            generator = torch.Generator(self.device).manual_seed(seed * 1_000_003 + i)
            ranking = CommitUncertainty(~known) if best else None
            if project is not None and s.commit_temperature > 0:
                draws = torch.Generator(self.device).manual_seed(seed * 1_000_003 + i + 1)
                commit = draw_finished(s.commit_temperature, draws)
            else:
                commit = project and project_finished(project)

            def denoise(z, t, rows=None, label=label, x=x):
                label = None if label is None or rows is None else label[rows]
                with torch.autocast(self.device.type, torch.bfloat16, enabled=bf16):
                    pred = self.model.predict(z, t, label, guidance)
                if impose is not None:  # e.g. completion: observed entries are not guessed
                    given = x if rows is None else x[rows]
                    pred = replace_x0(pred, z, t, self.model.flow, impose(pred.x0, given))
                if clip is not None:
                    pred = clip_prediction(pred, z, t, self.model.flow, clip)
                return pred._replace(logvar=marginal_logvar(pred.x0)) if marginal else pred

            descent = energy
            if s.score_descent:  # an ordinary model descends along its own eps
                descent = self.energy_refine(s, score=lambda y, t: denoise(y, t).eps)

            z = sample_loop(
                denoise,
                self.model.flow,
                sched,
                x,
                known,
                generator,
                s.alpha,
                s.temperature,
                dependency,
                callback=chain_callbacks(callback, ranking),
                refine=chain_refiners(descent, commit),
                drop_finished=self.drop_finished,
            )
            if best:
                z = keep_best(z, ranking.score, k)
            elif k > 1:
                z, given = mean_of(z, k), known[::k]
                if project is not None:  # a vote: the code nearest the candidates' mean
                    z = torch.where(given[..., None], z, project(z))
            outs[i] = z.cpu()
        x = gather_chunks(outs, batch.x.shape, world)
        seconds = time.perf_counter() - start
        per_step = 2 if guidance.scale != 1 and batch.label is not None else 1
        inner = s.energy_steps if energy is not None or s.score_descent else 0
        if inner > 0:  # each level: the gradient at the jump, then one per inner step
            per_step += 1 + inner
        nfe = sched.num_steps * per_step * k  # per condition, all candidates
        return SampleResult(x, batch, s.schedule, s.schedule_params, nfe, seconds)

    def check_sizes(self, batch: Batch) -> None:
        """ConfigError where the conditions have another number or size of variables than the
        model was built for (the graph tasks' harder splits), unless its denoiser reads any."""
        layout, shape = self.task.layout, list(batch.x.shape[1:])
        net = getattr(self.model.net, "base", self.model.net)  # energy models wrap theirs
        if shape != [layout.num_variables, layout.dim] and not getattr(net, "size_agnostic", 0):
            raise ConfigError(
                f"these conditions are variables {shape} (test_split="
                f"{getattr(self.cfg.task, 'test_split', None)!r}), but the "
                f"{self.cfg.model.denoiser!r} denoiser was built for "
                f"{[layout.num_variables, layout.dim]}; only a size-agnostic denoiser "
                f"(model.denoiser=graph) reads other sizes"
            )

    def check_uncertainty_source(self, s) -> bool:
        """True where uncertainty is read off the clean estimate (``sample.uncertainty=marginal``),
        False for the model's head; ConfigError for a name or task it does not fit."""
        source = check_choice("sample.uncertainty", s.uncertainty, UNCERTAINTY_SOURCES)
        if source == "marginal" and not getattr(self.task, "one_hot_codes", False):
            raise ConfigError(
                f"sample.uncertainty=marginal reads a one-hot code's variance off the clean "
                f"estimate; task {self.cfg.task.name!r} has no one-hot variables (sudoku and "
                f"shortest_path do); use sample.uncertainty=head"
            )
        return source == "marginal"

    def energy_refine(self, s, score=None):
        """Annealed energy descent for energy models (``sample.energy_steps`` inner steps; 0
        keeps only the jump to the clamped clean estimate at each level). With ``score`` (an
        ordinary model's ``(y, t) -> eps``, ``sample.score_descent``) the same descent follows
        it, with no rejection; None for ordinary models without one and for energy models
        sampled as plain diffusion (``sample.energy_descent=false``)."""
        from ponder.energy import EnergyDescent, EnergyModel

        if score is None and not (isinstance(self.model, EnergyModel) and s.energy_descent):
            return None
        return EnergyDescent(
            None if score is not None else self.model.net,
            self.model.flow,
            s.energy_steps,
            s.energy_step_scale,
            getattr(self.task, "data_range", None),
            score=score,
        )

    def check_refinements(self, s, energy) -> tuple[float, float] | None:
        """ConfigError for ``sample.clip_x0`` / ``sample.score_descent`` where they cannot
        apply; returns the data range to clip clean estimates to (None: no clipping)."""
        from ponder.flows import VPFlow

        clip = getattr(self.task, "data_range", None) if s.clip_x0 else None
        if s.clip_x0 and clip is None:
            raise ConfigError(
                f"sample.clip_x0=true clamps clean estimates to the task's data range; task "
                f"{self.cfg.task.name!r} has none (the matrix and graph tasks do)"
            )
        if not s.score_descent:
            return clip
        if energy is not None:
            raise ConfigError(
                "sample.score_descent=true is for ordinary models; this energy model already "
                "descends its energy (sample.energy_steps)"
            )
        if not isinstance(self.model.flow, VPFlow):
            raise ConfigError(
                f"sample.score_descent=true takes IRED's per-level step sizes from a VP path; "
                f"this model's flow is {self.cfg.model.flow!r} (train with model.flow=vp)"
            )
        return clip

    def evaluate(
        self, num_samples: int | None = None, schedule: str | None = None, **schedule_params
    ) -> EvalResult:
        n = num_samples or self.cfg.sample.num_samples
        result = self.sample(n, schedule, **schedule_params)
        metrics = self.task.evaluate(result.x, result.conditions)
        return EvalResult(
            metrics,
            n,
            result.schedule,
            result.schedule_params,
            result.nfe,
            result.seconds,
            self.step,
        )

    def save_grid(self, x: Tensor, path: str | Path, scale: int = 2) -> Path:
        return save_png(grid(self.task.to_images(x), scale=scale), path)


def load(
    run_dir: str | Path, device: str | None = None, weights: str = "ema", step: int | None = None
) -> Pipeline:
    """Load a run folder. ``weights``: ``ema`` (default) or ``raw``; ``step``: a saved
    training checkpoint instead of the final model (default: the final model, else the
    newest checkpoint)."""
    run = RunDir(run_dir)
    cfg = run.read_config()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if weights not in ("ema", "raw"):
        raise ValueError(f"weights must be 'ema' or 'raw', got {weights!r}")
    if step is not None:
        saved = run.checkpoint_steps()
        if step not in saved:
            raise ConfigError(f"{run.path} has no checkpoint at step {step}; saved steps: {saved}")
        tensors, meta = load_tensors(run.checkpoint_path(step))
    elif weights == "ema" and run.model_path.is_file():
        tensors, meta = load_tensors(run.model_path)
        return Pipeline(cfg, tensors, int(meta.get("step", 0)), device, meta)
    else:
        tensors, meta = run.latest_checkpoint()
    prefix = "ema" if weights == "ema" else "model"
    return Pipeline(cfg, unprefixed(prefix, tensors), int(meta["step"]), device, meta)
