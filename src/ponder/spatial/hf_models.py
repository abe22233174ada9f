"""Load a local Hugging Face model (Qwen2-VL / Qwen2.5-VL, or a text-only causal LM) and turn
(prompt, image) pairs into model inputs. Imported only by the `hf:` adapter and GRPO training:
it imports torch and transformers.

Inputs are assembled as Qwen's processor does, from the tokenizer, the image processor and the
chat template (so no video processor, hence no torchvision, is needed): the chat template
renders one user turn `[image, text]` and opens the assistant turn; the one `<|image_pad|>`
is repeated once per merged image patch (`prod(image_grid_thw) / merge_size**2`); sequences
are left-padded so that generation continues every row at the same position.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import torch

IMAGE_PAD = "<|image_pad|>"
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choices: auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def _chat_template(folder: Path, tokenizer) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.chat_template
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text()
    if (folder / "chat_template.json").is_file():
        return json.loads((folder / "chat_template.json").read_text())["chat_template"]
    raise ValueError(f"{folder} has no chat template (tokenizer, chat_template.jinja or .json)")


@dataclass
class HFModel:
    model: torch.nn.Module
    tokenizer: object
    image_processor: object | None  # None for a text-only model
    chat_template: str
    device: torch.device

    @property
    def is_vision(self) -> bool:
        return self.image_processor is not None

    def chat_text(self, prompt: str, with_image: bool) -> str:
        content = [{"type": "image"}] if with_image else []
        content.append({"type": "text", "text": prompt})
        messages = [{"role": "user", "content": content}]
        return self.tokenizer.apply_chat_template(
            messages, chat_template=self.chat_template, tokenize=False, add_generation_prompt=True
        )

    def encode(self, prompts: list[str], images: list | None = None) -> dict[str, torch.Tensor]:
        """Left-padded model inputs for prompts (and one PIL image each for vision models)."""
        with_image = self.is_vision and images is not None
        texts = [self.chat_text(p, with_image) for p in prompts]
        inputs: dict[str, torch.Tensor] = {}
        if with_image:
            vision = self.image_processor(images=images, return_tensors="pt")
            merge = self.image_processor.merge_size**2
            texts = [
                t.replace(IMAGE_PAD, IMAGE_PAD * int(grid.prod() // merge), 1)
                for t, grid in zip(texts, vision["image_grid_thw"])
            ]
            inputs |= {"pixel_values": vision["pixel_values"]}
            inputs |= {"image_grid_thw": vision["image_grid_thw"]}
        self.tokenizer.padding_side = "left"
        tokens = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        inputs |= {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
        if with_image and "mm_token_type_ids" in inspect.signature(self.model.forward).parameters:
            image_id = self.tokenizer.convert_tokens_to_ids(IMAGE_PAD)
            inputs["mm_token_type_ids"] = (tokens["input_ids"] == image_id).long()
        return {k: v.to(self.device) for k, v in inputs.items()}

    def stop_token_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("<|im_end|>")}
        return sorted(i for i in ids if isinstance(i, int) and i >= 0)


def load_hf_model(
    path: str | Path, dtype: str = "auto", device: str = "auto", train: bool = False
) -> HFModel:
    """A local model folder -> HFModel (never downloads: `local_files_only=True`)."""
    from transformers import (
        AutoConfig,
        AutoImageProcessor,
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
        AutoTokenizer,
    )

    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise ValueError(f"no Hugging Face model folder at {folder} (config.json missing)")
    target = pick_device(device)
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    vision = hasattr(config, "vision_config")
    model_class = AutoModelForImageTextToText if vision else AutoModelForCausalLM
    model = model_class.from_pretrained(
        folder, local_files_only=True, dtype=pick_dtype(dtype, target)
    ).to(target)
    model.train(train)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    image_processor = None
    if vision:
        image_processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    return HFModel(model, tokenizer, image_processor, _chat_template(folder, tokenizer), target)
