import { AppError } from '../../operators/common/errors.js';
import { configHash } from '../../operators/common/hash.js';
import { promiseOf, type Verdict, type Verifier } from '../../operators/verify/verifier.js';
import type { Problem } from '../../schemas/problem.js';
import { extractLastBoxed } from './boxed.js';
import { evaluateExpression, formatRational, type ExpressionLimits } from './expression.js';

const LIMITS: Required<ExpressionLimits> = { maxLength: 200, maxDepth: 32 };

/** Verdict for a response already known to be about `numbers` and `target` (pure, synchronous). */
export function judgeCountdown(numbers: readonly number[], target: number, response: string): Verdict {
  const boxed = extractLastBoxed(response);
  const expression = (boxed ?? response).trim();
  const extracted = boxed === null ? (expression === '' ? null : expression) : boxed;
  const result = evaluateExpression(expression, LIMITS);
  if (!result.ok) return { correct: false, extracted, normalized: null, reason: `invalid expression: ${result.reason}` };
  const normalized = expression.replace(/\s+/g, '');
  // Each given number may be used at most once: count what is left of the multiset.
  const available = new Map<number, number>();
  for (const n of numbers) available.set(n, (available.get(n) ?? 0) + 1);
  for (const n of result.numbers) {
    const left = available.get(n) ?? 0;
    if (left === 0) {
      const given = numbers.includes(n);
      return { correct: false, extracted, normalized, reason: given ? `uses ${n} more often than given` : `uses ${n} which is not available` };
    }
    available.set(n, left - 1);
  }
  const value = result.value;
  if (value.den !== 1n || value.num !== BigInt(target)) {
    return { correct: false, extracted, normalized, reason: `evaluates to ${formatRational(value)}, target ${target}` };
  }
  return { correct: true, extracted, normalized };
}

/**
 * The Countdown verifier: the last `\boxed{...}` (or, without one, the whole trimmed response) must
 * be an arithmetic expression over the problem's numbers, each used at most once, equal to the
 * target exactly (rational arithmetic, no floating point).
 */
export function createCountdownVerifier(): Verifier {
  const name = 'countdown';
  const version = '1.0.0';
  // Verdicts are pure functions of (numbers, target, answer), and a search verifies thousands of
  // rollouts per tree that end in the same few expressions: remember recent verdicts. Bounded;
  // cleared wholesale when full (cheaper than LRU bookkeeping on this hot path).
  const memo = new Map<string, Verdict>();
  const MEMO_LIMIT = 50_000;
  const verifyNow = (problem: Problem, response: string): Verdict => {
    const target = problem.target ?? Number(problem.answer);
    if (problem.numbers === undefined || !Number.isSafeInteger(target)) {
      // Bad data, not a verdict: labelling every response wrong would silently poison the tree.
      throw new AppError('schema', `countdown problem ${problem.id} has no numbers or integer target`);
    }
    const boxed = extractLastBoxed(response);
    // The key holds the answer as written, so the verdict's `extracted` is exactly right for it.
    const key = `${problem.numbers.join(',')}|${target}|${boxed === null ? `raw|${response.trim()}` : `boxed|${boxed}`}`;
    let verdict = memo.get(key);
    if (verdict === undefined) {
      verdict = judgeCountdown(problem.numbers, target, response);
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(key, verdict);
    }
    return verdict;
  };
  return { name, version, configHash: configHash({ name, version, ...LIMITS }), verify: promiseOf(verifyNow), verifyNow };
}
