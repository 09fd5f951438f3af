"""Readers of what the pipeline writes: the traces' Parquet and the RL batches' TRL layout.

Both check the columns they need and name the file and the row of bad input (one clear line,
exit 2 at the CLI), instead of failing later inside a trainer.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .countdown import content_key, is_held_out
from .errors import bad_input

TRACE_COLUMNS = ("messages", "variant", "problem_json")
TRL_COLUMNS = ("prompt", "completion", "reward", "advantage", "policy_version", "group_id")


def expand(paths: list[str], suffix: str = ".parquet") -> list[Path]:
    """Files named by `paths`: files, globs, or directories (searched for `*{suffix}` recursively)."""
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files.extend(sorted(path.rglob(f"*{suffix}")))
        elif any(c in p for c in "*?["):
            files.extend(Path(f) for f in sorted(glob.glob(p, recursive=True)))
        elif path.is_file():
            files.append(path)
        else:
            raise bad_input(f"{p}: no such file or directory")
    if not files:
        raise bad_input(f"no {suffix} files in {', '.join(paths)}")
    return files


def _read(files: list[Path], columns: tuple[str, ...]) -> list[tuple[Path, pa.Table]]:
    tables = []
    for f in files:
        try:
            schema = pq.read_schema(f)
        except Exception as error:  # pyarrow raises several types for a file that is not Parquet
            raise bad_input(f"{f}: not a Parquet file ({error})") from error
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise bad_input(f"{f}: missing column(s) {', '.join(missing)} (has {', '.join(schema.names)})")
        tables.append((f, pq.read_table(f, columns=list(columns))))
    return tables


@dataclass(frozen=True)
class TraceRow:
    """One SFT example: the user prompt, the assistant completion, and what the evaluation needs."""

    prompt: str
    completion: str
    variant: str
    numbers: list[int] | None
    target: int | None
    num_backtracks: int


def _chat_pair(messages: object, where: str) -> tuple[str, str]:
    if not isinstance(messages, list) or not messages:
        raise bad_input(f"{where}: messages must be a non-empty list of {{role, content}}")
    user = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    assistant = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    if not user or not assistant:
        raise bad_input(f"{where}: messages need a user and an assistant turn (roles: {[m.get('role') if isinstance(m, dict) else m for m in messages]})")
    prompt, completion = user[0].get("content"), assistant[-1].get("content")
    if not isinstance(prompt, str) or not isinstance(completion, str) or not completion:
        raise bad_input(f"{where}: user and assistant content must be non-empty strings")
    return prompt, completion


def read_traces(paths: list[str], variants: list[str] | None = None, exclude_held_out: bool = True) -> list[TraceRow]:
    """Trace rows of the given variants (all when None), in file order.

    With `exclude_held_out`, rows whose Countdown problem is in the content-hashed evaluation
    split (`operators/rl/heldOut.ts`) are dropped, so evaluation problems are never trained on.
    """
    rows: list[TraceRow] = []
    for f, table in _read(expand(paths), TRACE_COLUMNS):
        backtracks = pq.read_table(f, columns=["num_backtracks"]).column(0).to_pylist() if "num_backtracks" in pq.read_schema(f).names else None
        for i, r in enumerate(table.to_pylist()):
            where = f"{f} row {i}"
            if variants is not None and r["variant"] not in variants:
                continue
            prompt, completion = _chat_pair(r["messages"], where)
            numbers, target = None, None
            try:
                problem = json.loads(r["problem_json"] or "{}")
            except json.JSONDecodeError as error:
                raise bad_input(f"{where}: problem_json is not JSON ({error})") from error
            if isinstance(problem.get("numbers"), list) and isinstance(problem.get("target"), int):
                numbers, target = [int(n) for n in problem["numbers"]], int(problem["target"])
                if exclude_held_out and is_held_out(numbers, target):
                    continue
            rows.append(TraceRow(prompt, completion, r["variant"], numbers, target, int(backtracks[i]) if backtracks else 0))
    return rows


def problem_keys(rows: list[TraceRow]) -> set[str]:
    """Content keys of the Countdown problems in `rows` (for disjointness checks)."""
    return {content_key(r.numbers, r.target) for r in rows if r.numbers is not None and r.target is not None}


@dataclass(frozen=True)
class RolloutRow:
    """One sampled completion of a rollout group (TRL layout, `streams/sinks/rlBatchLayouts.ts`)."""

    prompt: str
    completion: str
    reward: float
    advantage: float
    policy_version: str
    group_id: str


def read_rollouts(paths: list[str]) -> list[RolloutRow]:
    """Rows of `OUT/rl/trl/step-*.parquet` batches; rewards must be verified ±1."""
    rows: list[RolloutRow] = []
    for f, table in _read(expand(paths), TRL_COLUMNS):
        for i, r in enumerate(table.to_pylist()):
            where = f"{f} row {i}"
            for c in ("prompt", "completion", "policy_version", "group_id"):
                if not isinstance(r[c], str):
                    raise bad_input(f"{where}: {c} must be a string, got {r[c]!r}")
            if r["reward"] not in (1.0, -1.0):
                raise bad_input(f"{where}: reward must be +1 or -1 (a verified outcome), got {r['reward']!r}")
            if not isinstance(r["advantage"], (int, float)):
                raise bad_input(f"{where}: advantage must be a number, got {r['advantage']!r}")
            rows.append(RolloutRow(r["prompt"], r["completion"], float(r["reward"]), float(r["advantage"]), r["policy_version"], r["group_id"]))
    return rows


def write_rollouts(path: Path, rows: list[RolloutRow]) -> None:
    """Writes rows in the TRL layout (same column names and types as the pipeline's batches)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({c: [getattr(r, c) for r in rows] for c in TRL_COLUMNS}, schema=pa.schema([("prompt", pa.string()), ("completion", pa.string()), ("reward", pa.float64()), ("advantage", pa.float64()), ("policy_version", pa.string()), ("group_id", pa.string())]))
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
