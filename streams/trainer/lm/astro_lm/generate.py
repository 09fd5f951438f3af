"""Batched generation of assistant turns with a trained model (greedy or sampled), on CPU."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .chat import ChatTokenizer


@dataclass(frozen=True)
class Sample:
    """One generated assistant turn: its text, token ids, and whether it hit the length limit."""

    text: str
    ids: list[int]
    truncated: bool


@torch.no_grad()
def generate(model: torch.nn.Module, tokenizer: ChatTokenizer, prompts: list[str], *, n: int = 1, temperature: float = 0.0, max_new_tokens: int = 384, batch_size: int = 32, seed: int = 1) -> list[list[Sample]]:
    """`n` completions per prompt (temperature 0 = greedy, then n must be 1); stops at `<|eot_id|>`."""
    if temperature <= 0 and n != 1:
        raise ValueError("greedy decoding gives one completion per prompt")
    model.eval()
    pad = int(model.config.pad_token_id)
    out: list[list[Sample]] = []
    torch.manual_seed(seed)
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        prefixes = [tokenizer.generation_prefix(p) for p in chunk]
        width = max(len(p) for p in prefixes)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, p in enumerate(prefixes):
            ids[row, width - len(p) :] = torch.tensor(p)
            mask[row, width - len(p) :] = 1
        kwargs = {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0} if temperature > 0 else {"do_sample": False}
        generated = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, num_return_sequences=n, eos_token_id=tokenizer.eot_id, pad_token_id=pad, **kwargs)
        new = generated[:, width:].tolist()
        for row in range(len(chunk)):
            samples = []
            for k in range(n):
                seq = new[row * n + k]
                done = tokenizer.eot_id in seq
                seq = seq[: seq.index(tokenizer.eot_id)] if done else [t for t in seq if t != pad]
                samples.append(Sample(tokenizer.decode(seq), seq, truncated=not done))
            out.append(samples)
    return out
