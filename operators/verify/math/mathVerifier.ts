import { configHash } from '../../common/hash.js';
import type { Problem } from '../../../schemas/problem.js';
import { promiseOf, type Verdict, type Verifier } from '../verifier.js';
import { DEFAULT_COMPARE_CONFIG, type AnswerText, type CompareConfig, type Comparison } from './compare.js';
import { extractAnswer } from './extract.js';
import { answerText, fromComparison, judgeExtracted, pickAnswer, type Judgement } from './judge.js';

/** Name and semver of the math verifier; bump the version on any behaviour change. */
export const MATH_VERIFIER_NAME = 'math';
export const MATH_VERIFIER_VERSION = '2.0.0';

/** Comparison settings plus the wall-time bound of one verification. Hashed into every verdict. */
export interface MathVerifierConfig extends CompareConfig {
  /** Longest a verification may wait for the CAS, in ms; past it the verdict is "not equal" with method `timeout`. */
  readonly timeoutMs: number;
}

/** Defaults of `createMathVerifier()`. */
export const DEFAULT_MATH_VERIFIER_CONFIG: MathVerifierConfig = { ...DEFAULT_COMPARE_CONFIG, timeoutMs: 2000 };

/** What a CAS worker pool answers for one pair. */
export type CasResult = { readonly kind: 'compared'; readonly comparison: Comparison } | { readonly kind: 'timeout' } | { readonly kind: 'failed'; readonly reason: string };

/**
 * Runs `compareAnswers` with a CAS where it can be stopped: worker threads terminated and replaced
 * past the deadline (`streams/verifier/casPool.ts`). Never on the caller's event loop.
 */
export interface CasRunner {
  compare(gold: AnswerText, pred: AnswerText, config: CompareConfig, timeoutMs: number): Promise<CasResult>;
}

/** Capabilities of the math verifier. */
export interface MathVerifierDeps {
  /** Without one, pairs only a CAS could decide are judged not equal (method `none`). */
  readonly cas?: CasRunner;
}

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

// Verdicts are pure functions of (gold, extracted answer, config), and a search verifies thousands
// of rollouts that end in the same few answers: remember recent ones. Bounded; cleared wholesale
// when full (cheaper than LRU bookkeeping on this hot path). Timeouts are not remembered: they
// depend on load, not on the pair.
const MEMO_LIMIT = 20_000;

/**
 * The math answer verifier (`math@2.0.0`): extracts the response's final answer and compares it
 * with the gold answer (`compareAnswers`): strings, exact and rounded numbers, expressions at
 * sample points, structures, relations, all inline and bounded by input caps. Only a pair those
 * checks cannot settle goes to `deps.cas`, within `timeoutMs`. Every verdict says which check
 * decided it (`method`).
 *
 * @example const v = createMathVerifier({}, { cas: pool }); await v.verify(problem, 'so \\boxed{\\frac12}')
 */
export function createMathVerifier(config: Partial<MathVerifierConfig> = {}, deps: MathVerifierDeps = {}): Verifier {
  const full: MathVerifierConfig = { ...DEFAULT_MATH_VERIFIER_CONFIG, ...config };
  const memo = new Map<string, Verdict>();
  // The gold of a problem is extracted once: a search verifies thousands of responses against it.
  const golds = new Map<string, ReturnType<typeof pickAnswer>>();
  const goldOf = (gold: string): ReturnType<typeof pickAnswer> => {
    let g = golds.get(gold);
    if (g === undefined) {
      g = pickAnswer(gold, 'gold');
      if (golds.size >= MEMO_LIMIT) golds.clear();
      golds.set(gold, g);
    }
    return g;
  };
  const remember = (key: string, verdict: Verdict): Verdict => {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(key, verdict);
    return verdict;
  };
  const inline = (problem: Problem, response: string): { key: string; judgement: Judgement } | Verdict => {
    const gold = goldAnswerOf(problem);
    const pred = pickAnswer(response, 'response');
    if (gold === null) return { correct: false, extracted: pred?.answer ?? null, normalized: null, reason: 'problem has no gold answer', method: 'no-answer' };
    const key = `${gold}\u0000${pred?.answer ?? ''}\u0000${pred?.method ?? ''}\u0000${String(pred?.plain)}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    return { key, judgement: judgeExtracted(goldOf(gold), pred, full) };
  };
  const verifyNow = (problem: Problem, response: string): Verdict => {
    const r = inline(problem, response);
    return 'key' in r ? remember(r.key, toVerdict(r.judgement)) : r;
  };
  const cas = deps.cas;
  if (cas === undefined) return { name: MATH_VERIFIER_NAME, version: MATH_VERIFIER_VERSION, configHash: configHash(full), verify: promiseOf(verifyNow), verifyNow };
  const verify = async (problem: Problem, response: string): Promise<Verdict> => {
    const r = inline(problem, response);
    if (!('key' in r)) return r;
    const settled = await settleWithCas(r.judgement, full, cas);
    const verdict = toVerdict(settled);
    return settled.method === 'timeout' || settled.method === 'cas-error' ? verdict : remember(r.key, verdict);
  };
  return { name: MATH_VERIFIER_NAME, version: MATH_VERIFIER_VERSION, configHash: configHash(full), verify };
}

/**
 * An inline judgement, completed by the CAS when it needs one: the pair goes to `cas` with the
 * `timeoutMs` bound; a timeout or a CAS failure is "not equal" with method `timeout` / `cas-error`.
 */
export async function settleWithCas(j: Judgement, config: MathVerifierConfig, cas: CasRunner | undefined): Promise<Judgement> {
  if (cas === undefined || !j.needsCas || j.gold === null || j.pred === null) return j;
  const result = await cas.compare(answerText(j.gold), answerText(j.pred), config, config.timeoutMs);
  if (result.kind === 'compared') return fromComparison(j.gold, j.pred, result.comparison);
  return { ...j, correct: false, needsCas: false, method: result.kind === 'timeout' ? 'timeout' : 'cas-error' };
}

/** The verdict of a judgement (the predicted answer as `extracted`). */
export function toVerdict(j: Judgement): Verdict {
  const extracted = j.pred?.answer ?? null;
  if (j.correct) return { correct: true, extracted, normalized: j.predNormalized, method: j.method };
  return { correct: false, extracted, normalized: j.predNormalized, reason: reasonOf(j), method: j.method };
}

function reasonOf(j: Judgement): string {
  switch (j.method) {
    case 'no-answer':
      return j.pred === null ? 'no final answer found' : 'gold answer not found';
    case 'timeout':
      return 'the CAS did not decide within the time bound';
    case 'cas-error':
      return 'the CAS worker failed on this pair';
    default:
      return `not equal to gold ${JSON.stringify(j.goldNormalized)} (${j.method})`;
  }
}
