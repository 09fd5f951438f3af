"""Countdown evaluation of a model: greedy and pass@k solve rates, backtracks, recovery, correlation.

The Countdown verifier (`countdown.py`, the exact rule of the TypeScript one) decides correctness;
a response that hits the length limit counts as wrong, as in the pipeline's rollouts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .chat import ChatTokenizer
from .countdown import boxed_answers, judge_countdown
from .errors import bad_input
from .generate import Sample, generate

GO_BACK_PREFIX = "Let's go back to where we "
RESTART_SENTENCE = "Let's restart our solution from the beginning."


@dataclass(frozen=True)
class EvalProblem:
    numbers: list[int]
    target: int
    prompt: str


def read_problems(path: Path) -> list[EvalProblem]:
    """JSONL lines `{numbers, target, prompt}` (the harness writes them from the TypeScript generator)."""
    if not path.is_file():
        raise bad_input(f"{path}: no such problems file")
    problems = []
    for i, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        try:
            p = json.loads(line)
            problems.append(EvalProblem([int(n) for n in p["numbers"]], int(p["target"]), str(p["prompt"])))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise bad_input(f"{path} line {i + 1}: need {{numbers, target, prompt}} ({error})") from error
    if not problems:
        raise bad_input(f"{path}: no problems")
    return problems


def count_backtracks(text: str) -> int:
    """Backtrack sentences, counted as `countBacktracks` of operators/linearize/phrases.ts does."""
    return text.count(GO_BACK_PREFIX) + text.count(RESTART_SENTENCE)


@dataclass(frozen=True)
class Scored:
    correct: bool
    backtracks: int
    wrong_boxed: bool
    recovered: bool
    truncated: bool
    tokens: int


def score(problem: EvalProblem, sample: Sample) -> Scored:
    """Correctness (final answer), backtracks, and whether a wrong boxed answer came before a correct end."""
    correct = judge_countdown(problem.numbers, problem.target, sample.text).correct and not sample.truncated
    boxes = boxed_answers(sample.text)
    wrong = [b for _, b in boxes if not judge_countdown(problem.numbers, problem.target, f"\\boxed{{{b}}}").correct]
    return Scored(correct, count_backtracks(sample.text), bool(wrong), bool(wrong) and correct, sample.truncated, len(sample.ids))


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    vx = sum((x - mx) ** 2 for x in xs)
    vy = sum((y - my) ** 2 for y in ys)
    if vx == 0 or vy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(vx * vy)


def summarize(scored: list[Scored]) -> dict:
    """Aggregate numbers of a list of scored responses."""
    n = max(1, len(scored))
    with_wrong = [s for s in scored if s.wrong_boxed]
    return {
        "responses": len(scored),
        "solve_rate": sum(s.correct for s in scored) / n,
        "backtracks_per_response": sum(s.backtracks for s in scored) / n,
        "responses_with_backtracks": sum(s.backtracks > 0 for s in scored) / n,
        "responses_with_wrong_boxed": len(with_wrong),
        "recovery_share": (sum(s.recovered for s in with_wrong) / len(with_wrong)) if with_wrong else None,
        "truncated_share": sum(s.truncated for s in scored) / n,
        "mean_tokens": sum(s.tokens for s in scored) / n,
        "backtracks_correct_pearson": _pearson([float(s.backtracks) for s in scored], [float(s.correct) for s in scored]),
    }


def evaluate(model: torch.nn.Module, tokenizer: ChatTokenizer, problems: list[EvalProblem], *, k: int = 4, temperature: float = 1.0, max_new_tokens: int = 384, seed: int = 1) -> dict:
    """Greedy and pass@k (k samples at `temperature`) on `problems`; `solve_rate` is greedy's."""
    prompts = [p.prompt for p in problems]
    greedy = [score(p, s[0]) for p, s in zip(problems, generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, seed=seed))]
    result = {"problems": len(problems), "greedy": summarize(greedy)}
    result["solve_rate"] = result["greedy"]["solve_rate"]
    result["backtracks_per_problem"] = result["greedy"]["backtracks_per_response"]
    if k > 0:
        sampled = generate(model, tokenizer, prompts, n=k, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)
        per_problem = [[score(p, s) for s in group] for p, group in zip(problems, sampled)]
        flat = [s for group in per_problem for s in group]
        result["sampled"] = {"k": k, "temperature": temperature, **summarize(flat)}
        result[f"pass_at_{k}"] = sum(any(s.correct for s in g) for g in per_problem) / max(1, len(per_problem))
    return result
