"""The LightningModule: denoising loss, warm-up, EMA, per-step checkpoints."""

from __future__ import annotations

import copy

import lightning as L
import torch

from ponder.checkpoint import flatten_optimizer, prefixed, unflatten_optimizer, unprefixed
from ponder.config import RunConfig
from ponder.model import DenoisingModel
from ponder.training.data import TrainBatch


class NonFiniteLossError(RuntimeError):
    def __init__(self, step: int, value: float):
        super().__init__(
            f"training stopped: the loss is {value} at step {step}; the last good checkpoint "
            f"is kept (try a lower train.lr or train.grad_clip)"
        )
        self.step = step


class DenoisingModule(L.LightningModule):
    def __init__(
        self,
        cfg: RunConfig,
        model: DenoisingModel,
        resume: tuple[dict, dict] | None = None,
    ):
        """``resume``: (tensors, meta) of a training checkpoint to continue from."""
        super().__init__()
        self.cfg, self.model = cfg, model
        self.ema = copy.deepcopy(model.net).requires_grad_(False)
        self.step = 0  # optimizer steps taken so far (survives resume)
        self.resume_optimizer = None
        if resume is not None:
            tensors, meta = resume
            model.net.load_state_dict(unprefixed("model", tensors))
            self.ema.load_state_dict(unprefixed("ema", tensors))
            self.step = int(meta["step"])
            self.resume_optimizer = unflatten_optimizer(tensors, meta["optimizer"])
        self.on_log = None  # callable(step, dict) set by the runner
        self.pending_log: dict | None = None  # this step's row, until the gradient exists
        self.on_step_end = None  # callable(step) set by the runner (checkpoints)

    @property
    def plain_net(self) -> torch.nn.Module:
        """The denoiser without a torch.compile wrapper (its state dict has plain keys)."""
        return getattr(self.model.net, "_orig_mod", self.model.net)

    def configure_optimizers(self):
        t = self.cfg.train
        optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=t.lr_at(self.step), weight_decay=t.weight_decay
        )
        if self.resume_optimizer is not None:
            optimizer.load_state_dict(self.resume_optimizer)
        return optimizer

    def training_step(self, batch: TrainBatch, batch_idx):
        t = self.cfg.train
        lr = t.lr_at(self.step)
        for group in self.optimizers().optimizer.param_groups:
            group["lr"] = lr
        parts = self.model.loss(
            batch.x, batch.noise, batch.label, self.cfg.model.uncertainty_weight, batch.x_negative
        )
        finite = torch.isfinite(parts.total.detach())
        if self.trainer.world_size > 1:  # every rank must stop together, or the others hang
            finite = self.all_gather(finite).all()
        if not finite:
            raise NonFiniteLossError(self.step, parts.total.item())
        self.log("loss", parts.total, prog_bar=True)
        if self.on_log is not None and (self.step % t.log_every == 0 or self.step + 1 == t.steps):
            contrastive = parts.contrastive if parts.contrastive is not None else parts.nll * 0
            values = torch.stack([parts.total, parts.mean, parts.nll, contrastive]).detach()
            if self.trainer.world_size > 1:  # the global batch's loss, as one process sees it
                values = self.all_gather(values).mean(0)
            loss, mean, nll, contrastive = values.tolist()
            # written once the gradient exists (on_before_optimizer_step adds its norm)
            self.pending_log = {
                "loss": loss,
                "mean": mean,
                "nll": nll,
                "contrastive": contrastive,
                "lr": lr,
            }
        return parts.total

    def on_before_optimizer_step(self, optimizer) -> None:
        """Log the step's row with the gradient's global norm before clipping (a run that
        diverges shows it rising first; DDP has averaged the gradients by now)."""
        if self.pending_log is None:
            return
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads).item() if grads else 0.0
        self.on_log(self.step, {**self.pending_log, "grad_norm": norm})
        self.pending_log = None

    @torch.no_grad()
    def update_ema(self) -> None:
        decay = min(self.cfg.train.ema_decay, (1 + self.step) / (10 + self.step))
        for e, p in zip(self.ema.parameters(), self.plain_net.parameters(), strict=True):
            e.lerp_(p.detach(), 1 - decay)

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch.to(device)

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        self.update_ema()
        self.step += 1
        if self.on_step_end is not None:
            self.on_step_end(self.step)

    def training_state(self) -> tuple[dict, dict]:
        """(tensors, JSON meta) for a resumable checkpoint."""
        optim_tensors, optim_rest = flatten_optimizer(self.optimizers().optimizer.state_dict())
        tensors = {
            **prefixed("model", self.plain_net.state_dict()),
            **prefixed("ema", self.ema.state_dict()),
            **optim_tensors,
        }
        return tensors, {"step": self.step, "optimizer": optim_rest}
