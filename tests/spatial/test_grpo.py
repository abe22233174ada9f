"""GRPO math against hand-computed numbers."""

import math

import pytest
import torch

from ponder.spatial.grpo import group_advantages, grpo_loss, k3_kl, masked_sequence_mean

F64 = torch.float64


def test_group_advantages_by_hand():
    # group [1, 0, 0, 1]: mean 0.5, sample std sqrt(4 * 0.25 / 3) = sqrt(1/3) -> +-0.866025
    # group [1, 2, 3]-like in a second row is not allowed (same G per row), so [0, 1, 2, 5]:
    # mean 2, sample std sqrt((4 + 1 + 0 + 9) / 3) = sqrt(14/3) = 2.160247
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 2.0, 5.0]], dtype=F64)
    advantages = group_advantages(rewards)
    half = 0.5 / (math.sqrt(1 / 3) + 1e-6)
    assert advantages[0].tolist() == pytest.approx([half, -half, -half, half], abs=1e-12)
    std = math.sqrt(14 / 3) + 1e-6
    assert advantages[1].tolist() == pytest.approx([-2 / std, -1 / std, 0.0, 3 / std], abs=1e-12)
    assert advantages.sum(dim=1).abs().max() < 1e-12


def test_equal_rewards_give_zero_advantages_without_nan():
    advantages = group_advantages(torch.full((3, 8), 0.7))
    assert torch.equal(advantages, torch.zeros(3, 8))
    assert group_advantages(torch.tensor([[1, 0]])).dtype == torch.float32


@pytest.mark.parametrize(
    ("rewards", "message"),
    [
        (torch.zeros(4), "num_prompts, group_size"),
        (torch.zeros(4, 1), "group_size >= 2"),
        (torch.tensor([[0.0, float("nan")]]), "finite"),
    ],
)
def test_bad_rewards_are_errors(rewards, message):
    with pytest.raises(ValueError, match=message):
        group_advantages(rewards)


def test_ratio_one_gives_minus_the_mean_advantage_and_its_gradient():
    # ratio 1 everywhere: per-token loss = -A_i, per-sequence mean = -A_i, loss = -mean(A)
    old = torch.log(torch.tensor([[0.5, 0.2, 0.9], [0.1, 0.3, 0.4], [0.7, 0.6, 0.2]], dtype=F64))
    logp = old.clone().requires_grad_(True)
    advantages = torch.tensor([1.0, -0.5, 2.0], dtype=F64)
    completion = torch.tensor([[True, True, False], [True, True, True], [False, True, False]])
    result = grpo_loss(logp, old, advantages, completion)
    assert result.loss.item() == pytest.approx(-2.5 / 3)
    assert result.clipped_fraction.item() == 0.0 and result.mean_ratio.item() == pytest.approx(1)
    result.loss.backward()
    # d loss / d logp_t = -A_i ratio / len_i / B for completion tokens, 0 elsewhere
    expected = torch.tensor(
        [[-1 / 2 / 3, -1 / 2 / 3, 0.0], [0.5 / 3 / 3] * 3, [0.0, -2 / 1 / 3, 0.0]], dtype=F64
    )
    assert torch.allclose(logp.grad, expected)


def test_clipping_by_hand():
    # one token per sequence, eps_low 0.2, eps_high 0.3 -> ratio clipped to [0.8, 1.3]
    # A=+1, ratio 1.5: -min(1.5, 1.3) = -1.3 (clipped, no gradient)
    # A=-1, ratio 0.5: -min(-0.5, -0.8) = 0.8 (clipped, no gradient)
    # A=+1, ratio 0.5: -min(0.5, 0.8) = -0.5 (unclipped)
    # A=-1, ratio 1.5: -min(-1.5, -1.3) = 1.5 (unclipped, the pessimistic side)
    # loss = (-1.3 + 0.8 - 0.5 + 1.5) / 4 = 0.125; clipped fraction 2/4
    ratios = torch.tensor([[1.5], [0.5], [0.5], [1.5]], dtype=F64)
    old = torch.log(torch.full((4, 1), 0.4, dtype=F64))
    logp = (old + torch.log(ratios)).requires_grad_(True)
    advantages = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=F64)
    result = grpo_loss(logp, old, advantages, torch.ones(4, 1, dtype=torch.bool), 0.2, 0.3)
    assert result.loss.item() == pytest.approx(0.125)
    assert result.clipped_fraction.item() == pytest.approx(0.5)
    assert result.mean_ratio.item() == pytest.approx(1.0)
    result.loss.backward()
    # gradient of -ratio * A / 4 w.r.t. logp is -ratio * A / 4 on unclipped tokens
    assert logp.grad.flatten().tolist() == pytest.approx([0.0, 0.0, -0.5 / 4, 1.5 / 4])


def test_normalisation_is_per_sequence_then_over_sequences():
    # ratio 1, per-token advantages: seq 1 [1, 3] -> mean loss -2; seq 2 [1, 1, 1, 1] -> -1;
    # loss = -1.5 (a mean over all 6 tokens would give -8/6). A sequence with no completion
    # tokens (row 3) is left out of the mean.
    logp = torch.zeros(3, 4, dtype=F64)
    advantages = torch.tensor([[1, 3, 9, 9], [1, 1, 1, 1], [5, 5, 5, 5]], dtype=F64)
    completion = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=torch.bool)
    assert grpo_loss(logp, logp, advantages, completion).loss.item() == pytest.approx(-1.5)
    nothing = torch.zeros(3, 4, dtype=torch.bool)
    values = torch.ones(3, 4, requires_grad=True)
    empty = masked_sequence_mean(values, nothing)
    assert empty.item() == 0.0 and empty.requires_grad


def test_k3_by_hand():
    # policy 0.5, reference 0.25: d = log 0.25 - log 0.5 = -log 2; k3 = 0.5 + log 2 - 1
    logp, ref = torch.log(torch.tensor([0.5, 0.3])), torch.log(torch.tensor([0.25, 0.3]))
    assert k3_kl(logp, ref).tolist() == pytest.approx([math.log(2) - 0.5, 0.0], abs=1e-7)
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, generator=generator), torch.randn(1000, generator=generator)
    assert (k3_kl(a, b) >= 0).all() and (k3_kl(a, b) > 0).all()
    assert torch.equal(k3_kl(a, a), torch.zeros(1000))
    assert torch.isfinite(k3_kl(torch.tensor([0.0]), torch.tensor([-1e4]))).all()


def test_k3_estimates_the_kl_to_the_reference():
    # tokens sampled from p: mean k3 -> KL(p || ref) = sum p log(p / ref)
    p, ref = torch.tensor([0.7, 0.2, 0.1], dtype=F64), torch.tensor([0.2, 0.3, 0.5], dtype=F64)
    exact = float((p * (p / ref).log()).sum())
    generator = torch.Generator().manual_seed(0)
    tokens = torch.multinomial(p, 200_000, replacement=True, generator=generator)
    estimate = k3_kl(p.log()[tokens], ref.log()[tokens]).mean().item()
    assert estimate == pytest.approx(exact, rel=0.02)


def test_kl_penalty_enters_the_loss():
    logp = torch.log(torch.tensor([[0.5, 0.5]], dtype=F64))
    ref = torch.log(torch.tensor([[0.25, 0.5]], dtype=F64))
    completion = torch.ones(1, 2, dtype=torch.bool)
    result = grpo_loss(
        logp, logp, torch.zeros(1, dtype=F64), completion, ref_logp=ref, kl_coef=0.01
    )
    kl = (math.log(2) - 0.5) / 2  # the mean of the two tokens' k3 (0.193147 and 0)
    assert result.kl.item() == pytest.approx(kl)
    assert result.loss.item() == pytest.approx(0.01 * kl)
    assert result.policy_loss.item() == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"old_logp": torch.zeros(2, 4)}, "old_logp"),
        ({"completion_tokens": torch.ones(2, 3)}, "must be bool"),
        ({"advantages": torch.zeros(3)}, "advantages must be"),
        ({"kl_coef": 0.1}, "needs ref_logp"),
        ({"kl_coef": -1.0}, "kl_coef"),
        ({"eps_low": 1.0}, "eps_low"),
    ],
)
def test_bad_loss_inputs_are_errors(kwargs, message):
    arguments = {
        "logp": torch.zeros(2, 3),
        "old_logp": torch.zeros(2, 3),
        "advantages": torch.zeros(2),
        "completion_tokens": torch.ones(2, 3, dtype=torch.bool),
    }
    with pytest.raises(ValueError, match=message):
        grpo_loss(**{**arguments, **kwargs})
