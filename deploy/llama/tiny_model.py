"""A tiny Llama-architecture GGUF for llama-server, made from a text corpus in seconds.

`astro-stream llm up --tiny` runs this with a corpus of Countdown dialogues rendered in the exact
prompt format of the openai policy (Llama-3 chat, `Step k: ...` paragraphs). What it writes:

- a byte-level BPE tokenizer trained on the corpus (tokenizers), with the Llama-3 special tokens
  <|begin_of_text|> <|start_header_id|> <|end_header_id|> <|eot_id|> <|end_of_text|> and the
  Llama-3 chat template, so both /v1/completions (our template) and /v1/chat/completions work;
- a Llama model (2 layers, 128 wide by default) whose token embedding and output matrices are a
  rank-(d-1) factorization of the corpus' smoothed log bigram probabilities, so it writes
  corpus-like text (steps end at blank lines, answers at <|eot_id|>) and its log-probabilities
  differ between continuations; the attention and MLP weights are random and small (they add
  context-dependent noise). It is not trained and solves nothing on purpose: it exists to run a
  real inference engine end to end on a CPU in a test.

usage: python tiny_model.py --corpus corpus.jsonl --out model.gguf [--vocab 1024 --embd 128 --layers 2 --heads 4 --ctx 4096 --seed 0]
The corpus is JSON lines with a "text" field per document.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import gguf
import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]

# Llama 3's chat template, without tools and dates.
LLAMA3_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)


def train_tokenizer(texts: list[str], vocab_size: int) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    # GPT-2's pre-tokenizer regex: llama.cpp applies the same one for tokenizer.ggml.pre = "gpt-2".
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Special tokens are whole units, never merged with text: train on the text between them.
    pieces = [texts_piece for t in texts for texts_piece in split_specials(t) if texts_piece]
    tokenizer.train_from_iterator(pieces, trainer)
    return tokenizer


def split_specials(text: str) -> list[str]:
    parts = [text]
    for special in SPECIALS:
        parts = [p for part in parts for p in part.split(special)]
    return parts


def bigram_factors(ids: list[list[int]], vocab: int, rank: int, alpha: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Rank-`rank` factors A (vocab x rank), B (vocab x rank) with A @ B.T ~ row-centered log P(next | token)."""
    counts = np.zeros((vocab, vocab), dtype=np.float64)
    unigram = np.ones(vocab, dtype=np.float64)
    for doc in ids:
        arr = np.asarray(doc, dtype=np.int64)
        np.add.at(counts, (arr[:-1], arr[1:]), 1.0)
        np.add.at(unigram, arr, 1.0)
    unigram /= unigram.sum()
    # Back off to the unigram distribution: unseen continuations are rare, not impossible.
    probs = (counts + alpha * vocab * unigram[None, :]) / (counts.sum(axis=1, keepdims=True) + alpha * vocab)
    logits = np.log(probs)
    logits -= logits.mean(axis=1, keepdims=True)
    u, s, vt = np.linalg.svd(logits, full_matrices=False)
    root = np.sqrt(s[:rank])
    return u[:, :rank] * root, vt[:rank].T * root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--name", default="astro-tiny-llama3")
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--embd", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ff", type=int, default=256)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with open(args.corpus, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    if not texts:
        print(f"tiny_model: no documents in {args.corpus}", file=sys.stderr)
        return 2

    tokenizer = train_tokenizer(texts, args.vocab)
    spec = json.loads(tokenizer.to_str())
    vocab_map: dict[str, int] = spec["model"]["vocab"]
    added = {t["content"]: t["id"] for t in spec["added_tokens"]}
    size = max([*vocab_map.values(), *added.values()]) + 1
    tokens = [""] * size
    for token, index in vocab_map.items():
        tokens[index] = token
    for token, index in added.items():
        tokens[index] = token
    types = [gguf.TokenType.CONTROL if t in added else gguf.TokenType.NORMAL for t in tokens]
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]

    ids = [tokenizer.encode(t).ids for t in texts]
    d = args.embd
    a, b = bigram_factors(ids, size, d - 1)
    # One extra dimension gives every embedding row the same RMS c, so the final RMSNorm divides
    # by c everywhere and the output logits are exactly a @ b.T (plus the layers' small noise).
    norms = (a * a).sum(axis=1)
    c = float(np.sqrt(norms.max() / d) * 1.01)
    embed = np.zeros((size, d), dtype=np.float64)
    embed[:, : d - 1] = a
    embed[:, d - 1] = np.sqrt(np.maximum(d * c * c - norms, 0.0))
    output = np.zeros((size, d), dtype=np.float64)
    output[:, : d - 1] = b * c

    rng = np.random.default_rng(args.seed)
    head_dim = d // args.heads
    tmp = f"{args.out}.tmp"
    writer = gguf.GGUFWriter(tmp, "llama")
    writer.add_name(args.name)
    writer.add_context_length(args.ctx)
    writer.add_embedding_length(d)
    writer.add_block_count(args.layers)
    writer.add_feed_forward_length(args.ff)
    writer.add_head_count(args.heads)
    writer.add_head_count_kv(args.heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(size)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(added["<|begin_of_text|>"])
    writer.add_eos_token_id(added["<|eot_id|>"])
    writer.add_eot_token_id(added["<|eot_id|>"])
    # The prompt templates start with <|begin_of_text|> themselves.
    writer.add_add_bos_token(False)
    writer.add_chat_template(LLAMA3_CHAT_TEMPLATE)

    def rand(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    writer.add_tensor("token_embd.weight", embed.astype(np.float32))
    writer.add_tensor("output_norm.weight", np.ones(d, dtype=np.float32))
    writer.add_tensor("output.weight", output.astype(np.float32))
    # Residual writes are small next to the embedding's RMS c: context perturbs the bigram logits.
    residual = 0.05 * c / np.sqrt(2 * args.layers)
    for i in range(args.layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(d, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", rand(d, d, scale=1 / np.sqrt(d)))
        writer.add_tensor(f"blk.{i}.attn_k.weight", rand(d, d, scale=1 / np.sqrt(d)))
        writer.add_tensor(f"blk.{i}.attn_v.weight", rand(d, d, scale=1 / np.sqrt(d)))
        writer.add_tensor(f"blk.{i}.attn_output.weight", rand(d, d, scale=residual / np.sqrt(d)))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(d, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", rand(args.ff, d, scale=1 / np.sqrt(d)))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", rand(args.ff, d, scale=1 / np.sqrt(d)))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", rand(d, args.ff, scale=residual / np.sqrt(args.ff)))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, args.out)
    params = size * d * 2 + args.layers * (4 * d * d + 3 * d * args.ff + 2 * d) + d
    print(json.dumps({"out": args.out, "vocab": size, "embd": d, "layers": args.layers, "params": params, "documents": len(texts)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
