import { z } from 'zod';
import { Bool, Field, Int32, List, Schema, Struct, TimestampMillisecond, Utf8 } from 'apache-arrow';
import { jsonCodec, type Codec } from './codec.js';

/** Linearized chain-of-thought traces with full lineage. */
export const TRACES_TOPIC = 'astro.traces.v1';

export const TraceVariant = z.enum(['direct', 'search', 'direct_ablation']);
export type TraceVariant = z.infer<typeof TraceVariant>;

export const ChatMessage = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });
export type ChatMessage = z.infer<typeof ChatMessage>;

/** One training trace; field names are the Parquet output contract (README "Output format"). */
export const Trace = z.object({
  /** hash(tree id, linearizer config hash, variant index). */
  trace_id: z.string().min(1),
  tree_id: z.string().min(1),
  problem_id: z.string().min(1),
  domain: z.string().min(1),
  source: z.string().min(1),
  /** The Problem record as JSON. */
  problem_json: z.string(),
  prompt: z.string(),
  /** The chain of thought, ending with the correct `\boxed{}`. */
  completion: z.string(),
  /** [user prompt, assistant completion]: the chat layout SFT trainers read. */
  messages: z.array(ChatMessage),
  /** Content of the last `\boxed{}` of the completion. */
  answer: z.string(),
  /** The re-verification verdict of `answer`. */
  correct: z.boolean(),
  variant: TraceVariant,
  /** Number of wrong terminals visited before the correct one. */
  k: z.number().int().nonnegative(),
  /** Equals the number of backtrack sentences in `completion`. */
  num_backtracks: z.number().int().nonnegative(),
  num_reflections: z.number().int().nonnegative(),
  /** Node ids visited, in order (a walk of the tree). */
  node_path: z.array(z.number().int().nonnegative()),
  policy_version: z.string(),
  /** Linearizer name@version. */
  linearizer: z.string(),
  linearizer_config_hash: z.string(),
  /** Verifier name@version. */
  verifier: z.string(),
  /** Epoch ms; taken from the tree so replays give identical rows. */
  created_at: z.number(),
});
export type Trace = z.infer<typeof Trace>;

export const ChatMessageArrow = new Struct([new Field('role', new Utf8(), false), new Field('content', new Utf8(), false)]);

/** Arrow schema of Trace: the same columns as the Parquet output contract. */
export const TraceArrow = new Schema([
  new Field('trace_id', new Utf8(), false),
  new Field('tree_id', new Utf8(), false),
  new Field('problem_id', new Utf8(), false),
  new Field('domain', new Utf8(), false),
  new Field('source', new Utf8(), false),
  new Field('problem_json', new Utf8(), false),
  new Field('prompt', new Utf8(), false),
  new Field('completion', new Utf8(), false),
  new Field('messages', new List(new Field('item', ChatMessageArrow, false)), false),
  new Field('answer', new Utf8(), false),
  new Field('correct', new Bool(), false),
  new Field('variant', new Utf8(), false),
  new Field('k', new Int32(), false),
  new Field('num_backtracks', new Int32(), false),
  new Field('num_reflections', new Int32(), false),
  new Field('node_path', new List(new Field('item', new Int32(), false)), false),
  new Field('policy_version', new Utf8(), false),
  new Field('linearizer', new Utf8(), false),
  new Field('linearizer_config_hash', new Utf8(), false),
  new Field('verifier', new Utf8(), false),
  new Field('created_at', new TimestampMillisecond(), false),
]);

export const TraceCodec: Codec<Trace> = jsonCodec(Trace, 'trace');
