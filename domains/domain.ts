import type { Problem } from '../schemas/problem.js';
import type { TokenCounter } from '../operators/linearize/tokenCount.js';
import type { Verifier } from '../operators/verify/verifier.js';

/** Settings for generated problem sets. */
export interface GenerateConfig {
  readonly count: number;
  readonly seed: number;
  /** Domain-specific difficulty (Countdown: how many numbers, 3–6). */
  readonly difficulty?: number;
}

/**
 * A problem domain: where problems come from, how they are verified, how steps are described
 * in backtrack sentences. Other domains plug in through this interface.
 */
export interface Domain {
  readonly name: string;
  readonly verifier: Verifier;
  /** Deterministic problems for a seed (generators); absent for file-only domains. */
  generate?(config: GenerateConfig): Problem[];
  /** The user prompt for a problem (what the policy and the trace's `prompt` see). */
  prompt(problem: Problem): string;
  /**
   * What a step did, as a clause after "Let's go back to where we ..." (without the final period),
   * e.g. `computed 75 - 25 = 50`.
   */
  describeStep(step: string): string;
  /**
   * The domain's own tokenizer, when it has one (the built-in Countdown domain does): caps traces
   * at `linearize.maxTraceTokens` when the policy offers no tokenizer of its own.
   */
  readonly tokenizer?: TokenCounter;
  /**
   * What counts as the same final answer in a majority vote (`eval --maj`), for domains where
   * equal answers are written differently; default: the verifier's normalized answer.
   */
  voteKey?(answer: string): string;
}
