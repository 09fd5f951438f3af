"""The Countdown verifier, the exact rule of `domains/countdown/verifier.ts` (judgeCountdown).

The last `\\boxed{...}` (or, without one, the whole trimmed response) must be an expression of
digits, `+ - * /`, parentheses and spaces (no unary minus, no leading zeros, at most 200 UTF-16
units, parentheses nested at most 32 deep) over the problem's numbers, each used at most once,
equal to the target in exact rational arithmetic. A test runs both verifiers on the same rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction

MARKER = "\\boxed{"
MAX_LENGTH = 200
MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
# ECMAScript's String.prototype.trim set (WhiteSpace + LineTerminator), which differs from str.strip's.
_JS_SPACE = set("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")


def js_trim(text: str) -> str:
    """`text.trim()` as JavaScript defines it."""
    start, end = 0, len(text)
    while start < end and text[start] in _JS_SPACE:
        start += 1
    while end > start and text[end - 1] in _JS_SPACE:
        end -= 1
    return text[start:end]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def extract_last_boxed(text: str) -> str | None:
    """Content of the last-opened `\\boxed{...}` that is closed (nested braces handled), else None."""
    opened: list[int] = []
    best_start, best_end = -1, -1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and text.startswith(MARKER, i):
            opened.append(i + len(MARKER))
            i += len(MARKER)
            continue
        if ch == "{":
            opened.append(-1)
        elif ch == "}" and opened:
            start = opened.pop()
            if start > best_start:
                best_start, best_end = start, i
        i += 1
    return None if best_start < 0 else text[best_start:best_end]


def boxed_answers(text: str) -> list[tuple[int, str]]:
    """Every closed top-level `\\boxed{...}` in order, with the offset where it ends (for recovery analysis)."""
    out: list[tuple[int, str]] = []
    at = text.find(MARKER)
    while at != -1:
        depth, j = 1, at + len(MARKER)
        while j < len(text) and depth > 0:
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            j += 1
        if depth != 0:
            break
        out.append((j, text[at + len(MARKER) : j - 1]))
        at = text.find(MARKER, j)
    return out


class _ParseFailure(Exception):
    pass


def evaluate_expression(text: str) -> tuple[Fraction, list[int]] | str:
    """(value, literals used) of a Countdown expression, or the reason it is invalid."""
    if _utf16_len(text) > MAX_LENGTH:
        return f"expression longer than {MAX_LENGTH} characters"
    numbers: list[int] = []
    pos = 0

    def skip() -> None:
        nonlocal pos
        while pos < len(text) and text[pos] == " ":
            pos += 1

    def parse_sum(depth: int) -> Fraction:
        nonlocal pos
        value = parse_product(depth)
        while True:
            skip()
            if pos >= len(text) or text[pos] not in "+-":
                return value
            op = text[pos]
            pos += 1
            rhs = parse_product(depth)
            value = value + rhs if op == "+" else value - rhs

    def parse_product(depth: int) -> Fraction:
        nonlocal pos
        value = parse_atom(depth)
        while True:
            skip()
            if pos >= len(text) or text[pos] not in "*/":
                return value
            op = text[pos]
            pos += 1
            rhs = parse_atom(depth)
            if op == "*":
                value = value * rhs
            else:
                if rhs == 0:
                    raise _ParseFailure("division by zero")
                value = value / rhs

    def parse_atom(depth: int) -> Fraction:
        nonlocal pos
        skip()
        if pos >= len(text):
            raise _ParseFailure("empty expression" if not numbers else "expected a number but found end of expression")
        ch = text[pos]
        if ch == "(":
            if depth >= MAX_DEPTH:
                raise _ParseFailure(f"parentheses nested deeper than {MAX_DEPTH}")
            pos += 1
            value = parse_sum(depth + 1)
            skip()
            if pos >= len(text) or text[pos] != ")":
                raise _ParseFailure("unbalanced parentheses")
            pos += 1
            return value
        if "0" <= ch <= "9":
            start = pos
            while pos < len(text) and "0" <= text[pos] <= "9":
                pos += 1
            digits = text[start:pos]
            if len(digits) > 1 and digits[0] == "0":
                raise _ParseFailure(f"number with a leading zero: {digits}")
            value = int(digits)
            if value > MAX_SAFE_INTEGER:
                raise _ParseFailure(f"number too large: {digits}")
            numbers.append(value)
            return Fraction(value)
        raise _ParseFailure(f"unexpected {ch!r} at position {pos + 1}")

    try:
        value = parse_sum(0)
        skip()
        if pos < len(text):
            raise _ParseFailure(f"unexpected {text[pos]!r} at position {pos + 1}")
        return value, numbers
    except _ParseFailure as failure:
        return str(failure)


@dataclass(frozen=True)
class Verdict:
    correct: bool
    extracted: str | None
    reason: str | None = None


def judge_countdown(numbers: list[int], target: int, response: str) -> Verdict:
    """Verdict for a response to the Countdown problem (numbers, target): judgeCountdown in Python."""
    boxed = extract_last_boxed(response)
    expression = js_trim(boxed if boxed is not None else response)
    extracted = boxed if boxed is not None else (None if expression == "" else expression)
    result = evaluate_expression(expression)
    if isinstance(result, str):
        return Verdict(False, extracted, f"invalid expression: {result}")
    value, used = result
    available: dict[int, int] = {}
    for n in numbers:
        available[n] = available.get(n, 0) + 1
    for n in used:
        if available.get(n, 0) == 0:
            return Verdict(False, extracted, f"uses {n} {'more often than given' if n in numbers else 'which is not available'}")
        available[n] -= 1
    if value != target:
        return Verdict(False, extracted, f"evaluates to {value}, target {target}")
    return Verdict(True, extracted)


def is_held_out(numbers: list[int], target: int, fraction: float = 0.1) -> bool:
    """The content-hashed evaluation split of `operators/rl/heldOut.ts` (isHeldOutProblem) for Countdown."""
    key = f"countdown:{','.join(str(n) for n in sorted(numbers))}>{target}"
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:4], "little") / 0x1_0000_0000 < fraction


def content_key(numbers: list[int], target: int) -> str:
    """What makes two Countdown problems the same problem (sorted numbers and target)."""
    return f"{','.join(str(n) for n in sorted(numbers))}>{target}"
