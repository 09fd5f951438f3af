/**
 * A tiny deterministic domain for tests: "reach the target from 0 by steps of +1, +2 or +3, then
 * state the total in \boxed{}". Steps read `Add 2: total 5.`; a terminal step reads
 * `The total is 5, so the answer is \boxed{5}.` and is correct when the total equals the target.
 * ToyPolicy samples from a fixed distribution with an rng keyed by the request seed and the
 * state, records every call, and can be slowed down or made to fail; toyVerifier checks the last
 * \boxed{}. Other test suites may reuse all of it.
 */
import type { Domain } from '../../domains/domain.js';
import { createRng, deriveSeed, type Rng } from '../../operators/common/rng.js';
import type { Policy, PolicyUsage, Rollout, SampleOptions, SearchState, StepProposal } from '../../operators/mcts/policy.js';
import { STEP_DELIMITER } from '../../operators/mcts/policy.js';
import type { Verdict, Verifier } from '../../operators/verify/verifier.js';
import type { Problem } from '../../schemas/problem.js';

/** A toy problem: reach `target` from 0. */
export function toyProblem(target: number, id = `toy-${target}`): Problem {
  return {
    id,
    domain: 'toy',
    source: 'toy-generator',
    question: `Starting from 0, reach ${target} by adding 1, 2 or 3 at each step.`,
    answer: String(target),
    target,
  };
}

/** The running total after some toy steps (0 for none). */
export function totalOf(steps: readonly string[]): number {
  for (let i = steps.length - 1; i >= 0; i -= 1) {
    const m = /total (\d+)/.exec(steps[i] ?? '');
    if (m?.[1] !== undefined) return Number(m[1]);
  }
  return 0;
}

export const addStep = (total: number, by: number): string => `Add ${by}: total ${total + by}.`;
export const answerStep = (total: number): string => `The total is ${total}, so the answer is \\boxed{${total}}.`;

/** The last `\boxed{...}` content of a text, or null. */
export function lastBoxed(text: string): string | null {
  const all = [...text.matchAll(/\\boxed\{([^{}]*)\}/g)];
  return all.at(-1)?.[1]?.trim() ?? null;
}

/** Exact-match verifier on the last \boxed{} (the toy domain's "one verifier"). */
export const toyVerifier: Verifier = {
  name: 'toy-verifier',
  version: '1',
  configHash: 'toy',
  async verify(problem: Problem, response: string): Promise<Verdict> {
    const extracted = lastBoxed(response);
    if (extracted === null) return { correct: false, extracted, reason: 'no \\boxed{}' };
    const correct = extracted === problem.answer.trim();
    return correct ? { correct, extracted } : { correct, extracted, reason: `expected ${problem.answer}` };
  },
};

/** One recorded policy call. */
export interface ToyCall {
  /** Problem id of the first state (search sends one problem per call). */
  readonly problemId: string;
  readonly kind: 'propose' | 'rollout';
  readonly states: readonly (readonly string[])[];
  readonly n: number;
  readonly options: SampleOptions;
}

export interface ToyPolicyOptions {
  readonly version?: string;
  /** What each proposal carries besides text: nothing (uniform priors), a logprob, or a prior. */
  readonly scores?: 'none' | 'logprob' | 'prior';
  /** Awaited before each call returns (vary timing to interleave concurrent searches). */
  readonly delay?: (call: ToyCall) => Promise<void>;
  /** Returns an error to throw for a call, or undefined. */
  readonly failOn?: (call: ToyCall) => unknown;
}

/** Probability of answering now: likely once the target is reached, sometimes (wrongly) before. */
const answerProbability = (total: number, target: number): number => (total >= target ? 0.7 : 0.15);

function sampleStep(rng: Rng, total: number, target: number): { text: string; p: number; answer: boolean; by: number } {
  const pa = answerProbability(total, target);
  if (rng.next() < pa) return { text: answerStep(total), p: pa, answer: true, by: 0 };
  const by = 1 + rng.int(3);
  return { text: addStep(total, by), p: (1 - pa) / 3, answer: false, by };
}

/** A deterministic, seeded toy Policy that records its calls. */
export class ToyPolicy implements Policy {
  readonly version: string;
  readonly calls: ToyCall[] = [];
  private readonly options: ToyPolicyOptions;

  constructor(options: ToyPolicyOptions = {}) {
    this.options = options;
    this.version = options.version ?? 'toy@1';
  }

  async proposeSteps(states: readonly SearchState[], n: number, options: SampleOptions): Promise<StepProposal[][]> {
    await this.enter({ problemId: states[0]?.problem.id ?? '', kind: 'propose', states: states.map((s) => s.steps), n, options });
    return states.map((state, i) => {
      const rng = createRng(deriveSeed(options.seed, i, ...state.steps));
      const total = totalOf(state.steps);
      const target = state.problem.target ?? 0;
      return Array.from({ length: n }, () => {
        const s = sampleStep(rng, total, target);
        const scores = this.options.scores ?? 'none';
        if (scores === 'logprob') return { text: s.text, logprob: Math.log(s.p) };
        if (scores === 'prior') return { text: s.text, prior: s.p };
        return { text: s.text };
      });
    });
  }

  async rollout(states: readonly SearchState[], n: number, options: SampleOptions): Promise<Rollout[][]> {
    await this.enter({ problemId: states[0]?.problem.id ?? '', kind: 'rollout', states: states.map((s) => s.steps), n, options });
    const maxSteps = options.maxSteps ?? 50;
    return states.map((state, i) =>
      Array.from({ length: n }, (_, j) => {
        const rng = createRng(deriveSeed(options.seed, i, j, ...state.steps));
        const target = state.problem.target ?? 0;
        let total = totalOf(state.steps);
        const steps: string[] = [];
        while (steps.length < maxSteps) {
          const s = sampleStep(rng, total, target);
          steps.push(s.text);
          if (s.answer) return { text: steps.join(STEP_DELIMITER), truncated: false };
          total += s.by;
        }
        return { text: steps.join(STEP_DELIMITER), truncated: true };
      }),
    );
  }

  usage(): PolicyUsage {
    return { promptTokens: 0, completionTokens: 0, calls: this.calls.length };
  }

  private async enter(call: ToyCall): Promise<void> {
    this.calls.push(call);
    if (this.options.delay !== undefined) await this.options.delay(call);
    const error = this.options.failOn?.(call);
    if (error !== undefined) throw error;
  }
}

/** The toy domain, for suites that want a whole Domain. */
export const toyDomain: Domain = {
  name: 'toy',
  verifier: toyVerifier,
  generate: ({ count, seed }) => {
    const rng = createRng(seed);
    return Array.from({ length: count }, (_, i) => toyProblem(2 + rng.int(8), `toy-${seed}-${i}`));
  },
  prompt: (problem) => `${problem.question}\nEnd with the total in \\boxed{}.`,
  describeStep: (step) => {
    const m = /Add (\d+): total (\d+)/.exec(step);
    return m === null ? 'stated the answer' : `added ${m[1]} to reach ${m[2]}`;
  },
};
