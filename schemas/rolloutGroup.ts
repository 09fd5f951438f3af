import { z } from 'zod';

/** Groups of G sampled completions per prompt with verified rewards, for RL. */
export const ROLLOUTS_TOPIC = 'astro.rollouts.v1';

export const RolloutSample = z.object({
  completion: z.string(),
  /** Extracted final answer, null when unparseable. */
  answer: z.string().nullable(),
  correct: z.boolean(),
  truncated: z.boolean(),
  /** +1 correct, −1 otherwise (unparseable or truncated = −1). */
  reward: z.number(),
  /** Sum of token log-probabilities under the sampling policy, when known (for the clipped objective). */
  logprob: z.number().nullable(),
  /** Action ids taken (built-in policies), for exact replay of the likelihood. */
  actions: z.array(z.number().int()).optional(),
});
export type RolloutSample = z.infer<typeof RolloutSample>;

export const RolloutGroup = z.object({
  group_id: z.string().min(1),
  problem_id: z.string().min(1),
  domain: z.string(),
  prompt: z.string(),
  /** Gold answer, for trainers that recompute rewards. */
  ground_truth: z.string(),
  policy_version: z.string(),
  verifier: z.string(),
  samples: z.array(RolloutSample).min(1),
  created_at: z.number(),
});
export type RolloutGroup = z.infer<typeof RolloutGroup>;
