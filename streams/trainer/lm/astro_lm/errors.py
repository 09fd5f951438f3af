"""Errors with a kind, as the TypeScript side has them (STYLE.md): the CLI prints one line and exits 2 for bad input."""

from __future__ import annotations


class AstroLmError(Exception):
    """A failure with a `kind` (`config`, `input`, `schema`, `tool`) and whether retrying may help."""

    def __init__(self, kind: str, message: str, retriable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retriable = retriable


def bad_input(message: str) -> AstroLmError:
    """Bad configuration or input data: the CLI exits 2 with this one line."""
    return AstroLmError("input", message)
