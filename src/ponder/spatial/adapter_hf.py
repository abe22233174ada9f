"""`hf:PATH`: a local Hugging Face vision-language model (Qwen2-VL / Qwen2.5-VL family).

Greedy generation of at most `max_new_tokens` tokens per question, a batch at a time
(left-padded); the output is the decoded new tokens without special tokens. torch and
transformers are imported here only, when an `hf:` model is asked for.
"""

from __future__ import annotations

from PIL import Image

from ponder.spatial.adapter_base import AdapterError, AdapterOptions, AnswerError, Query


class HFAdapter:
    def __init__(self, path: str, options: AdapterOptions):
        try:
            from ponder.spatial.hf_models import load_hf_model
        except ImportError as error:
            raise AdapterError(
                f"hf: models need torch and transformers (pip install 'ponder[vlm]'): {error}"
            ) from error
        try:
            self.hf = load_hf_model(path, options.dtype, options.device)
        except (OSError, ValueError) as error:
            raise AdapterError(f"cannot load hf model {path!r}: {error}") from error
        if not self.hf.is_vision:
            raise AdapterError(f"{path!r} is a text-only model; hf: needs a vision-language model")
        self.max_new_tokens = options.max_new_tokens

    @classmethod
    def from_spec(cls, argument: str, options: AdapterOptions) -> HFAdapter:
        return cls(argument, options)

    def answer_batch(self, queries: list[Query]) -> list[str | AnswerError]:
        import torch

        images = []
        for query in queries:
            with Image.open(query.image_path) as image:
                images.append(image.convert("RGB"))
        inputs = self.hf.encode([q.prompt for q in queries], images)
        with torch.no_grad():
            generated = self.hf.model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                eos_token_id=self.hf.stop_token_ids(),
                pad_token_id=self.hf.tokenizer.pad_token_id,
            )
        new_tokens = generated[:, inputs["input_ids"].shape[1] :]  # [B, T_new]
        return list(self.hf.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
