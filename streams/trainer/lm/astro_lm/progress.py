"""Progress lines on stderr at most every few seconds (training runs are long; logs stay short)."""

from __future__ import annotations

import sys
import time


class Progress:
    """`tick(...)` prints `[stage] message` when `every_s` passed since the last line; `done` always prints."""

    def __init__(self, stage: str, every_s: float = 10.0, quiet: bool = False) -> None:
        self.stage, self.every_s, self.quiet = stage, every_s, quiet
        self.started = time.monotonic()
        self.last = -1e9

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def tick(self, message: str, force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not force and now - self.last < self.every_s):
            return
        self.last = now
        print(f"[{self.stage} {self.elapsed():6.1f}s] {message}", file=sys.stderr, flush=True)
