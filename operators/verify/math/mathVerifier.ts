import { configHash } from '../../common/hash.js';
import type { Problem } from '../../../schemas/problem.js';
import { promiseOf, type Verdict, type Verifier } from '../verifier.js';
import { DEFAULT_COMPARE_CONFIG, compareAnswers, type CompareConfig } from './compare.js';
import { extractAnswer } from './extract.js';
import { createCas } from './symbolic.js';

/** Name and semver of the math verifier; bump the version on any behaviour change. */
export const MATH_VERIFIER_NAME = 'math';
export const MATH_VERIFIER_VERSION = '1.0.0';

// Extraction is linear, so long responses are fine; only pathological ones are cut (keeping the
// end, where the final answer is).
const MAX_RESPONSE_CHARS = 200_000;

/**
 * Extracts the gold answer from a problem: its `answer` field (itself extracted when it holds a
 * `\boxed{}` or `#### n`), else its `solution`.
 */
export function goldAnswerOf(problem: Pick<Problem, 'answer' | 'solution'>): string | null {
  const raw = problem.answer.trim().length > 0 ? problem.answer : problem.solution ?? '';
  if (raw.trim().length === 0) return null;
  if (/\\boxed|\\fbox|####/.test(raw)) return extractAnswer(raw)?.answer ?? null;
  return raw.trim();
}

/**
 * The math answer verifier (`math@1.0.0`): extracts the response's final answer and compares it
 * with the gold answer (see `compareAnswers`).
 *
 * @example const v = createMathVerifier(); await v.verify(problem, 'so \\boxed{\\frac12}')
 */
export function createMathVerifier(config: Partial<CompareConfig> = {}): Verifier {
  const full: CompareConfig = { ...DEFAULT_COMPARE_CONFIG, ...config };
  const cas = createCas();
  const verifyNow = (problem: Problem, response: string): Verdict => {
    const gold = goldAnswerOf(problem);
    const extracted = extractAnswer(response.length > MAX_RESPONSE_CHARS ? response.slice(-MAX_RESPONSE_CHARS) : response);
    if (gold === null) return { correct: false, extracted: extracted?.answer ?? null, normalized: null, reason: 'problem has no gold answer' };
    if (extracted === null) return { correct: false, extracted: null, normalized: null, reason: 'no final answer found' };
    const c = compareAnswers(gold, extracted.answer, full, { cas });
    return c.equal
      ? { correct: true, extracted: extracted.answer, normalized: c.predNormalized }
      : { correct: false, extracted: extracted.answer, normalized: c.predNormalized, reason: `not equal to gold ${JSON.stringify(c.goldNormalized)} (${c.method})` };
  };
  return { name: MATH_VERIFIER_NAME, version: MATH_VERIFIER_VERSION, configHash: configHash(full), verify: promiseOf(verifyNow), verifyNow };
}
