"""GRPO math in plain torch: group advantages, the clipped policy loss, the k3 KL estimator.

Shapes: P prompts, G completions per prompt (the group), B = P * G sequences, T tokens.

- ``group_advantages``: A_i = (r_i - mean_group) / (std_group + eps), rewards [P, G] -> [P, G].
  The std is the sample std (Bessel-corrected, torch's default, as TRL and verl use), so a group
  needs at least 2 completions. A group whose rewards are all equal gets exactly zero advantages
  (computed in float64, such a group is also set to zero explicitly).
- ``grpo_loss``: per token, ratio = exp(logp - old_logp),
  loss_t = -min(ratio A, clip(ratio, 1 - eps_low, 1 + eps_high) A) + kl_coef k3_t,
  with the sequence's advantage broadcast to every token. Normalisation (as in the GRPO paper):
  average over the sequence's completion tokens, then over the sequences that have at least one
  completion token. Every sequence thus weighs the same, whatever its length.
- ``k3_kl``: exp(ref - logp) - (ref - logp) - 1 per token, >= 0, an unbiased low-variance
  estimate of KL(policy || reference) on samples from the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def group_advantages(rewards: Tensor, eps: float = 1e-6) -> Tensor:
    """Group-normalised advantages: (r - mean over the group) / (sample std + eps).

    rewards: [P, G] float, one row per prompt. Returns [P, G].
    """
    if rewards.ndim != 2 or rewards.shape[1] < 2:
        raise ValueError(
            f"rewards must be shaped [num_prompts, group_size >= 2], got {tuple(rewards.shape)}"
        )
    dtype = rewards.dtype if torch.is_floating_point(rewards) else torch.get_default_dtype()
    if not torch.isfinite(rewards).all():
        raise ValueError("rewards must be finite; got NaN or infinity")
    exact = rewards.to(torch.float64)  # float32 rounding in the mean would leak through eps
    mean = exact.mean(dim=1, keepdim=True)  # [P, 1]
    std = exact.std(dim=1, keepdim=True)  # [P, 1], Bessel-corrected
    advantages = (exact - mean) / (std + eps)  # [P, G]
    all_equal = (rewards == rewards[:, :1]).all(dim=1, keepdim=True)  # [P, 1]
    return advantages.masked_fill(all_equal, 0.0).to(dtype)


def k3_kl(logp: Tensor, ref_logp: Tensor, max_log_ratio: float = 20.0) -> Tensor:
    """Per-token k3 estimator exp(d) - d - 1 with d = ref_logp - logp; >= 0, 0 where equal.

    d is clamped to [-max_log_ratio, max_log_ratio] so that a far-off token cannot overflow.
    """
    if logp.shape != ref_logp.shape:
        raise ValueError(f"logp {tuple(logp.shape)} and ref_logp {tuple(ref_logp.shape)} differ")
    log_ratio = (ref_logp - logp).clamp(-max_log_ratio, max_log_ratio)
    return (torch.expm1(log_ratio) - log_ratio).clamp(min=0)  # expm1: exact for small d


@dataclass(frozen=True)
class GRPOLoss:
    """The loss to minimise and what it is made of (all scalars; only ``loss`` has a graph
    worth following). Averages use the same per-sequence-then-batch normalisation."""

    loss: Tensor
    policy_loss: Tensor
    kl: Tensor
    clipped_fraction: Tensor
    mean_ratio: Tensor


def masked_sequence_mean(values: Tensor, completion_tokens: Tensor) -> Tensor:
    """Mean over each sequence's completion tokens, then over sequences that have any.

    values: [B, T]; completion_tokens: [B, T] bool (True = a token the policy generated).
    Returns a scalar; 0 (still attached to the graph) when no sequence has a completion token.
    """
    counted = completion_tokens.to(values.dtype)  # [B, T]
    lengths = counted.sum(dim=1)  # [B]
    per_sequence = (values * counted).sum(dim=1) / lengths.clamp(min=1)  # [B]
    has_tokens = lengths > 0  # [B]
    if not has_tokens.any():
        return (values * 0).sum()
    return per_sequence[has_tokens].mean()


def grpo_loss(
    logp: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    completion_tokens: Tensor,
    eps_low: float = 0.2,
    eps_high: float = 0.3,
    ref_logp: Tensor | None = None,
    kl_coef: float = 0.0,
) -> GRPOLoss:
    """Clipped policy-gradient loss with an optional k3 KL penalty.

    logp: [B, T] log-probs of the sampled tokens under the policy being trained.
    old_logp: [B, T] the same under the policy that sampled them (no gradient taken).
    advantages: [B] one per sequence (broadcast to its tokens), or [B, T] per token.
    completion_tokens: [B, T] bool, True for completion tokens (not prompt, not padding).
    ref_logp: [B, T] under the reference policy, needed when kl_coef > 0.
    """
    if logp.ndim != 2:
        raise ValueError(f"logp must be shaped [B, T], got {tuple(logp.shape)}")
    for name, tensor in (("old_logp", old_logp), ("completion_tokens", completion_tokens)):
        if tensor.shape != logp.shape:
            raise ValueError(f"{name} {tuple(tensor.shape)} must match logp {tuple(logp.shape)}")
    if completion_tokens.dtype != torch.bool:
        raise ValueError(f"completion_tokens must be bool, got {completion_tokens.dtype}")
    if advantages.shape == logp.shape[:1]:
        advantages = advantages[:, None].expand_as(logp)  # [B] -> [B, T]
    elif advantages.shape != logp.shape:
        raise ValueError(
            f"advantages must be [B] or [B, T] with B, T = {tuple(logp.shape)}, "
            f"got {tuple(advantages.shape)}"
        )
    if not (0 <= eps_low < 1 and eps_high >= 0):
        raise ValueError(f"need 0 <= eps_low < 1 and eps_high >= 0, got {eps_low}, {eps_high}")
    if kl_coef < 0:
        raise ValueError(f"kl_coef must be >= 0, got {kl_coef}")
    if kl_coef > 0 and ref_logp is None:
        raise ValueError("kl_coef > 0 needs ref_logp")

    ratio = torch.exp(logp - old_logp.detach())  # [B, T]
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - eps_low, 1 + eps_high) * advantages
    per_token = -torch.minimum(unclipped, clipped)  # [B, T]
    was_clipped = (clipped < unclipped).to(logp.dtype)  # the clip decided the token
    policy = masked_sequence_mean(per_token, completion_tokens)
    if ref_logp is not None:
        kl = masked_sequence_mean(k3_kl(logp, ref_logp.detach()), completion_tokens)
    else:
        kl = torch.zeros((), dtype=logp.dtype, device=logp.device)
    loss = policy + kl_coef * kl if kl_coef > 0 else policy
    with torch.no_grad():
        clipped_fraction = masked_sequence_mean(was_clipped, completion_tokens)
        mean_ratio = masked_sequence_mean(ratio.detach(), completion_tokens)
    return GRPOLoss(loss, policy.detach(), kl.detach(), clipped_fraction, mean_ratio)
