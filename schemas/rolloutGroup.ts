import { z } from 'zod';
import { Bool, Field, Float64, Int32, List, Schema, Struct, TimestampMillisecond, Utf8 } from 'apache-arrow';
import { nullableField, optionalField } from './arrow.js';
import { jsonCodec, type Codec } from './codec.js';

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

export const RolloutSampleArrow = new Struct([
  new Field('completion', new Utf8(), false),
  nullableField('answer', new Utf8()),
  new Field('correct', new Bool(), false),
  new Field('truncated', new Bool(), false),
  new Field('reward', new Float64(), false),
  nullableField('logprob', new Float64()),
  optionalField('actions', new List(new Field('item', new Int32(), false))),
]);

export const RolloutGroupArrow = new Schema([
  new Field('group_id', new Utf8(), false),
  new Field('problem_id', new Utf8(), false),
  new Field('domain', new Utf8(), false),
  new Field('prompt', new Utf8(), false),
  new Field('ground_truth', new Utf8(), false),
  new Field('policy_version', new Utf8(), false),
  new Field('verifier', new Utf8(), false),
  new Field('samples', new List(new Field('item', RolloutSampleArrow, false)), false),
  new Field('created_at', new TimestampMillisecond(), false),
]);

export const RolloutGroupCodec: Codec<RolloutGroup> = jsonCodec(RolloutGroup, 'rollout_group');
