import { z } from 'zod';
import { Bool, Field, Float64, Int32, Schema, TimestampMillisecond, Utf8 } from 'apache-arrow';
import { nullableField, optionalField } from './arrow.js';
import { jsonCodec, type Codec } from './codec.js';

/** Suffix of every dead-letter topic: `<topic>.dlq`. */
export const DLQ_SUFFIX = '.dlq';
export const dlqTopicOf = (topic: string): string => `${topic}${DLQ_SUFFIX}`;

/** A record a stage could not handle, with the reason and the original bytes. Never silently lost. */
export const DeadLetter = z.object({
  /** Topic the record was read from. */
  source_topic: z.string(),
  source_partition: z.number().int().nonnegative(),
  source_offset: z.number().int().nonnegative(),
  key: z.string().nullable(),
  /** Original bytes, base64 (only their first part when `value_truncated`). */
  value_base64: z.string(),
  /** Size of the original record in bytes, when `value_base64` may not hold all of it. */
  value_bytes: z.number().int().nonnegative().optional(),
  /** True when the original was larger than a dead letter can carry and `value_base64` holds its first bytes. */
  value_truncated: z.boolean().optional(),
  /** Stage that failed: `search`, `verify`, ... */
  stage: z.string(),
  /** ErrorKind of the failure. */
  error_kind: z.string(),
  retriable: z.boolean(),
  /** Human-readable reason naming what was wrong. */
  reason: z.string(),
  failed_at: z.number(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

export const DeadLetterArrow = new Schema([
  new Field('source_topic', new Utf8(), false),
  new Field('source_partition', new Int32(), false),
  // Offsets can pass 2^31 on a long-lived topic; Float64 is exact to 2^53 and stays a JS number.
  new Field('source_offset', new Float64(), false),
  nullableField('key', new Utf8()),
  new Field('value_base64', new Utf8(), false),
  optionalField('value_bytes', new Float64()),
  optionalField('value_truncated', new Bool()),
  new Field('stage', new Utf8(), false),
  new Field('error_kind', new Utf8(), false),
  new Field('retriable', new Bool(), false),
  new Field('reason', new Utf8(), false),
  new Field('failed_at', new TimestampMillisecond(), false),
]);

export const DeadLetterCodec: Codec<DeadLetter> = jsonCodec(DeadLetter, 'dead_letter');
