import type { ChoiceLogprobs } from './completionResponse.js';

/**
 * Length-normalized log-probability of a sampled step: the mean of its token log-probabilities
 * (ASTRO-METHOD §2 prior). Tokens at or past the step delimiter are not part of the step, and a
 * null first token (some servers return it for the prompt boundary) is skipped. Returns undefined
 * when the backend sent no usable log-probabilities, so the search falls back to uniform priors.
 * Both server layouts arrive here normalized (completionResponse.ts).
 */
export function lengthNormalizedLogprob(logprobs: ChoiceLogprobs | null | undefined): number | undefined {
  const values = logprobs?.token_logprobs;
  if (values === undefined || values.length === 0) return undefined;
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    sum += v;
    count += 1;
  }
  return count === 0 ? undefined : sum / count;
}
