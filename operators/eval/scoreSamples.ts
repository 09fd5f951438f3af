import { pearson } from '../common/stats.js';

/** One sampled response to a problem, as judged. */
export interface JudgedResponse {
  /** The verifier's verdict on the response's last boxed answer. */
  readonly correct: boolean;
  /** What counts as the same answer in a vote (null: no answer, no vote). */
  readonly voteKey: string | null;
  /** Backtrack sentences in the response (ASTRO's reflection text). */
  readonly backtracks: number;
  /** Cut by a length limit. */
  readonly truncated: boolean;
}

/** The paper's evaluation (ASTRO-METHOD §5): pass@1 over samples, maj@k, backtracks and their correlation with accuracy. */
export interface SampleScores {
  readonly problems: number;
  /** Responses per problem. */
  readonly samples: number;
  /** Mean over problems of the share of correct responses (pass@1 averaged over the samples). */
  readonly pass_at_1: number;
  /** k of maj@k: the first k responses of each problem vote. */
  readonly maj_k: number;
  /** Share of problems whose most voted answer among the first k responses is correct. */
  readonly maj_at_k: number;
  readonly avg_backtracks: number;
  /** Pearson r between a response's backtracks and its correctness (1/0); null when either is constant. */
  readonly backtracks_correct_pearson: number | null;
  /** Pearson r between a problem's mean backtracks and its pass@1; null when either is constant. */
  readonly problem_backtracks_pass_pearson: number | null;
  /** Responses by backtracks, split by correctness. */
  readonly backtracks_by_correctness: Readonly<Record<string, { readonly correct: number; readonly incorrect: number }>>;
  /** Responses without an answer to vote with. */
  readonly unanswered: number;
  readonly truncated: number;
}

/**
 * The most voted answer among `responses` and whether it is correct. Responses without an answer
 * abstain; a tie goes to the answer seen first. No votes at all is a wrong majority.
 */
export function majorityCorrect(responses: readonly JudgedResponse[]): boolean {
  const votes = new Map<string, { count: number; correct: boolean }>();
  for (const r of responses) {
    if (r.voteKey === null) continue;
    const v = votes.get(r.voteKey);
    if (v === undefined) votes.set(r.voteKey, { count: 1, correct: r.correct });
    else v.count += 1;
  }
  let best: { count: number; correct: boolean } | undefined;
  // Map iteration is insertion order: a later answer must have strictly more votes to win.
  for (const v of votes.values()) if (best === undefined || v.count > best.count) best = v;
  return best?.correct ?? false;
}

/**
 * Scores judged responses, one list per problem (ASTRO-METHOD §5 and §4's backtrack
 * correlation). Problems may have different numbers of responses (a failed request); `samples`
 * reports the largest.
 *
 * @example scoreSamples([[{ correct: true, voteKey: '7', backtracks: 1, truncated: false }]], 8)
 */
export function scoreSamples(perProblem: readonly (readonly JudgedResponse[])[], majK: number): SampleScores {
  const all = perProblem.flat();
  const byCorrectness: Record<string, { correct: number; incorrect: number }> = {};
  for (const r of all) {
    const cell = (byCorrectness[String(r.backtracks)] ??= { correct: 0, incorrect: 0 });
    if (r.correct) cell.correct += 1;
    else cell.incorrect += 1;
  }
  const rates = perProblem.filter((rs) => rs.length > 0).map((rs) => rs.filter((r) => r.correct).length / rs.length);
  const meanBacktracks = perProblem.filter((rs) => rs.length > 0).map((rs) => rs.reduce((a, r) => a + r.backtracks, 0) / rs.length);
  const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    problems: perProblem.length,
    samples: Math.max(0, ...perProblem.map((rs) => rs.length)),
    pass_at_1: mean(rates),
    maj_k: majK,
    maj_at_k: mean(perProblem.map((rs) => (majorityCorrect(rs.slice(0, majK)) ? 1 : 0))),
    avg_backtracks: mean(all.map((r) => r.backtracks)),
    backtracks_correct_pearson: pearson(all.map((r) => [r.backtracks, r.correct ? 1 : 0])),
    problem_backtracks_pass_pearson: pearson(meanBacktracks.map((b, i) => [b, rates[i] ?? 0])),
    backtracks_by_correctness: Object.fromEntries(Object.entries(byCorrectness).sort(([a], [b]) => Number(a) - Number(b))),
    unanswered: all.filter((r) => r.voteKey === null).length,
    truncated: all.filter((r) => r.truncated).length,
  };
}
