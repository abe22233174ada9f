"""GRPO fine-tuning of a Hugging Face model on spatial questions: a small loop, top to bottom.

One step (REFERENCE 2.1; the math is `ponder.spatial.grpo`):
  1. take `batch_size` prompts (questions in a shuffled cycle);
  2. sample G = `group_size` completions per prompt from the current policy (temperature,
     no top-k / top-p, so the sampled tokens follow the policy whose log-probs are trained);
  3. score each completion with the chosen reward (`REWARDS`, from `ponder.spatial.rewards`);
  4. advantages A_i = (r_i - mean_group) / (std_group + 1e-6), broadcast to every token;
  5. log-probs of the sampled tokens under the sampling policy (old), the reference (frozen
     copy of the starting weights, only when kl > 0) and, with gradients, the policy; loss =
     clipped policy loss (clip 1 - eps_low, 1 + eps_high) + kl * k3 KL, averaged per sequence
     then over sequences; `iterations` updates per batch (with 1, ratio = 1 and clipping is idle,
     as in TRL's default); AdamW, gradient norm clipped at 1.
The result is saved with `save_pretrained` (safetensors) beside the tokenizer, the image
processor and `train_log.jsonl` (one `StepLog` per step).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ponder.spatial.grpo import group_advantages, grpo_loss
from ponder.spatial.hf_models import HFModel, load_hf_model
from ponder.spatial.train_data import REWARDS, TrainExample, load_train_examples

RewardFn = Callable[[str, TrainExample], float]


@dataclass(frozen=True)
class GRPOConfig:
    group_size: int = 8  # G completions per prompt
    batch_size: int = 1  # prompts per step
    steps: int = 75
    lr: float = 1e-6
    kl: float = 0.01  # weight of the k3 KL to the reference; 0: no reference model
    clip_low: float = 0.2
    clip_high: float = 0.3
    iterations: int = 1  # policy updates per sampled batch
    max_new_tokens: int = 512
    temperature: float = 1.0
    max_grad_norm: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.group_size < 2:
            raise ValueError(f"group_size must be at least 2, got {self.group_size}")
        for name in ("batch_size", "steps", "iterations", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.kl < 0 or self.temperature <= 0:
            raise ValueError(f"need lr > 0, kl >= 0, temperature > 0; got {self}")


@dataclass(frozen=True)
class StepLog:
    step: int
    mean_reward: float
    reward_std: float
    loss: float
    policy_loss: float
    kl: float
    clipped_fraction: float
    mean_completion_tokens: float
    seconds: float


@dataclass(frozen=True)
class Rollout:
    """G sampled completions of one prompt and everything the loss needs about them."""

    inputs: dict[str, torch.Tensor]  # the prompt's model inputs repeated G times
    completion: torch.Tensor  # [G, C] sampled token ids (pad after the stop token)
    completion_tokens: torch.Tensor  # [G, C] bool: generated tokens up to and with the stop
    texts: list[str] = field(default_factory=list)


def _images(example: TrainExample) -> list | None:
    if not example.image_path:
        return None
    from PIL import Image

    with Image.open(example.image_path) as image:
        return [image.convert("RGB")]


def _repeat(inputs: dict[str, torch.Tensor], g: int) -> dict[str, torch.Tensor]:
    """Prompt inputs of batch 1 -> G copies; pixel rows are per image patch, so they repeat
    as a block."""
    return {k: v.repeat(g, *([1] * (v.ndim - 1))) for k, v in inputs.items()}


def sample_group(policy: HFModel, example: TrainExample, config: GRPOConfig) -> Rollout:
    inputs = policy.encode([example.prompt], _images(example))
    stops = policy.stop_token_ids()
    with torch.no_grad():
        sequences = policy.model.generate(
            **inputs,
            do_sample=True,
            temperature=config.temperature,
            top_k=0,
            top_p=1.0,
            max_new_tokens=config.max_new_tokens,
            num_return_sequences=config.group_size,
            eos_token_id=stops,
            pad_token_id=policy.tokenizer.pad_token_id,
        )
    completion = sequences[:, inputs["input_ids"].shape[1] :]  # [G, C]
    is_stop = torch.isin(completion, torch.tensor(stops, device=completion.device))
    after_stop = (is_stop.cumsum(dim=1) - is_stop.long()) > 0  # tokens after the first stop
    texts = policy.tokenizer.batch_decode(
        completion.masked_fill(after_stop, stops[0]), skip_special_tokens=True
    )
    return Rollout(_repeat(inputs, config.group_size), completion, ~after_stop, texts)


def completion_logp(model, rollout: Rollout) -> torch.Tensor:
    """Log-probs [G, C] of the sampled completion tokens under `model`."""
    prompt_len = rollout.inputs["input_ids"].shape[1]
    inputs = dict(rollout.inputs)
    inputs["input_ids"] = torch.cat([inputs["input_ids"], rollout.completion], dim=1)
    mask = rollout.completion_tokens.to(inputs["attention_mask"].dtype)
    inputs["attention_mask"] = torch.cat([inputs["attention_mask"], mask], dim=1)
    if "mm_token_type_ids" in inputs:
        zeros = torch.zeros_like(rollout.completion)
        inputs["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"], zeros], dim=1)
    logits = model(**inputs).logits[:, prompt_len - 1 : -1]  # [G, C, V]: predicts each token
    logp = torch.log_softmax(logits.float(), dim=-1)
    return logp.gather(-1, rollout.completion.unsqueeze(-1)).squeeze(-1)  # [G, C]


def grpo_train(
    policy: HFModel,
    examples: list[TrainExample],
    reward_fn: RewardFn,
    config: GRPOConfig,
    reference: HFModel | None = None,
    log: Callable[[StepLog], None] | None = None,
) -> list[StepLog]:
    """Run `config.steps` GRPO steps on `policy` in place; returns one StepLog per step."""
    if not examples:
        raise ValueError("no training examples")
    if config.kl > 0 and reference is None:
        raise ValueError("kl > 0 needs a reference model")
    torch.manual_seed(config.seed)
    order_rng = random.Random(config.seed)
    order: list[int] = []
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=config.lr, weight_decay=0.0)
    logs = []
    for step in range(1, config.steps + 1):
        started = time.perf_counter()
        batch = []
        for _ in range(config.batch_size):
            if not order:
                order = order_rng.sample(range(len(examples)), len(examples))
            batch.append(examples[order.pop()])
        policy.model.eval()
        rollouts = [sample_group(policy, example, config) for example in batch]
        rewards = torch.tensor(
            [[reward_fn(t, ex) for t in r.texts] for r, ex in zip(rollouts, batch)],
            dtype=torch.float32,
        )  # [P, G]
        advantages = group_advantages(rewards).to(policy.device)  # [P, G]
        with torch.no_grad():
            old = [completion_logp(policy.model, r) for r in rollouts]
            ref = [completion_logp(reference.model, r) if reference else None for r in rollouts]
        policy.model.train()
        for _ in range(config.iterations):
            optimizer.zero_grad(set_to_none=True)
            parts = []
            for p, rollout in enumerate(rollouts):
                result = grpo_loss(
                    completion_logp(policy.model, rollout),
                    old[p],
                    advantages[p],
                    rollout.completion_tokens,
                    config.clip_low,
                    config.clip_high,
                    ref[p],
                    config.kl,
                )
                (result.loss / len(rollouts)).backward()  # accumulate: one prompt at a time
                parts.append(result)
            torch.nn.utils.clip_grad_norm_(policy.model.parameters(), config.max_grad_norm)
            optimizer.step()
        entry = StepLog(
            step=step,
            mean_reward=float(rewards.mean()),
            reward_std=float(rewards.std(dim=1).mean()),
            loss=_mean(float(x.loss.detach()) for x in parts),
            policy_loss=_mean(float(x.policy_loss) for x in parts),
            kl=_mean(float(x.kl) for x in parts),
            clipped_fraction=_mean(float(x.clipped_fraction) for x in parts),
            mean_completion_tokens=_mean(
                float(r.completion_tokens.sum(1).float().mean()) for r in rollouts
            ),
            seconds=time.perf_counter() - started,
        )
        if not math.isfinite(entry.loss):
            raise FloatingPointError(f"non-finite GRPO loss at step {step}: {entry}")
        logs.append(entry)
        if log is not None:
            log(entry)
    return logs


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def save_policy(policy: HFModel, out_dir: str | Path, logs: list[StepLog], settings: dict) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    policy.model.save_pretrained(out, safe_serialization=True)
    policy.tokenizer.save_pretrained(out)
    if policy.image_processor is not None:
        policy.image_processor.save_pretrained(out)
    if not getattr(policy.tokenizer, "chat_template", None):
        (out / "chat_template.jinja").write_text(policy.chat_template)
    (out / "train_log.jsonl").write_text("".join(json.dumps(asdict(x)) + "\n" for x in logs))
    (out / "grpo_settings.json").write_text(json.dumps(settings, indent=2))
    return out


def run_from_args(args) -> int:
    """`ponder spatial train-grpo ...` (arguments defined in `ponder.spatial.cli`)."""
    import sys

    if args.reward not in REWARDS:
        print(
            f"error: unknown reward {args.reward!r}; choices: {', '.join(REWARDS)}", file=sys.stderr
        )
        return 2
    config = GRPOConfig(
        group_size=args.group_size, batch_size=args.batch_size, steps=args.steps, lr=args.lr,
        kl=args.kl, clip_low=args.clip_low, clip_high=args.clip_high, iterations=args.iterations,
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed,
    )  # fmt: skip
    try:
        examples = load_train_examples(args.data, args.prompt)
        policy = load_hf_model(args.model, args.dtype, args.device, train=True)
        reference = load_hf_model(args.model, args.dtype, args.device) if config.kl > 0 else None
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    def show(entry: StepLog) -> None:
        print(
            f"step {entry.step}/{config.steps} reward {entry.mean_reward:.3f} "
            f"loss {entry.loss:+.4f} kl {entry.kl:.4f} ({entry.seconds:.1f} s)",
            flush=True,
        )

    logs = grpo_train(policy, examples, REWARDS[args.reward], config, reference, show)
    settings = {"model": args.model, "data": args.data, "reward": args.reward}
    settings |= {"prompt": args.prompt, **asdict(config)}
    out = save_policy(policy, args.out, logs, settings)
    print(f"saved the fine-tuned model to {out}")
    return 0
