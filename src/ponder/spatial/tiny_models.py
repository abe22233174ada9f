"""Tiny, randomly initialised Hugging Face models built offline, for tests and smoke runs.

Nothing is downloaded: the tokenizer is byte-level with no merges (256 byte symbols plus the
Qwen chat and vision special tokens), built with the `tokenizers` library; the models are
built from configs with tiny sizes. `save_tiny_qwen2_vl(folder)` writes a Qwen2-VL folder
(weights, tokenizer with a Qwen-style chat template, a PIL image processor with small images)
that `hf:FOLDER` and `train-grpo --model FOLDER` load like a real checkpoint;
`save_tiny_causal_lm(folder)` writes a text-only Qwen2 causal LM with the same tokenizer.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen's chat layout; image parts become <|vision_start|><|image_pad|><|vision_end|>
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer(alphabet: str | None = None):
    """A byte-level `PreTrainedTokenizerFast` with Qwen's special tokens and no merges: one
    token per byte (263 tokens), or, with `alphabet` (ASCII), one token per character of the
    alphabet (other bytes become `<unk>` or are dropped, depending on the loading class)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    if alphabet is not None:  # the byte-level symbols of the alphabet's characters only
        to_symbol = _byte_symbols()
        byte_symbols = ["<unk>", *dict.fromkeys(to_symbol[b] for b in alphabet.encode())]
    vocab = {symbol: i for i, symbol in enumerate(byte_symbols)}
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
    unknown = None if alphabet is None else "<unk>"
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=unknown))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _byte_symbols() -> dict[int, str]:
    """GPT-2's byte -> printable symbol table (the symbols byte-level tokenizers use)."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    extra = [b for b in range(256) if b not in printable]
    table = {b: chr(b) for b in printable}
    table |= {b: chr(256 + k) for k, b in enumerate(extra)}
    return table


def _text_sizes(tokenizer, hidden: int, layers: int) -> dict:
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "bos_token_id": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        "eos_token_id": tokenizer.convert_tokens_to_ids("<|im_end|>"),
        "pad_token_id": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    }


def save_tiny_qwen2_vl(
    folder: str | Path, seed: int = 0, hidden: int = 32, layers: int = 2, max_pixels: int = 12544
) -> Path:
    """A random Qwen2-VL (about 0.1 M parameters) with tokenizer and image processor."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    tokenizer = tiny_tokenizer()
    head_dim = hidden // 4
    text = _text_sizes(tokenizer, hidden, layers)
    text["rope_parameters"] = {
        "rope_type": "default",
        "rope_theta": 10000.0,
        "mrope_section": [head_dim // 8, head_dim // 8, head_dim // 2 - head_dim // 4],
    }
    config = Qwen2VLConfig(
        text_config=text,
        vision_config={
            "depth": 1,
            "embed_dim": hidden,
            "hidden_size": hidden,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        image_token_id=tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tokenizer.convert_tokens_to_ids("<|vision_end|>"),
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config)
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    image_processor = Qwen2VLImageProcessorPil(min_pixels=28 * 28 * 4, max_pixels=max_pixels)
    image_processor.save_pretrained(folder)
    return folder


def save_tiny_causal_lm(
    folder: str | Path,
    seed: int = 0,
    hidden: int = 32,
    layers: int = 2,
    alphabet: str | None = None,
) -> Path:
    """A random text-only Qwen2 causal LM with the tiny tokenizer (see `tiny_tokenizer`)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = tiny_tokenizer(alphabet)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(Qwen2Config(**_text_sizes(tokenizer, hidden, layers)))
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
