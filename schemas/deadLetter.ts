import { z } from 'zod';

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
  /** Original bytes, base64. */
  value_base64: z.string(),
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
