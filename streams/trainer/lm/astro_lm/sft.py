"""Supervised fine-tuning on the traces: loss on the assistant turn only, stopped by a token budget.

Two engines over the same tokenized examples:
- `torch` (default): a plain PyTorch loop. Batches of about `batch_tokens` real tokens from
  length-sorted buckets (little padding), AdamW, linear warm-up then cosine decay over the
  budget. The budget counts every real token of every sequence the model is trained on (prompt
  and completion, padding excluded): arms compared at one budget did the same forward/backward
  work. The last batch is cut to what is left of the budget, so arms differ by less than one
  sequence; the exact count is reported.
- `trl`: TRL's `SFTTrainer` on the same pre-tokenized rows (`input_ids` + `completion_mask`,
  `completion_only_loss=True`), `max_steps` from the budget. This is the path TRL users know;
  BENCHMARKS.md has the throughput of both on this CPU.
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .chat import Encoded
from .progress import Progress


@dataclass(frozen=True)
class SftConfig:
    """Budget in tokens (and optionally minutes), optimizer and batching settings."""

    token_budget: int
    batch_tokens: int = 4096
    lr: float = 3e-3
    warmup_steps: int = 10
    weight_decay: float = 0.01
    seed: int = 1
    max_minutes: float | None = None
    log_every_s: float = 10.0
    # Token counts at which `train_sft` hands the model to its `checkpoint` callback (budgets read off one run).
    checkpoints: tuple[int, ...] = ()


@dataclass
class SftStats:
    """What a run did; `tokens` is the budget unit, `loss_tokens` the supervised (assistant) part."""

    engine: str
    steps: int = 0
    tokens: int = 0
    loss_tokens: int = 0
    sequences: int = 0
    epochs: float = 0.0
    wall_s: float = 0.0
    tokens_per_s: float = 0.0
    # CPU seconds of this process (all threads): tokens per CPU second is the idle-equivalent speed,
    # which does not depend on how loaded the shared machine was.
    cpu_s: float = 0.0
    tokens_per_cpu_s: float = 0.0
    first_loss: float | None = None
    last_loss: float | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)


def _batches(examples: list[Encoded], batch_tokens: int, rng: random.Random) -> list[list[int]]:
    """One epoch of index batches: shuffled, bucketed by length so a batch pads little."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    chunk = max(1, 64 * batch_tokens // max(1, sum(len(e.ids) for e in examples) // len(examples)))
    for start in range(0, len(order), chunk):
        bucket = sorted(order[start : start + chunk], key=lambda i: len(examples[i].ids))
        current: list[int] = []
        width = 0
        for i in bucket:
            n = len(examples[i].ids)
            if current and max(width, n) * (len(current) + 1) > batch_tokens:
                batches.append(current)
                current, width = [], 0
            current.append(i)
            width = max(width, n)
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(examples: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded `input_ids`, `attention_mask` and `labels` (-100 outside the assistant turn)."""
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        attention[row, :n] = 1
        mask = torch.tensor(e.loss_mask, dtype=torch.bool)
        labels[row, :n] = torch.where(mask, torch.tensor(e.ids), torch.tensor(-100))
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def _lr_at(config: SftConfig, step: int, fraction: float) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, fraction))))


def train_sft(model: torch.nn.Module, examples: list[Encoded], config: SftConfig, pad_id: int, progress: Progress, checkpoint: Callable[[SftStats], None] | None = None) -> SftStats:
    """Trains `model` in place until `config.token_budget` tokens (or `max_minutes`) are used.

    Before the batch that would cross each of `config.checkpoints` (token counts below the
    budget), `checkpoint(stats)` is called: smaller budgets are read off the same run, each
    within one batch of its token count (the exact count is in `stats`).
    """
    if not examples:
        raise ValueError("no training examples")
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.95))
    stats = SftStats(engine="torch")
    started = time.monotonic()
    cpu_started = time.process_time()
    model.train()
    epoch = 0
    total_tokens = sum(len(e.ids) for e in examples)
    stops = sorted(c for c in config.checkpoints if 0 < c < config.token_budget)
    while True:
        for batch_ids in _batches(examples, config.batch_tokens, rng):
            batch = [examples[i] for i in batch_ids]
            while stops and checkpoint and stats.tokens + sum(len(e.ids) for e in batch) > stops[0]:
                stops.pop(0)
                _stamp(stats, started, cpu_started, total_tokens)
                checkpoint(stats)
            # The last batch is cut to what the budget has left, so arms end within one sequence of it.
            while batch and stats.tokens + sum(len(e.ids) for e in batch) > config.token_budget:
                batch.pop()
            n_tokens = sum(len(e.ids) for e in batch)
            minutes_up = config.max_minutes is not None and time.monotonic() - started >= config.max_minutes * 60
            if not batch or minutes_up:
                return _finish(stats, started, cpu_started, total_tokens, progress)
            # The schedule runs over whichever budget ends first, so a run stopped by minutes decays fully too.
            fraction = stats.tokens / config.token_budget
            if config.max_minutes is not None:
                fraction = max(fraction, (time.monotonic() - started) / (config.max_minutes * 60))
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(config, stats.steps, fraction)
            out = model(**collate(batch, pad_id))
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            loss = float(out.loss.detach())
            stats.steps += 1
            stats.tokens += n_tokens
            stats.loss_tokens += sum(sum(e.loss_mask) for e in batch)
            stats.sequences += len(batch)
            stats.first_loss = loss if stats.first_loss is None else stats.first_loss
            stats.last_loss = loss
            stats.losses.append((stats.tokens, loss))
            elapsed = time.monotonic() - started
            progress.tick(f"step {stats.steps} tokens {stats.tokens:,}/{config.token_budget:,} ({100 * stats.tokens / config.token_budget:.0f}%) loss {loss:.3f} {stats.tokens / max(elapsed, 1e-9):,.0f} tok/s epoch {epoch}")
        epoch += 1


def _stamp(stats: SftStats, started: float, cpu_started: float, total_tokens: int) -> None:
    stats.wall_s = time.monotonic() - started
    stats.tokens_per_s = stats.tokens / max(stats.wall_s, 1e-9)
    stats.cpu_s = time.process_time() - cpu_started
    stats.tokens_per_cpu_s = stats.tokens / max(stats.cpu_s, 1e-9)
    stats.epochs = stats.tokens / max(1, total_tokens)


def _finish(stats: SftStats, started: float, cpu_started: float, total_tokens: int, progress: Progress) -> SftStats:
    _stamp(stats, started, cpu_started, total_tokens)
    progress.tick(f"done: {stats.steps} steps, {stats.tokens:,} tokens ({stats.epochs:.2f} epochs), loss {stats.first_loss} -> {stats.last_loss}, {stats.tokens_per_s:,.0f} tok/s ({stats.tokens_per_cpu_s:,.0f} per CPU second)", force=True)
    return stats


def train_sft_trl(model: torch.nn.Module, pieces: list[str], eos_id: int, examples: list[Encoded], config: SftConfig, pad_id: int, progress: Progress, work_dir: str) -> SftStats:
    """The same run through TRL's SFTTrainer: pre-tokenized rows, completion-only loss, steps from the budget."""
    from datasets import Dataset
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast
    from trl import SFTConfig, SFTTrainer

    mean_len = sum(len(e.ids) for e in examples) / len(examples)
    per_device = max(1, int(config.batch_tokens // mean_len))
    max_steps = max(1, int(config.token_budget // (per_device * mean_len)))
    dataset = Dataset.from_dict({"input_ids": [e.ids for e in examples], "completion_mask": [e.loss_mask for e in examples]})
    args = SFTConfig(
        output_dir=work_dir,
        max_steps=max_steps,
        per_device_train_batch_size=per_device,
        learning_rate=config.lr,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type="cosine",
        weight_decay=config.weight_decay,
        adam_beta2=0.95,
        max_grad_norm=1.0,
        completion_only_loss=True,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        logging_steps=max(1, max_steps // 20),
        seed=config.seed,
        dataloader_num_workers=0,
        disable_tqdm=True,
        max_length=None,
    )
    # The rows are already tokenized (by ChatTokenizer, as llama.cpp will): SFTTrainer only needs the
    # pad token from its processing class, so a word-level view of the same vocabulary serves.
    vocab = {piece: i for i, piece in enumerate(pieces)}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token=pieces[0])), pad_token=pieces[pad_id], eos_token=pieces[eos_id])
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    started = time.monotonic()
    # The Trainer prints its log dicts on stdout, where our CLI writes its JSON summary.
    with contextlib.redirect_stdout(sys.stderr):
        result = trainer.train()
    stats = SftStats(engine="trl", steps=int(result.global_step))
    stats.wall_s = time.monotonic() - started
    # TRL counts input tokens itself (num_input_tokens_seen needs include_num_input_tokens_seen); estimate from batches seen.
    stats.sequences = stats.steps * per_device
    stats.tokens = int(stats.sequences * mean_len)
    stats.tokens_per_s = stats.tokens / max(stats.wall_s, 1e-9)
    logs = [h for h in trainer.state.log_history if "loss" in h]
    if logs:
        stats.first_loss, stats.last_loss = float(logs[0]["loss"]), float(logs[-1]["loss"])
    progress.tick(f"done (trl): {stats.steps} steps, ~{stats.tokens:,} tokens, loss {stats.first_loss} -> {stats.last_loss}, {stats.tokens_per_s:,.0f} tok/s", force=True)
    return stats
