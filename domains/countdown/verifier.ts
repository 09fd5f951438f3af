import { AppError } from '../../operators/common/errors.js';
import { configHash } from '../../operators/common/hash.js';
import type { Verdict, Verifier } from '../../operators/verify/verifier.js';
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
  return {
    name,
    version,
    configHash: configHash({ name, version, ...LIMITS }),
    verify(problem: Problem, response: string): Promise<Verdict> {
      const target = problem.target ?? Number(problem.answer);
      if (problem.numbers === undefined || !Number.isSafeInteger(target)) {
        // Bad data, not a verdict: labelling every response wrong would silently poison the tree.
        return Promise.reject(new AppError('schema', `countdown problem ${problem.id} has no numbers or integer target`));
      }
      return Promise.resolve(judgeCountdown(problem.numbers, target, response));
    },
  };
}
