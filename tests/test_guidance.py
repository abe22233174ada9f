"""Classifier-free guidance: the guided mean and its schedules; label dropout in training."""

import pytest
import torch
from torch import nn

from ponder.flows import RectifiedFlow
from ponder.model import DenoisingModel, Guidance
from ponder.nets.output import DenoiserOutput


class LabelEcho(nn.Module):
    """mean = 2 where a label is given, 1 where it is dropped (-1)."""

    def forward(self, x, t, label=None):
        given = (label >= 0).float().view(-1, 1, 1) if label is not None else 0.0
        return DenoiserOutput(torch.ones_like(x) + given, None)


@pytest.mark.parametrize(
    "schedule,finished,expected",
    [
        ("constant", 0.0, 1 + 3.0 * 1),
        ("constant", 0.5, 1 + 3.0 * 1),
        ("linear", 0.0, 1 + 1.0 * 1),
        ("linear", 0.5, 1 + 2.0 * 1),
        ("linear", 1.0, 1 + 3.0 * 1),
    ],
)
def test_guided_mean(schedule, finished, expected):
    model = DenoisingModel(LabelEcho(), RectifiedFlow(), prediction="x0")
    n = 4
    t = torch.full((2, n), 0.5)
    t[:, : int(finished * n)] = 0.0
    pred = model.predict(torch.zeros(2, n, 1), t, torch.tensor([0, 1]), Guidance(3.0, schedule))
    assert torch.allclose(pred.x0, torch.full_like(pred.x0, expected))


def test_no_guidance_without_labels_or_at_scale_one():
    model = DenoisingModel(LabelEcho(), RectifiedFlow(), prediction="x0")
    z, t = torch.zeros(2, 3, 1), torch.full((2, 3), 0.5)
    assert torch.all(model.predict(z, t, torch.tensor([0, 1]), Guidance(1.0)).x0 == 2)
    assert torch.all(model.predict(z, t, None, Guidance(3.0)).x0 == 1)


def test_label_dropout_in_training_batches():
    from ponder.tasks.base import Batch
    from ponder.time_samplers import SharedTimes
    from ponder.training.data import StepBatches
    from ponder.variables import VariableLayout

    class Labelled:
        name, layout = "labelled", VariableLayout(2, 1, num_classes=3)

        def train_batch(self, n, g):
            return Batch(
                torch.zeros(n, 2, 1),
                torch.zeros(n, 2, dtype=torch.bool),
                torch.randint(0, 3, (n,), generator=g),
            )

    data = StepBatches(Labelled(), SharedTimes(), 0, 10, 4000, seed=0, label_dropout=0.1)
    dropped = (data[0].label == -1).float().mean().item()
    assert abs(dropped - 0.1) < 0.02


def test_bad_guidance_schedule():
    with pytest.raises(ValueError, match="unknown guidance schedule 'cosine'"):
        Guidance(2.0, "cosine")
