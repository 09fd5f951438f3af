import { AppError } from '../../operators/common/errors.js';
import type { Policy } from '../../operators/mcts/policy.js';

/** A policy stand-in that counts every call made to it and refuses to answer. */
export interface CountingPolicy extends Policy {
  /** Calls made so far (proposeSteps + rollout). */
  calls(): number;
}

/**
 * The only "policy" a replay has: replay must rebuild datasets from recorded trees without any
 * model call, so every method counts the call and throws a `policy` AppError. The count is
 * reported (`policy_calls`), which makes "no model was called" a measured fact, not a promise.
 */
export function createNoModelPolicy(): CountingPolicy {
  let calls = 0;
  const refuse = (what: string): never => {
    calls += 1;
    throw new AppError('policy', `replay must not call a model (${what})`);
  };
  return {
    version: 'none@replay',
    proposeSteps: async () => refuse('proposeSteps'),
    rollout: async () => refuse('rollout'),
    usage: () => ({ promptTokens: 0, completionTokens: 0, calls }),
    calls: () => calls,
  };
}
