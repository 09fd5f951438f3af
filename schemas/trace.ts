import { z } from 'zod';

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
