import { z } from 'zod';
import { Field, Float64, Int32, List, Schema, Struct, TimestampMillisecond, Utf8 } from 'apache-arrow';
import { jsonCodec, type Codec } from './codec.js';

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

export const PolicyVersionArrow = new Schema([
  new Field('policy', new Utf8(), false),
  new Field('version', new Int32(), false),
  new Field('path', new Utf8(), false),
  new Field('sha256', new Utf8(), false),
  new Field('step', new Int32(), false),
  new Field('metrics', new List(new Field('item', new Struct([new Field('name', new Utf8(), false), new Field('value', new Float64(), false)]), false)), false),
  new Field('created_at', new TimestampMillisecond(), false),
]);

export const PolicyVersionCodec: Codec<PolicyVersion> = jsonCodec(PolicyVersion, 'policy_version');
