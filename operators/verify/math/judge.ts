import { compareAnswers, type AnswerText, type CompareConfig, type CompareDeps, type CompareMethod, type Comparison } from './compare.js';
import { undoubleEscapes } from './escapes.js';
import { proseAnswers, statedAnswers, type Extraction } from './extract.js';
import { normalizeAnswer } from './normalize.js';
import { readAnswer } from './readings.js';

/** A verdict on one (gold text, response) pair, with what was compared and how it was decided. */
export interface Judgement {
  readonly correct: boolean;
  /**
   * The deciding check; `no-answer` when a side had nothing answer-like; `timeout` / `cas-error`
   * when the CAS was needed and did not answer (the verdict is then "not equal").
   */
  readonly method: CompareMethod | 'no-answer' | 'timeout' | 'cas-error';
  readonly gold: Extraction | null;
  readonly pred: Extraction | null;
  readonly goldNormalized: string | null;
  readonly predNormalized: string | null;
  /** Not equal inline, but only a CAS could tell for sure (see `compareAnswers`). */
  readonly needsCas: boolean;
}

// Extraction is linear, so long responses are fine; only pathological ones are cut (keeping the
// end, where the final answer is).
const MAX_RESPONSE_CHARS = 200_000;

/**
 * The answer of a text: its first extraction candidate that parses (math-verify's rule: a
 * `\boxed{}` that does not parse gives way to the next candidate), else its first candidate. A
 * gold with nothing answer-like is taken whole; a response is not.
 */
export function pickAnswer(text: string, role: 'gold' | 'response'): Extraction | null {
  const cut = undoubleEscapes(text.length > MAX_RESPONSE_CHARS ? text.slice(-MAX_RESPONSE_CHARS) : text);
  // A stated answer (a box, "the answer is", `####`, the whole bare text) that does not parse gives
  // way to another stated answer, never to a number picked out of the prose: `\lim_{x\to0} 3`
  // is not the answer 3. The prose is searched only when nothing was stated.
  const stated = statedAnswers(cut);
  const pool = stated.length > 0 ? stated : proseAnswers(cut);
  for (const c of pool) {
    if (c.answer.length <= 4000 && readAnswer(normalizeAnswer(c.answer), c.plain).length > 0) return c;
  }
  const first = pool[0];
  if (first !== undefined || role === 'response') return first ?? null;
  const whole = cut.trim();
  return whole.length === 0 ? null : { answer: whole, method: 'whole', plain: !/[\\$]/.test(whole) };
}

/** How an extraction is handed to the comparison. */
export function answerText(e: Extraction): AnswerText {
  return { text: e.answer, plain: e.plain, fallback: e.method === 'last-number' };
}

/**
 * Judges a response against a gold text; either may be a bare answer or a whole solution. Inline
 * only unless `deps.cas` is given: see `compareAnswers`.
 */
export function judgeAnswer(goldText: string, response: string, config: CompareConfig, deps: CompareDeps = {}): Judgement {
  return judgeExtracted(pickAnswer(goldText, 'gold'), pickAnswer(response, 'response'), config, deps);
}

/** `judgeAnswer` for answers already extracted. */
export function judgeExtracted(gold: Extraction | null, pred: Extraction | null, config: CompareConfig, deps: CompareDeps = {}): Judgement {
  if (gold === null || pred === null) return { correct: false, method: 'no-answer', gold, pred, goldNormalized: null, predNormalized: null, needsCas: false };
  return fromComparison(gold, pred, compareAnswers(answerText(gold), answerText(pred), config, deps));
}

/** A judgement from a comparison of these two extractions. */
export function fromComparison(gold: Extraction, pred: Extraction, c: Comparison): Judgement {
  return { correct: c.equal, method: c.method, gold, pred, goldNormalized: c.goldNormalized, predNormalized: c.predNormalized, needsCas: c.needsCas };
}
