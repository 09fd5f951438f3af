import { readFileSync } from 'node:fs';

/**
 * The verifier conformance cases (`../shared/verifier-conformance/cases.jsonl`: answer pairs from
 * the test suites of five graders) and the kinds the README reports agreement by. Used by the
 * conformance test and by `bench/mathVerify.ts`.
 */
export interface ConformanceCase {
  readonly gold: string;
  readonly prediction: string;
  readonly expected: boolean;
  readonly source: string;
  readonly math_verify_0_9_0: boolean;
}

/** Kinds of case, in the order they are told apart (the first that applies). */
export const CONFORMANCE_KINDS = ['double escapes', 'several boxes', 'inequalities', 'labels and equations', 'answer in prose', 'number formats', 'matrices, lists, intervals, units, other'] as const;
export type ConformanceKind = (typeof CONFORMANCE_KINDS)[number];

/** Every case of a conformance file, in file order. */
export function loadConformanceCases(path: string): ConformanceCase[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as ConformanceCase);
}

const SHORT = 100;

/** The kind a case is reported under (a heuristic on its text: the file has no kind field). */
export function conformanceKind(c: ConformanceCase): ConformanceKind {
  const sides = [c.gold, c.prediction];
  const short = sides.filter((s) => s.length <= SHORT);
  if (sides.some((s) => /(?<!\\)\\\\[a-zA-Z]{2}/.test(s))) return 'double escapes';
  if (sides.some((s) => (s.match(/\\boxed/g) ?? []).length >= 2)) return 'several boxes';
  if (short.some((s) => /<|>|\\[lg]eq?(?![a-zA-Z])|\\neq?(?![a-zA-Z])|\\[lg]t(?![a-zA-Z])|!=/.test(s))) return 'inequalities';
  if (short.some((s) => /(?<![<>!\\])=/.test(s))) return 'labels and equations';
  if (sides.some((s) => s.length > SHORT || (s.match(/[a-zA-Z]{3,}/g) ?? []).filter((w) => !/^(?:frac|dfrac|tfrac|sqrt|text|boxed|left|right|pmatrix|bmatrix|begin|end|cdot|times|infty|percent|pct|percentage|units?|cm|weeks|miles|yuan|meters)$/.test(w)).length >= 3)) return 'answer in prose';
  const numeric = (s: string): boolean => /^[^a-zA-Z\\]*\d[^a-zA-Z\\]*$/.test(s.replace(/\\[%$!]|\\[dt]?frac|\\text\{[^}]*\}|\s+[a-zA-Z]+$|percent|pct/g, ''));
  if (sides.every(numeric)) return 'number formats';
  return 'matrices, lists, intervals, units, other';
}

/** Agreement with `expected` per kind and overall, for a list of verdicts in case order. */
export function agreementByKind(cases: readonly ConformanceCase[], verdicts: readonly boolean[]): Map<ConformanceKind | 'all', { agree: number; total: number }> {
  const out = new Map<ConformanceKind | 'all', { agree: number; total: number }>();
  const bump = (k: ConformanceKind | 'all', ok: boolean): void => {
    const e = out.get(k) ?? { agree: 0, total: 0 };
    out.set(k, { agree: e.agree + (ok ? 1 : 0), total: e.total + 1 });
  };
  cases.forEach((c, i) => {
    const ok = verdicts[i] === c.expected;
    bump(conformanceKind(c), ok);
    bump('all', ok);
  });
  return out;
}
