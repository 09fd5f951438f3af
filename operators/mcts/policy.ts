import type { Problem } from '../../schemas/problem.js';

/** S_t = (x, s_0 … s_t): the problem plus the steps so far (ASTRO-METHOD §1). */
export interface SearchState {
  readonly problem: Problem;
  readonly steps: readonly string[];
}

/** Sampling settings for one request. `seed` makes the call reproducible. */
export interface SampleOptions {
  readonly seed: number;
  readonly temperature: number;
  readonly topP: number;
  /** Rollouts only: stop after this many more steps (a rollout that reaches it is truncated). */
  readonly maxSteps?: number;
}

/** One proposed next step. */
export interface StepProposal {
  /** One paragraph (no blank line); terminal when it contains `\boxed{`. */
  readonly text: string;
  /** Length-normalized log-probability, when the backend returns log-probabilities. */
  readonly logprob?: number;
  /** Prior given directly by the backend (built-in networks); takes precedence over `logprob`. */
  readonly prior?: number;
}

/** One rollout from a state to a final answer. */
export interface Rollout {
  /** The remaining steps, joined by the step delimiter. */
  readonly text: string;
  /** Stopped by a length limit before stating an answer. */
  readonly truncated: boolean;
}

/** Usage for accounting (LLM backends). */
export interface PolicyUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly calls: number;
  /**
   * The model versions that answered these calls, in the order they first answered: set by
   * backends whose model can change during a run (a served model swapped for a newer version),
   * so a tree records what produced it rather than what was current when it started.
   */
  readonly versions?: readonly string[];
}

/**
 * The model that proposes steps. Batched: every call takes many states, so a backend can
 * evaluate them together (one ONNX run, or one `n`-sampled HTTP request per state).
 */
export interface Policy {
  /** name@version, recorded in every tree. */
  readonly version: string;
  /** For each state, `n` sampled candidate next steps (duplicates allowed; the search dedupes). */
  proposeSteps(states: readonly SearchState[], n: number, options: SampleOptions): Promise<StepProposal[][]>;
  /** For each state, `n` rollouts to a final answer. */
  rollout(states: readonly SearchState[], n: number, options: SampleOptions): Promise<Rollout[][]>;
  /** Cumulative usage since creation. */
  usage(): PolicyUsage;
  /**
   * Usage attributed to one problem since the last take, then forgotten. Backends that see per-call
   * usage (LLM servers) implement it so each tree records its own token counts.
   */
  takeUsage?(problemId: string): PolicyUsage;
  close?(): Promise<void>;
}

/** Joins the versions of a tree produced by more than one model version (`a@v1.…+a@v2.…`). */
export const POLICY_VERSION_JOIN = '+';

/** One step delimiter everywhere (ASTRO-METHOD §7.2). */
export const STEP_DELIMITER = '\n\n';

/** A step is terminal when it states a final answer. */
export const isTerminalStep = (step: string): boolean => step.includes('\\boxed{');
