import type { Metrics } from '../../operators/common/metrics.js';
import type { Policy } from '../../operators/mcts/policy.js';
import { withOverrides } from './delegate.js';

const PROPOSE = { call: 'propose' } as const;
const ROLLOUT = { call: 'rollout' } as const;

/**
 * The policy, timing each batched call of the search as `policy.call_ms{call}` (exported as the
 * histogram `astro_policy_call_duration_ms`). Backend-independent: for an LLM it is the time of
 * the slowest request of the batch, for the built-in network one ONNX evaluation. Failed calls
 * are timed too (the time was spent).
 */
export function timedPolicy<P extends Policy>(policy: P, metrics: Metrics): P {
  const timed = async <T>(labels: typeof PROPOSE | typeof ROLLOUT, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      metrics.observe('policy.call_ms', performance.now() - started, labels);
    }
  };
  return withOverrides<P>(policy, {
    proposeSteps: (...args: Parameters<Policy['proposeSteps']>) => timed(PROPOSE, () => policy.proposeSteps(...args)),
    rollout: (...args: Parameters<Policy['rollout']>) => timed(ROLLOUT, () => policy.rollout(...args)),
  } as Partial<P>);
}
