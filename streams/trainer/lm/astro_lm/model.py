"""The language model: a small Llama (transformers' LlamaForCausalLM), saved as a Hugging Face directory.

A model directory holds `config.json`, `model.safetensors`, the tokenizer files (`chat.py`) and
`astro_lm.json` (what trained it: data, token counts, steps, metrics), so `convert_hf_to_gguf.py`
and Hugging Face tools read it as any Llama checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
from transformers.utils import logging as hf_logging

# Progress bars of shard writing would interleave with our progress lines.
hf_logging.disable_progress_bar()

from .chat import ChatTokenizer
from .errors import bad_input

META_FILE = "astro_lm.json"


@dataclass(frozen=True)
class ModelSize:
    """Width (`hidden`), depth (`layers`), attention heads, MLP width and longest sequence in tokens."""

    hidden: int = 128
    layers: int = 4
    heads: int = 4
    intermediate: int = 512
    max_positions: int = 2048


def new_model(tokenizer: ChatTokenizer, size: ModelSize, seed: int) -> LlamaForCausalLM:
    """A freshly initialised Llama sized `size` over the tokenizer's vocabulary (deterministic given `seed`)."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=size.hidden,
        intermediate_size=size.intermediate,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        num_key_value_heads=size.heads,
        max_position_embeddings=size.max_positions,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_id,
        eos_token_id=tokenizer.eot_id,
        pad_token_id=tokenizer.special["<|end_of_text|>"],
    )
    return LlamaForCausalLM(config)


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_model(model: LlamaForCausalLM, tokenizer: ChatTokenizer, directory: Path, meta: dict) -> None:
    """Writes the model, tokenizer and `astro_lm.json`; the directory is complete when this returns."""
    directory.mkdir(parents=True, exist_ok=True)
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_id, eos_token_id=tokenizer.eot_id, pad_token_id=model.config.pad_token_id)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save(directory)
    (directory / META_FILE).write_text(json.dumps({"parameters": parameter_count(model), **meta}, indent=1, default=_jsonable))


def _jsonable(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[arg-type]
    return str(value)


def load_model(directory: Path) -> tuple[LlamaForCausalLM, ChatTokenizer, dict]:
    """Model, tokenizer and metadata of a directory written by `save_model` (clear error when it is not one)."""
    if not (directory / "config.json").is_file():
        raise bad_input(f"{directory}: not a model directory (no config.json)")
    try:
        tokenizer = ChatTokenizer.load(directory)
    except FileNotFoundError as error:
        raise bad_input(str(error)) from error
    model = LlamaForCausalLM.from_pretrained(directory, dtype=torch.float32)
    meta_path = directory / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return model, tokenizer, meta
