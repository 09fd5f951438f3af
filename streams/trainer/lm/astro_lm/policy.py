"""Policy versions of trained language models, in the `astro.policy.v1` record format.

The record is `schemas/policyVersion.ts`'s PolicyVersion as its JSON codec writes it: `policy`,
`version`, `path` (here the content-addressed GGUF a `llama-server` loads), `sha256` of that
file, trainer `step`, `metrics` [{name, value}] and `created_at` (epoch ms). Every version is
appended to `<policies>/versions.jsonl` (a file-based log any process can follow without a
broker, since the in-process memory transport cannot cross processes) and, with `brokers`,
published to the compacted `astro.policy.v1` topic keyed by policy name with kafka-python (pure
Python, no native client to build), where the TypeScript stages' PolicyVersionCodec decodes it.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from .errors import bad_input

POLICY_TOPIC = "astro.policy.v1"
VERSIONS_FILE = "versions.jsonl"


def policy_version_record(policy: str, version: int, path: Path, sha256: str, step: int, metrics: dict[str, float], created_at_ms: int | None = None) -> dict:
    """A PolicyVersion record that passes the TypeScript validator (non-finite metrics are left out: JSON has no NaN)."""
    if not policy:
        raise bad_input("policy name must be non-empty")
    if version < 0 or step < 0:
        raise bad_input(f"version and step must be non-negative, got {version}, {step}")
    if len(sha256) != 64:
        raise bad_input(f"sha256 must be 64 hex digits, got {sha256!r}")
    return {
        "policy": policy,
        "version": int(version),
        "path": str(path.resolve()),
        "sha256": sha256,
        "step": int(step),
        "metrics": [{"name": k, "value": float(v)} for k, v in metrics.items() if v is not None and math.isfinite(float(v))],
        "created_at": int(time.time() * 1000) if created_at_ms is None else created_at_ms,
    }


def latest_version(policies_dir: Path, policy: str) -> int:
    """Highest version of `policy` in `versions.jsonl`, or 0 when none was published."""
    log = policies_dir / VERSIONS_FILE
    if not log.is_file():
        return 0
    versions = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return max([v["version"] for v in versions if v.get("policy") == policy], default=0)


def publish(record: dict, policies_dir: Path, brokers: str | None = None, timeout_s: float = 60.0) -> None:
    """Appends the record to `versions.jsonl` and, with `brokers`, sends it to `astro.policy.v1` (acks=all)."""
    policies_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, separators=(",", ":"), allow_nan=False)
    with (policies_dir / VERSIONS_FILE).open("a") as f:
        f.write(line + "\n")
    if brokers:
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=brokers.split(","), acks="all", retries=8, retry_backoff_ms=300, request_timeout_ms=int(timeout_s * 1000))
        try:
            producer.send(POLICY_TOPIC, key=record["policy"].encode(), value=line.encode()).get(timeout=timeout_s)
        finally:
            producer.close(timeout=timeout_s)
