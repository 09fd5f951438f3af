import { ACTION_COUNT, applyAction, initialState, type CountdownState } from '../../domains/countdown/actions.js';
import { createRng, deriveSeed, type Rng } from '../../operators/common/rng.js';
import { STEP_DELIMITER } from '../../operators/mcts/policy.js';
import type { Verifier } from '../../operators/verify/verifier.js';
import type { PolicyValueNet } from '../../models/policyValueNet.js';
import type { Problem } from '../../schemas/problem.js';
import type { RolloutSample } from '../../schemas/rolloutGroup.js';
import { DEFAULT_ROLLOUT_MAX_STEPS, evaluateCountdownStates } from '../policies/onnxPolicy.js';
import { sampleAction } from '../policies/sampling.js';

interface Game {
  state: CountdownState;
  readonly steps: string[];
  readonly actions: number[];
  logprob: number;
  readonly rng: Rng;
  done: boolean;
  truncated: boolean;
}

/**
 * Samples `groupSize` complete solutions of one Countdown problem from the network's prior
 * (temperature 1, no nucleus cut, so `logprob` is exactly Σ log π(a_t|s_t) of the sampling policy,
 * what the clipped objective's ratio needs), verifies each and rewards +1 correct, −1 otherwise
 * (unparseable or truncated = −1). Games advance in lock-step: one network call per round.
 */
export async function sampleRolloutGroup(
  net: PolicyValueNet,
  problem: Problem,
  groupSize: number,
  deps: { readonly verifier: Verifier; readonly seed: number; readonly maxSteps?: number },
): Promise<RolloutSample[]> {
  const maxSteps = deps.maxSteps ?? DEFAULT_ROLLOUT_MAX_STEPS;
  const start = initialState(problem);
  const games: Game[] = [];
  for (let g = 0; g < groupSize; g++) {
    games.push({ state: start, steps: [], actions: [], logprob: 0, rng: createRng(deriveSeed(deps.seed, problem.id, 'rl', g)), done: false, truncated: false });
  }
  for (;;) {
    const active = games.filter((g) => !g.done);
    if (active.length === 0) break;
    const ev = await evaluateCountdownStates(net, active.map((g) => g.state));
    active.forEach((game, k) => {
      const action = sampleAction(ev.priors, ev.mask, k * ACTION_COUNT, ACTION_COUNT, { temperature: 1, topP: 1 }, game.rng);
      if (action < 0) {
        game.done = true;
        return;
      }
      // A float32 prior can underflow to 0 for a legal action the sampler still picked (uniform fallback).
      game.logprob += Math.log(Math.max(ev.priors[k * ACTION_COUNT + action] ?? 0, 1e-30));
      const applied = applyAction(game.state, action);
      game.state = applied.state;
      game.steps.push(applied.step);
      game.actions.push(action);
      if (applied.terminal) game.done = true;
      else if (game.steps.length >= maxSteps) {
        game.done = true;
        game.truncated = true;
      }
    });
  }
  const samples: RolloutSample[] = [];
  for (const game of games) {
    const completion = game.steps.join(STEP_DELIMITER);
    const verdict = await deps.verifier.verify(problem, completion);
    const correct = verdict.correct && !game.truncated;
    samples.push({ completion, answer: verdict.extracted, correct, truncated: game.truncated, reward: correct ? 1 : -1, logprob: game.logprob, actions: game.actions });
  }
  return samples;
}
