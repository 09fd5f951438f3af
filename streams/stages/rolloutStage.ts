import type { Domain } from '../../domains/domain.js';
import { stableId } from '../../operators/common/hash.js';
import type { Metrics } from '../../operators/common/metrics.js';
import { attempt, type Result } from '../../operators/common/result.js';
import { verifierId } from '../../operators/verify/verifier.js';
import { ProblemCodec, type Problem } from '../../schemas/problem.js';
import { RolloutGroupCodec, ROLLOUTS_TOPIC, type RolloutGroup } from '../../schemas/rolloutGroup.js';
import { PROBLEM_SOURCE_PATTERN } from '../../schemas/topics.js';
import type { LoadedPolicy } from '../policies/policyWatcher.js';
import { sampleRolloutGroup } from '../trainer/sampleRolloutGroup.js';
import type { StageOutcome, StageSpec } from './stageRuntime.js';

/** Consumer group of the rollout stage (next to STAGE_GROUPS, which another module owns). */
export const ROLLOUT_GROUP_ID = 'astro.rollouts';

export interface RolloutStageConfig {
  /** G: completions sampled per prompt (the paper's 4). */
  readonly groupSize: number;
  /** Problems handled at once. */
  readonly concurrency: number;
  readonly seed: number;
  readonly groupId?: string;
}

export interface RolloutStageDeps {
  /** Read per problem: the newest loaded policy version (hot swap between problems). */
  readonly policy: () => LoadedPolicy;
  readonly domainOf: (name: string) => Domain;
  readonly clock: () => number;
  readonly metrics: Metrics;
}

/**
 * problems → G sampled completions from the current policy, verified and rewarded (+1 / −1) →
 * one RolloutGroup per problem on `astro.rollouts.v1`, stamped with the policy version that
 * sampled it. Built-in Countdown network only (it records actions and exact log-probabilities).
 */
export function rolloutStageSpec(config: RolloutStageConfig, deps: RolloutStageDeps): StageSpec<Problem> {
  return {
    name: 'rollout',
    groupId: config.groupId ?? ROLLOUT_GROUP_ID,
    topics: PROBLEM_SOURCE_PATTERN,
    decode: ProblemCodec.decode,
    concurrency: config.concurrency,
    handle: (problem): Promise<Result<StageOutcome>> =>
      attempt(async () => {
        const loaded = deps.policy();
        const domain = deps.domainOf(problem.domain);
        const samples = await sampleRolloutGroup(loaded.net, problem, config.groupSize, { verifier: domain.verifier, seed: config.seed });
        const group: RolloutGroup = {
          group_id: stableId('rollout', problem.id, loaded.policy.version, config.seed, config.groupSize),
          problem_id: problem.id,
          domain: problem.domain,
          prompt: domain.prompt(problem),
          ground_truth: problem.answer,
          policy_version: loaded.policy.version,
          verifier: verifierId(domain.verifier),
          samples,
          created_at: deps.clock(),
        };
        deps.metrics.increment('rollout.groups');
        deps.metrics.increment('rollout.samples', samples.length);
        deps.metrics.increment('rollout.correct', samples.filter((s) => s.correct).length);
        return { outputs: [{ topic: ROLLOUTS_TOPIC, records: [{ key: problem.id, value: RolloutGroupCodec.encode(group) }] }] };
      }, 'policy'),
  };
}
