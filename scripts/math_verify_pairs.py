#!/usr/bin/env python3
"""Runs Hugging Face math-verify over a JSONL file of {"gold": str, "pred": str} pairs.

Reads JSONL on stdin (or argv[1]) and writes one JSON line per input, in order:
{"correct": bool, "error": str|null}. A final line {"summary": {"pairs": n, "seconds": s}}
reports the time spent inside parse+verify only (for the side-by-side benchmark).

Both texts are parsed with math-verify's default extraction (LaTeX + plain expressions), the way
its README shows: verify(parse(gold), parse(pred)). Callers decide how bare answers are wrapped
(bench/mathVerify.ts wraps them in $...$, the differential test in \\boxed{}).
"""
import json
import sys
import time

from math_verify import parse, verify


def main() -> None:
    src = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
    out = sys.stdout
    spent = 0.0
    n = 0
    for line in src:
        line = line.strip()
        if not line:
            continue
        pair = json.loads(line)
        n += 1
        t0 = time.perf_counter()
        try:
            correct = bool(verify(parse(pair["gold"]), parse(pair["pred"])))
            err = None
        except Exception as e:  # math-verify itself swallows most errors; keep the line anyway
            correct, err = False, repr(e)[:200]
        spent += time.perf_counter() - t0
        out.write(json.dumps({"correct": correct, "error": err}) + "\n")
    out.write(json.dumps({"summary": {"pairs": n, "seconds": spent}}) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
