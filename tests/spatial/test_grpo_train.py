"""GRPO fine-tuning: a tiny text policy learns a rewarded letter; a tiny random Qwen2-VL trains
end to end (finite loss, weights change, KL to the reference, safetensors round trip)."""

import json

import pytest

pytest.importorskip("transformers")

import torch
from safetensors.torch import load_file

from ponder.spatial.cli import main
from ponder.spatial.export import export_dataset
from ponder.spatial.grpo_train import (
    GRPOConfig,
    grpo_train,
    sample_group,
    save_policy,
)
from ponder.spatial.hf_models import load_hf_model
from ponder.spatial.tiny_models import save_tiny_causal_lm, save_tiny_qwen2_vl
from ponder.spatial.train_data import REWARDS, TrainExample, load_train_examples

ALPHABET = "ABCD abcdeimnorstuwy()?:\n"  # a 33-token vocabulary: 'B' starts at ~1/33


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run far faster on one thread than on contended cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def letter_b_share(text, example):
    """The toy reward: the share of the 4 generated characters that are the letter B."""
    return text.count("B") / 4


def mean_toy_reward(policy, example, n=256):
    torch.manual_seed(123)
    rollout = sample_group(policy, example, GRPOConfig(group_size=n, max_new_tokens=4))
    return sum(letter_b_share(t, example) for t in rollout.texts) / n


def test_text_policy_learns_the_rewarded_letter(tmp_path):
    folder = save_tiny_causal_lm(tmp_path / "lm", seed=0, alphabet=ALPHABET)
    policy = load_hf_model(folder, device="cpu", train=True)
    example = TrainExample("Which one? (A) yes (B) no", ("yes", "no"), "B")
    before = mean_toy_reward(policy, example)
    config = GRPOConfig(group_size=8, steps=25, lr=1e-2, kl=0.0, max_new_tokens=4)
    logs = grpo_train(policy, [example], letter_b_share, config)
    after = mean_toy_reward(policy, example)
    assert before < 0.1 and after > 0.6, (before, after)
    assert sum(x.mean_reward for x in logs[-5:]) > sum(x.mean_reward for x in logs[:5]) + 1.0


def test_tiny_qwen2_vl_trains_end_to_end_and_saves_safetensors(tmp_path):
    folder = save_tiny_qwen2_vl(tmp_path / "vl", seed=1)
    data = tmp_path / "set"
    export_dataset(data, 2, families=["3dsr_height"], seed=4)
    examples = load_train_examples(data, "multiple_choice")
    assert examples[0].image_path and examples[0].gold_scene["objects"]
    policy = load_hf_model(folder, device="cpu", train=True)
    reference = load_hf_model(folder, device="cpu")
    start = {k: v.clone() for k, v in policy.model.state_dict().items()}

    def reward(text, example):  # dense enough for random text: the share of letters A-D
        return sum(c in "ABCD" for c in text) / max(1, len(text))

    config = GRPOConfig(group_size=4, steps=3, lr=1e-3, kl=0.05, iterations=2, max_new_tokens=6)
    logs = grpo_train(policy, examples, reward, config, reference)
    assert all(torch.isfinite(torch.tensor(x.loss)) for x in logs)
    assert any(x.kl > 0 for x in logs) and all(x.mean_completion_tokens > 0 for x in logs)
    changed = [k for k, v in policy.model.state_dict().items() if not torch.equal(v, start[k])]
    assert any("visual" in k for k in changed) and any("lm_head" in k for k in changed)
    out = save_policy(policy, tmp_path / "out", logs, {"reward": "toy"})
    saved = load_file(out / "model.safetensors")
    key = next(k for k in saved if "lm_head" in k)
    assert torch.equal(saved[key], policy.model.state_dict()[key])
    lines = (out / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3]
    again = load_hf_model(out, device="cpu")
    assert again.is_vision and again.encode(["hi"], None)["input_ids"].shape[0] == 1


def test_train_grpo_cli_runs_and_names_bad_rewards(tmp_path, capsys):
    folder = save_tiny_qwen2_vl(tmp_path / "vl", seed=2)
    data = tmp_path / "set"
    export_dataset(data, 1, families=["cvbench_depth"], seed=5)
    args = ["train-grpo", "--model", str(folder), "--data", str(data), "--group-size", "2"]
    args += ["--steps", "1", "--max-new-tokens", "4", "--prompt", "multiple_choice", "--lr", "1e-4"]
    assert main([*args, "--out", str(tmp_path / "out"), "--reward", "sparse"]) == 0
    assert "step 1/1 reward" in capsys.readouterr().out
    assert (tmp_path / "out" / "model.safetensors").is_file()
    settings = json.loads((tmp_path / "out" / "grpo_settings.json").read_text())
    assert settings["reward"] == "sparse" and settings["group_size"] == 2
    assert main([*args, "--out", str(tmp_path / "o2"), "--reward", "nope"]) == 2
    assert "unknown reward 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("family", ["cvbench_depth", "3dsr_orientation_viewpoint"])
def test_rewards_score_a_perfect_spatialthinker_completion(tmp_path, family):
    data = tmp_path / "set"
    export_dataset(data, 1, families=[family], seed=6)
    example = load_train_examples(data, "spatialthinker")[0]
    letter = example.answer
    text = example.options["ABCD".index(letter)]
    scene = json.dumps(example.gold_scene)
    perfect = (
        f"<observe>two objects</observe> <scene>{scene}</scene> "
        f"<think>compare depths</think> <answer>({letter}) {text}</answer>"
    )
    assert REWARDS["total"](perfect, example) == pytest.approx(1.0)
    assert REWARDS["accuracy"](perfect, example) == 1.0
    wrong = perfect.replace(f"({letter})", "(A)" if letter == "B" else "(B)")
    assert REWARDS["total"](wrong, example) < 0.5
    assert REWARDS["sparse"]("no tags at all", example) == 0.0


def test_config_errors_name_the_value():
    with pytest.raises(ValueError, match="group_size must be at least 2, got 1"):
        GRPOConfig(group_size=1)
    with pytest.raises(ValueError, match="steps must be at least 1, got 0"):
        GRPOConfig(steps=0)
