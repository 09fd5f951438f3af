import { createRng, deriveSeed, type Rng } from '../../operators/common/rng.js';
import { isTerminalStep, STEP_DELIMITER, type Policy, type PolicyUsage, type Rollout, type SampleOptions, type SearchState, type StepProposal } from '../../operators/mcts/policy.js';
import type { Problem } from '../../schemas/problem.js';

/** How wrong the synthetic policy is. */
export interface DryRunPolicyConfig {
  /** Probability that a sampled step (or a rollout step) is a mistake instead of the reference step, in [0, 1]. */
  readonly mistakeRate: number;
  /** Overrides the recorded version (it must keep saying `synthetic`). */
  readonly version?: string;
}

export const DEFAULT_DRY_RUN_CONFIG: DryRunPolicyConfig = { mistakeRate: 0.3 };

/** Recorded in every tree and trace: the data is synthetic, not from a model. */
export const DRY_RUN_POLICY_VERSION = 'dry-run@1.0.0+synthetic';

/**
 * The reference solution as `## Step k:` steps: the problem's `solution` split into paragraphs at
 * blank lines, cut at the first paragraph with a `\boxed{}`, whose boxes are unwrapped and which
 * ends with `The final answer is \boxed{<gold answer>}.` so the last step always verifies. A
 * problem without a solution is one step: the answer.
 */
export function referenceSteps(problem: Pick<Problem, 'solution' | 'answer'>): string[] {
  const paragraphs = (problem.solution ?? '').split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 0);
  const end = paragraphs.findIndex((p) => p.includes('\\boxed'));
  const body = end < 0 ? paragraphs : paragraphs.slice(0, end + 1);
  const last = body.length - 1;
  const steps = body.map((p, i) => {
    const text = i === last ? `${unbox(p)} The final answer is \\boxed{${problem.answer}}.` : p;
    return `## Step ${i + 1}: ${text}`;
  });
  if (steps.length === 0 || !isTerminalStep(steps[steps.length - 1] ?? '')) steps.push(`## Step ${steps.length + 1}: The final answer is \\boxed{${problem.answer}}.`);
  return steps;
}

/**
 * A synthetic {@link Policy} for rehearsing a pipeline on real problem files without a model:
 * proposals are the reference solution's next step, a `mistakeRate` share of them (at least one
 * of k) replaced by mistakes (a number in it changed, or a final answer changed), so wrong
 * branches exist; each rollout step is a mistake with probability `mistakeRate`. A
 * state that left the reference path is continued with the reference text but ends in a wrong
 * answer keyed by where it left, so different wrong branches tend to reach different wrong answers.
 * Rollouts follow the same rules. Deterministic for a seed; costs no tokens. Its version
 * ({@link DRY_RUN_POLICY_VERSION}) marks every tree and trace as synthetic.
 */
export function createDryRunPolicy(config: DryRunPolicyConfig = DEFAULT_DRY_RUN_CONFIG): Policy {
  let calls = 0;
  const refs = new Map<string, string[]>();
  const refOf = (problem: Problem): string[] => {
    let r = refs.get(problem.id);
    if (r === undefined) {
      r = referenceSteps(problem);
      // Bounded: one entry per problem in flight is what matters; keep the cache from growing forever.
      if (refs.size > 1024) refs.clear();
      refs.set(problem.id, r);
    }
    return r;
  };

  /** The step at `pos` for a state whose first deviation (if any) is `deviation`; `rng` decides mistakes. */
  const nextStep = (ref: readonly string[], pos: number, deviation: string | null, rng: Rng, mistake: boolean): { text: string; deviation: string | null } => {
    const lastIndex = ref.length - 1;
    const reference = ref[Math.min(pos, lastIndex)] ?? '';
    const isFinal = pos >= lastIndex;
    if (mistake) {
      const text = isFinal ? wrongFinal(reference, 1 + rng.int(9)) : mutateNumber(reference, rng);
      return { text: numbered(text, pos), deviation: deviation ?? text };
    }
    if (deviation === null) return { text: reference, deviation: null };
    const text = isFinal ? wrongFinal(reference, 1 + (deriveSeed(0, deviation) % 9)) : reference;
    return { text: numbered(text, pos), deviation };
  };

  const locate = (state: SearchState): { ref: string[]; pos: number; deviation: string | null } | null => {
    const last = state.steps[state.steps.length - 1];
    if (last !== undefined && isTerminalStep(last)) return null;
    const ref = refOf(state.problem);
    const deviation = state.steps.find((s, i) => s.trim() !== ref[i]) ?? null;
    return { ref, pos: state.steps.length, deviation };
  };

  return {
    version: config.version ?? DRY_RUN_POLICY_VERSION,

    proposeSteps(states: readonly SearchState[], n: number, opts: SampleOptions): Promise<StepProposal[][]> {
      calls += 1;
      return Promise.resolve(
        states.map((state, index) => {
          const at = locate(state);
          if (at === null) return [];
          const rng = createRng(deriveSeed(opts.seed, index, state.steps.length));
          const mistakes = mistakeSlots(n, config.mistakeRate, rng);
          return Array.from({ length: n }, (_, i) => ({ text: nextStep(at.ref, at.pos, at.deviation, rng, mistakes.has(i)).text }));
        }),
      );
    },

    rollout(states: readonly SearchState[], n: number, opts: SampleOptions): Promise<Rollout[][]> {
      calls += 1;
      return Promise.resolve(
        states.map((state, index) => {
          const at = locate(state);
          if (at === null) return [];
          return Array.from({ length: n }, (_, r): Rollout => {
            const rng = createRng(deriveSeed(opts.seed, index, 'rollout', r));
            const steps: string[] = [];
            let deviation = at.deviation;
            for (let pos = at.pos; ; pos += 1) {
              if (opts.maxSteps !== undefined && steps.length >= opts.maxSteps) return { text: steps.join(STEP_DELIMITER), truncated: true };
              const next = nextStep(at.ref, pos, deviation, rng, rng.next() < config.mistakeRate);
              deviation = next.deviation;
              steps.push(next.text);
              if (isTerminalStep(next.text)) return { text: steps.join(STEP_DELIMITER), truncated: false };
            }
          });
        }),
      );
    },

    usage: (): PolicyUsage => ({ promptTokens: 0, completionTokens: 0, calls }),
  };
}

/**
 * Which of `n` sibling samples are mistakes: `n · rate` of them, rounded up or down at random so
 * the expected share is exact, and at least one when the rate is positive and n > 1 (so every
 * expansion has a wrong branch to explore, which is the point of a rehearsal).
 */
function mistakeSlots(n: number, rate: number, rng: Rng): Set<number> {
  let count = Math.min(n, Math.floor(n * rate + rng.next()));
  if (rate > 0 && n > 1) count = Math.max(1, count);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return new Set(order.slice(0, count));
}

// Off the reference path, the step keeps the number of its position.
function numbered(step: string, pos: number): string {
  return step.replace(/^## Step \d+:/, `## Step ${pos + 1}:`);
}

function unbox(text: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const at = text.indexOf('\\boxed{', i);
    if (at < 0) return out + text.slice(i);
    out += text.slice(i, at);
    let depth = 1;
    let j = at + 7;
    for (; j < text.length && depth > 0; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}') depth--;
    }
    out += text.slice(at + 7, depth === 0 ? j - 1 : j);
    i = j;
  }
}

// A calculation slip: one number of the step (not the step's own number) shifted by 1..9.
function mutateNumber(step: string, rng: Rng): string {
  const prefix = /^## Step \d+:\s*/.exec(step)?.[0] ?? '';
  const body = step.slice(prefix.length);
  const numbers = [...body.matchAll(/\d+/g)];
  const delta = 1 + rng.int(9);
  const pick = numbers[rng.int(Math.max(1, numbers.length))];
  if (pick === undefined || pick.index === undefined) return `${prefix}${body} (Here we assume the opposite sign, which gives an extra factor of ${delta + 1}.)`;
  return `${prefix}${body.slice(0, pick.index)}${Number(pick[0]) + delta}${body.slice(pick.index + pick[0].length)}`;
}

// The final step with a wrong boxed answer: the first number of the answer shifted, or `+ delta` appended.
function wrongFinal(step: string, delta: number): string {
  const at = step.lastIndexOf('\\boxed{');
  if (at < 0) return `${step} The final answer is \\boxed{${delta}}.`;
  const close = step.lastIndexOf('}');
  const answer = step.slice(at + 7, close);
  const m = /\d+/.exec(answer);
  const wrong = m === null || m.index === undefined ? `${answer}+${delta}` : `${answer.slice(0, m.index)}${Number(m[0]) + delta}${answer.slice(m.index + m[0].length)}`;
  return `${step.slice(0, at + 7)}${wrong}${step.slice(close)}`;
}
