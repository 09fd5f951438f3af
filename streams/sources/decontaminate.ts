import { filter, type OperatorFunction } from 'rxjs';
import type { Metrics } from '../../operators/common/metrics.js';
import type { Problem } from '../../schemas/problem.js';

/** Answers "is this question one of the evaluation set's?" by normalized text. */
export interface Decontaminator {
  /** Number of distinct normalized evaluation questions. */
  readonly size: number;
  isContaminated(question: string): boolean;
}

/**
 * Normalizes problem text for matching: lowercase, punctuation (and LaTeX markup characters)
 * stripped, whitespace collapsed. Two statements that differ only in `$`, commas or spacing match.
 */
export function normalizeProblemText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Builds a decontaminator from evaluation-set questions (e.g. MATH-500, AIME, AMC, GSM8K). */
export function createDecontaminator(evalQuestions: readonly string[]): Decontaminator {
  const set = new Set(evalQuestions.map(normalizeProblemText).filter((q) => q.length > 0));
  return { size: set.size, isContaminated: (q) => set.has(normalizeProblemText(q)) };
}

/** Capabilities of `decontaminate`. */
export interface DecontaminateDeps {
  readonly decontaminator: Decontaminator;
  readonly metrics: Metrics;
}

/**
 * Drops problems whose normalized text matches an evaluation problem, counting each drop in
 * `source.decontaminated` (dropped data is always counted, ASTRO-METHOD §7.8).
 */
export function decontaminate(deps: DecontaminateDeps): OperatorFunction<Problem, Problem> {
  return filter((p) => {
    if (!deps.decontaminator.isContaminated(p.question)) return true;
    deps.metrics.increment('source.decontaminated');
    return false;
  });
}
