import type { Policy, PolicyUsage, Rollout, SampleOptions, SearchState, StepProposal } from '../../operators/mcts/policy.js';
import { STEP_DELIMITER } from '../../operators/mcts/policy.js';
import { AppError } from '../../operators/common/errors.js';
import { createRng, deriveSeed, type Rng } from '../../operators/common/rng.js';
import type { Problem } from '../../schemas/problem.js';
import {
  ACTION_COUNT,
  FEATURE_COUNT,
  MAX_NUMBERS,
  applyAction,
  encodeState,
  initialState,
  legalMask,
  replaySteps,
  type CountdownState,
} from '../../domains/countdown/actions.js';
import { PolicyValueNet } from '../../models/policyValueNet.js';
import { initialCountdownModelPath } from '../../models/paths.js';
import type { PolicyValueOutput } from '../../models/forward.js';
import { argmaxLegal, sampleAction } from './sampling.js';

/** Where the Countdown network comes from and how it is run. */
export interface OnnxCountdownPolicyConfig {
  /** ONNX model file; default: the committed `models/countdown/initial.onnx`. */
  readonly modelPath?: string;
  /** Most states per onnxruntime run (default 256); 1 is the unbatched baseline. */
  readonly maxBatch?: number;
  /** Overrides the default `countdown-mlp@<first 12 hex of the model sha256>`. */
  readonly version?: string;
}

/** A batch of Countdown states evaluated by the network, with the legal-action mask used. */
export interface EvaluatedStates extends PolicyValueOutput {
  readonly mask: Float32Array;
}

/** Rollout length when `SampleOptions.maxSteps` is absent: a game never needs more than 2 × MAX_NUMBERS steps. */
export const DEFAULT_ROLLOUT_MAX_STEPS = 2 * MAX_NUMBERS;

/**
 * Loads the Countdown policy-value network and serves it as a {@link Policy}: step proposals are
 * sampled from the network's prior (with `prior` set), rollouts are played by the network in
 * lock-step batches. Every state is re-derived from its step texts, so it accepts steps written
 * by any policy that `replaySteps` understands.
 */
export async function createOnnxCountdownPolicy(config: OnnxCountdownPolicyConfig = {}): Promise<Policy> {
  const net = await PolicyValueNet.load(config.modelPath ?? initialCountdownModelPath(), { maxBatch: config.maxBatch ?? 256 });
  return createCountdownNetPolicy(net, config.version === undefined ? {} : { version: config.version });
}

/** Evaluates Countdown states in one batched `evaluate` call (split by the net's maxBatch). */
export async function evaluateCountdownStates(net: PolicyValueNet, states: readonly CountdownState[]): Promise<EvaluatedStates> {
  const features = new Float32Array(states.length * FEATURE_COUNT);
  const mask = new Float32Array(states.length * ACTION_COUNT);
  states.forEach((s, k) => {
    encodeState(s, features, k * FEATURE_COUNT);
    legalMask(s, mask, k * ACTION_COUNT);
  });
  const out = await net.evaluate(features, mask, states.length);
  return { ...out, mask };
}

/**
 * Wraps an already loaded network (e.g. one the trainer just built from weights) as a Policy.
 * Throws a `config` AppError when the network's shapes are not the Countdown action model's.
 * `usage().calls` counts batched network evaluations (one per proposeSteps call, one per rollout
 * round); tokens are 0. States whose steps do not replay, or that are already answered, get an
 * empty list from both proposeSteps and rollout. `close()` releases the network.
 */
export function createCountdownNetPolicy(net: PolicyValueNet, options: { readonly version?: string } = {}): Policy {
  if (net.featureCount !== FEATURE_COUNT || net.actionCount !== ACTION_COUNT) {
    throw new AppError('config', `model has ${net.featureCount} features / ${net.actionCount} actions; countdown needs ${FEATURE_COUNT} / ${ACTION_COUNT}`);
  }
  let calls = 0;
  const evaluate = (states: readonly CountdownState[]): Promise<EvaluatedStates> => {
    calls++;
    return evaluateCountdownStates(net, states);
  };

  return {
    version: options.version ?? `countdown-mlp@${net.sha256.slice(0, 12)}`,

    async proposeSteps(states: readonly SearchState[], n: number, opts: SampleOptions): Promise<StepProposal[][]> {
      const out: StepProposal[][] = states.map(() => []);
      const live = replayLive(states);
      if (live.length === 0 || n <= 0) return out;
      const ev = await evaluate(live.map((l) => l.state));
      live.forEach(({ index, state }, k) => {
        // Keyed by the state's position, not by call order: same request, same proposals.
        const rng = createRng(deriveSeed(opts.seed, index));
        const proposals = out[index] ?? [];
        for (let r = 0; r < n; r++) {
          const action = sampleAction(ev.priors, ev.mask, k * ACTION_COUNT, ACTION_COUNT, opts, rng);
          if (action < 0) break;
          proposals.push({ text: applyAction(state, action).step, prior: ev.priors[k * ACTION_COUNT + action] ?? 0 });
        }
      });
      return out;
    },

    async rollout(states: readonly SearchState[], n: number, opts: SampleOptions): Promise<Rollout[][]> {
      const maxSteps = opts.maxSteps ?? DEFAULT_ROLLOUT_MAX_STEPS;
      const walkers: Walker[] = [];
      for (const { index, state } of replayLive(states)) {
        for (let r = 0; r < n; r++) {
          walkers.push({ index, state, steps: [], rng: createRng(deriveSeed(opts.seed, index, 'rollout', r)), done: maxSteps <= 0, truncated: maxSteps <= 0 });
        }
      }
      const choose: Choose = (w, ev, k) => sampleAction(ev.priors, ev.mask, k * ACTION_COUNT, ACTION_COUNT, opts, w.rng);
      await advanceLockStep(walkers, evaluate, choose, maxSteps);
      const out: Rollout[][] = states.map(() => []);
      for (const w of walkers) out[w.index]?.push({ text: w.steps.join(STEP_DELIMITER), truncated: w.truncated });
      return out;
    },

    usage(): PolicyUsage {
      return { promptTokens: 0, completionTokens: 0, calls };
    },

    async close(): Promise<void> {
      await net.close();
    },
  };
}

/** Greedy play (argmax of the prior, no sampling) for each problem, all games advanced in lock-step; returns each game's steps. */
export async function greedySolveAll(net: PolicyValueNet, problems: readonly Problem[], maxSteps = DEFAULT_ROLLOUT_MAX_STEPS): Promise<string[][]> {
  const walkers: Walker[] = problems.map((p, index) => ({ index, state: initialState(p), steps: [], rng: createRng(0), done: maxSteps <= 0, truncated: maxSteps <= 0 }));
  await advanceLockStep(walkers, (s) => evaluateCountdownStates(net, s), (_w, ev, k) => argmaxLegal(ev.priors, ev.mask, k * ACTION_COUNT, ACTION_COUNT), maxSteps);
  return walkers.map((w) => w.steps);
}

/** Greedy play of one problem: the steps the network's argmax takes, ending in an answer unless cut at `maxSteps`. */
export async function greedySolve(net: PolicyValueNet, problem: Problem, maxSteps = DEFAULT_ROLLOUT_MAX_STEPS): Promise<string[]> {
  return (await greedySolveAll(net, [problem], maxSteps))[0] ?? [];
}

// One game in progress: a rollout or a greedy solve.
interface Walker {
  readonly index: number;
  state: CountdownState;
  readonly steps: string[];
  readonly rng: Rng;
  done: boolean;
  truncated: boolean;
}

type Choose = (walker: Walker, ev: EvaluatedStates, row: number) => number;

// Each round evaluates every unfinished game in one batched call, so the network sees batches as
// wide as the number of games, whatever the games' lengths.
async function advanceLockStep(walkers: Walker[], evaluate: (s: readonly CountdownState[]) => Promise<EvaluatedStates>, choose: Choose, maxSteps: number): Promise<void> {
  for (;;) {
    const active = walkers.filter((w) => !w.done);
    if (active.length === 0) return;
    const ev = await evaluate(active.map((w) => w.state));
    active.forEach((w, k) => {
      const action = choose(w, ev, k);
      if (action < 0) {
        // No legal action (cannot happen before an answer: a combine is legal while two numbers
        // remain, the answer when one does). End, unanswered.
        w.done = true;
        return;
      }
      const applied = applyAction(w.state, action);
      w.state = applied.state;
      w.steps.push(applied.step);
      if (applied.terminal) w.done = true;
      else if (w.steps.length >= maxSteps) {
        w.done = true;
        w.truncated = true;
      }
    });
  }
}

// States whose steps replay and that can still move; the others get empty results.
function replayLive(states: readonly SearchState[]): { index: number; state: CountdownState }[] {
  const live: { index: number; state: CountdownState }[] = [];
  states.forEach((s, index) => {
    const state = replaySteps(s.problem, s.steps);
    if ('error' in state || state.answered !== null) return;
    live.push({ index, state });
  });
  return live;
}
