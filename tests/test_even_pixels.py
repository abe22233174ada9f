import torch

from ponder.tasks.even_pixels import (
    EvenPixelsConfig,
    EvenPixelsTask,
    even_pixels_metrics,
    hsv_to_rgb,
    rgb_to_hsv,
)


def test_generated_images_score_perfectly(generator):
    task = EvenPixelsTask(EvenPixelsConfig())
    batch = task.train_batch(32, generator)
    assert batch.x.shape == (32, 64, 48) and not batch.known.any()
    m = task.evaluate(batch.x, batch)
    assert m["is_color_count_even"] == 1.0 and m["color_count_error"] == 0.0
    assert m["saturation_std"] < 1e-6 and m["value_std"] < 1e-6


def hand_made(first: int, size: int = 32, hue: float = 0.1) -> torch.Tensor:
    """``first`` pixels of hue h, the rest of hue h + 0.5, S = 1, V = 0.7; in [-1, 1]."""
    h = torch.full((size * size,), hue + 0.5)
    h[:first] = hue
    hsv = torch.stack([h.view(size, size), torch.ones(size, size), torch.full((size, size), 0.7)])
    return hsv_to_rgb(hsv[None]) * 2 - 1


def test_imbalanced_images_give_the_expected_error():
    m = even_pixels_metrics(torch.cat([hand_made(600), hand_made(512), hand_made(300)]))
    # errors 88, 0 and 212: the peak is the majority hue, its half counts its pixels
    assert m.color_count_error == (88 + 0 + 212) / 3
    assert abs(m.is_color_count_even - 1 / 3) < 1e-6


def test_saturation_and_value_spread():
    img = hand_made(512)
    hsv = rgb_to_hsv((img + 1) / 2)
    hsv[:, 1, :16] = 0.5  # half the rows at saturation 0.5
    m = even_pixels_metrics(hsv_to_rgb(hsv) * 2 - 1)
    expected = torch.cat([torch.full((512,), 0.5), torch.ones(512)]).std().item()
    assert abs(m.saturation_std - expected) < 1e-4 and m.value_std < 1e-5


def test_hsv_round_trip(generator):
    hsv = torch.rand(4, 3, 8, 8, generator=generator) * torch.tensor([1, 0.9, 0.9]).view(1, 3, 1, 1)
    hsv = hsv + torch.tensor([0, 0.1, 0.1]).view(1, 3, 1, 1)
    back = rgb_to_hsv(hsv_to_rgb(hsv))
    assert torch.allclose(back, hsv, atol=1e-5)


def test_test_batches_are_fixed_by_seed():
    task = EvenPixelsTask(EvenPixelsConfig())
    assert torch.equal(task.test_batch(4, 7).x, task.test_batch(4, 7).x)
