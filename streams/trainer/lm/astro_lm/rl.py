"""GRPO-style RL on rollout groups in the pipeline's TRL layout (verified ±1 rewards), clipped ε = 0.2.

Groups come from `OUT/rl/trl/step-*.parquet` (written by `run --rl-groups N`) or from `rollouts`
below, which samples them from the model itself in the same layout (what the pipeline's rollout
stage will do once the model is served by llama-server). The objective is PPO's clipped
surrogate with GRPO's group-normalized advantages (ASTRO-METHOD §5), token-level ratios, no KL
term. The TRL layout carries no sampling log-probabilities, so the ratio's denominator is the
policy as it was before this update (on-policy when the rows came from the current version);
`epochs` > 1 passes over a batch are what make the clip bind. Each update (one `rl` invocation,
one published version) starts a fresh AdamW: optimizer state is not part of a policy version.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass

import torch

from .chat import ChatTokenizer, Encoded
from .countdown import judge_countdown
from .data import RolloutRow
from .evaluate import EvalProblem
from .generate import generate
from .progress import Progress
from .sft import collate


def group_advantages(rewards: list[float], epsilon: float = 1e-8) -> list[float] | None:
    """`(r − mean) / std` with the population std (operators/rl/grpoAdvantages.ts); None when all rewards are equal."""
    if not rewards:
        return None
    mean = sum(rewards) / len(rewards)
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / len(rewards))
    if std <= epsilon:
        return None
    return [(r - mean) / std for r in rewards]


def sample_rollouts(model: torch.nn.Module, tokenizer: ChatTokenizer, problems: list[EvalProblem], group_size: int, policy_version: str, *, temperature: float = 1.0, max_new_tokens: int = 384, seed: int = 1) -> list[RolloutRow]:
    """G completions per problem from the model, verified and rewarded +1/−1 (truncated = −1), with advantages."""
    groups = generate(model, tokenizer, [p.prompt for p in problems], n=group_size, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)
    rows: list[RolloutRow] = []
    for index, (problem, samples) in enumerate(zip(problems, groups)):
        rewards = [1.0 if judge_countdown(problem.numbers, problem.target, s.text).correct and not s.truncated else -1.0 for s in samples]
        adv = group_advantages(rewards)
        gid = f"{policy_version}/g{seed}-{index}"
        rows += [RolloutRow(problem.prompt, s.text, r, 0.0 if adv is None else adv[k], policy_version, gid) for k, (s, r) in enumerate(zip(samples, rewards))]
    return rows


@dataclass(frozen=True)
class RlConfig:
    lr: float = 1e-4
    clip_epsilon: float = 0.2
    epochs: int = 2
    batch_sequences: int = 16
    seed: int = 1
    log_every_s: float = 10.0


@dataclass
class RlStats:
    rows: int = 0
    groups: int = 0
    groups_skipped_equal_rewards: int = 0
    steps: int = 0
    tokens: int = 0
    mean_reward: float = 0.0
    clipped_fraction: float = 0.0
    surrogate_loss: float = 0.0
    wall_s: float = 0.0


def _token_logprobs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """log π(token) of every labelled position (0 elsewhere), shape [batch, width − 1]."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return logp * (labels != -100)


def rl_update(model: torch.nn.Module, tokenizer: ChatTokenizer, rows: list[RolloutRow], config: RlConfig, progress: Progress) -> RlStats:
    """One clipped-objective update on a batch of groups; groups with equal rewards carry no signal and are counted."""
    started = time.monotonic()
    stats = RlStats(rows=len(rows), mean_reward=sum(r.reward for r in rows) / max(1, len(rows)))
    by_group: dict[str, list[RolloutRow]] = defaultdict(list)
    for r in rows:
        by_group[r.group_id].append(r)
    stats.groups = len(by_group)
    useful = []
    for members in by_group.values():
        if all(abs(m.advantage) < 1e-12 for m in members):
            stats.groups_skipped_equal_rewards += 1
        else:
            useful.extend(members)
    if not useful:
        stats.wall_s = time.monotonic() - started
        progress.tick(f"no group with unequal rewards among {stats.groups}: nothing to learn from this batch", force=True)
        return stats
    encoded: list[Encoded] = [tokenizer.encode_chat(r.prompt, r.completion) for r in useful]
    advantages = torch.tensor([r.advantage for r in useful], dtype=torch.float32)
    pad = int(model.config.pad_token_id)
    batches = [list(range(i, min(i + config.batch_sequences, len(useful)))) for i in range(0, len(useful), config.batch_sequences)]
    model.eval()
    with torch.no_grad():
        old = {tuple(b): _token_logprobs(model, collate([encoded[i] for i in b], pad)) for b in batches}
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.99), weight_decay=0.0)
    rng = random.Random(config.seed)
    clipped, counted, losses = 0, 0, []
    for epoch in range(config.epochs):
        order = list(batches)
        rng.shuffle(order)
        for b in order:
            batch = collate([encoded[i] for i in b], pad)
            mask = (batch["labels"][:, 1:] != -100).float()
            logp = _token_logprobs(model, batch)
            ratio = torch.exp(logp - old[tuple(b)]) * mask
            adv = advantages[b].unsqueeze(1)
            surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - config.clip_epsilon, 1 + config.clip_epsilon) * adv)
            # GRPO: mean over each completion's tokens, then over completions.
            per_seq = (surrogate * mask).sum(1) / mask.sum(1).clamp(min=1)
            loss = -per_seq.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            stats.steps += 1
            stats.tokens += int(batch["attention_mask"].sum())
            clipped += int((((ratio < 1 - config.clip_epsilon) | (ratio > 1 + config.clip_epsilon)) & (mask > 0)).sum())
            counted += int(mask.sum())
            losses.append(float(loss))
            progress.tick(f"epoch {epoch} step {stats.steps} loss {float(loss):.4f} clipped {clipped / max(1, counted):.3f}")
    stats.clipped_fraction = clipped / max(1, counted)
    stats.surrogate_loss = sum(losses) / len(losses)
    stats.wall_s = time.monotonic() - started
    return stats
