import { z } from 'zod';
import { Field, Int32, List, Schema, Utf8 } from 'apache-arrow';
import { optionalField } from './arrow.js';
import { jsonCodec, type Codec } from './codec.js';

/** Topic every problem source publishes to (new sources may also use `astro.problems.<name>.v1`). */
export const PROBLEMS_TOPIC = 'astro.problems.v1';

/**
 * One problem to search. Domain-specific structured fields are optional top-level columns
 * (Countdown: `numbers`, `target`) so that Arrow/Parquet keep them typed.
 */
export const Problem = z.object({
  /** Stable id: the same source row always gets the same id. */
  id: z.string().min(1),
  /** Domain that knows how to verify it: `countdown` | `math` | ... */
  domain: z.string().min(1),
  /** Where it came from: `countdown-generator`, `math500`, `gsm8k`, a file name, ... */
  source: z.string().min(1),
  /** The problem statement as shown to the policy. */
  question: z.string().min(1),
  /** Gold final answer as a string (Countdown: the target). */
  answer: z.string(),
  /** Optional reference solution text (math sources; used by the dry-run policy). */
  solution: z.string().optional(),
  /** Countdown: the given numbers. */
  numbers: z.array(z.number().int()).optional(),
  /** Countdown: the target. */
  target: z.number().int().optional(),
  /** Difficulty as the source defines it (Countdown: how many numbers; MATH: level). */
  difficulty: z.number().int().optional(),
  /** Extra source fields (subject, url, ...) as a JSON object string. */
  meta_json: z.string().optional(),
});
export type Problem = z.infer<typeof Problem>;

/** Arrow schema of Problem (same field names; optional fields nullable). */
export const ProblemArrow = new Schema([
  new Field('id', new Utf8(), false),
  new Field('domain', new Utf8(), false),
  new Field('source', new Utf8(), false),
  new Field('question', new Utf8(), false),
  new Field('answer', new Utf8(), false),
  optionalField('solution', new Utf8()),
  optionalField('numbers', new List(new Field('item', new Int32(), false))),
  optionalField('target', new Int32()),
  optionalField('difficulty', new Int32()),
  optionalField('meta_json', new Utf8()),
]);

export const ProblemCodec: Codec<Problem> = jsonCodec(Problem, 'problem');
