import hashlib

import numpy as np
import torch

from ponder.flows import RectifiedFlow
from ponder.process import (
    ProcessRecorder,
    active_counts,
    finish_order,
    save_active_plot,
    save_order_heatmap,
    save_process_gif,
)
from ponder.sampling import Prediction, sample
from ponder.schedules import make_schedule


def record(schedule, n=6, batch=2):
    recorder = ProcessRecorder()

    def denoise(z, t):
        return Prediction(torch.zeros_like(z), z, torch.zeros(z.shape[:2]))

    known = torch.zeros(batch, n, dtype=torch.bool)
    known[1, 0] = True
    sample(
        denoise,
        RectifiedFlow(),
        schedule,
        torch.zeros(batch, n, 2),
        known,
        torch.Generator().manual_seed(0),
        callback=recorder,
    )
    return recorder, known


def test_recorder_shapes_and_raster_finish_order():
    recorder, known = record(make_schedule("raster", steps=6))
    t = recorder.t_record()
    assert t.shape == (6, 2, 6) and len(recorder.x0) == 6 and recorder.x0[0].shape == (2, 6, 2)
    order = finish_order(t, known)
    assert order[0].tolist() == [0, 1, 2, 3, 4, 5]  # index order, one step each
    assert order[1, 0] == -1  # known
    # sample 0 moves one of 6 per step; sample 1 (5 unknowns) is done after 5 steps
    assert active_counts(t, known).tolist() == [1.0] * 5 + [0.5]


def test_recorder_keeps_only_the_first_batch():
    recorder = ProcessRecorder()
    for _ in range(2):  # two sampling runs, as the pipeline does batch after batch
        record_run = record(make_schedule("fixed", steps=3))[0]
        for t, x0 in zip(record_run.t, record_run.x0, strict=True):
            from ponder.sampling import StepState

            recorder(StepState(len(recorder.t) % 3, t, x0, x0, None))
    assert len(recorder.t) == 3


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pictures_are_deterministic(tmp_path):
    frames = (np.arange(4 * 8 * 8 * 3) % 256).astype(np.uint8).reshape(4, 8, 8, 3)
    order = torch.tensor([[0, 3], [-1, 7]])
    counts = torch.tensor([1.0, 2.0, 2.0, 0.5])
    for name in ("a", "b"):
        save_process_gif(frames, tmp_path / f"{name}.gif")
        save_order_heatmap(order, tmp_path / f"{name}.png")
        save_active_plot(counts, tmp_path / f"{name}_active.png", title="x")
    for suffix in (".gif", ".png", "_active.png"):
        assert digest(tmp_path / f"a{suffix}") == digest(tmp_path / f"b{suffix}")
    from PIL import Image

    gif = Image.open(tmp_path / "a.gif")
    assert gif.n_frames == 4
    heat = np.asarray(Image.open(tmp_path / "a.png").convert("RGB"))
    assert tuple(heat[40, 5]) == (160, 160, 160)  # the known cell is grey
