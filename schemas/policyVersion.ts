import { z } from 'zod';

/** Policy versions (compacted, keyed by policy name): where the weights are and how training went. */
export const POLICY_TOPIC = 'astro.policy.v1';

export const TrainingMetric = z.object({ name: z.string(), value: z.number() });

export const PolicyVersion = z.object({
  /** Policy family, e.g. `countdown-mlp`. */
  policy: z.string().min(1),
  /** Monotonic version number (0 = the shipped initial weights). */
  version: z.number().int().nonnegative(),
  /** Path of the ONNX file (content-addressed by sha256). */
  path: z.string().min(1),
  sha256: z.string().length(64),
  /** Trainer step at which it was exported. */
  step: z.number().int().nonnegative(),
  metrics: z.array(TrainingMetric),
  created_at: z.number(),
});
export type PolicyVersion = z.infer<typeof PolicyVersion>;
