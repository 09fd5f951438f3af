import { z } from 'zod';
import { Bool, Field, Float64, Int32, List, Schema, Struct, TimestampMillisecond, Utf8 } from 'apache-arrow';
import { nullableField, optionalField } from './arrow.js';
import { jsonCodec, type Codec } from './codec.js';
import { Problem, ProblemArrow } from './problem.js';

/** The expensive asset: one complete search tree per (problem, attempt). Retention: forever. */
export const TREES_TOPIC = 'astro.trees.v1';

/** One node of a search tree. Node 0 is the root (the problem, no step). */
export const TreeNode = z.object({
  /** Index of this node in `nodes` (root = 0). */
  id: z.number().int().nonnegative(),
  /** Parent index; -1 for the root. */
  parent: z.number().int().min(-1),
  /** Number of steps from the root (root = 0). */
  depth: z.number().int().nonnegative(),
  /** The step text (a paragraph, no blank lines); empty for the root. */
  step: z.string(),
  /** P(a|s) used by PUCT. */
  prior: z.number().min(0).max(1),
  /**
   * N(s): visit count. With the paper's backup a new child starts at 0 and every iteration adds 1
   * along its path; trees recorded with the legacy backup (no `settings.backup`) count each new
   * child as a visit of every ancestor. Kept as recorded.
   */
  visits: z.number().int().nonnegative(),
  /**
   * Q(s)·N(s), so Q = value_sum / visits for a visited node (an unvisited node's Q is its R). Q
   * follows ASTRO-METHOD §2: (Σ_children Q(c)·N(c) + R(s)) / (Σ_children N(c) + 1); below the root
   * that makes value_sum the sum R(s) + Σ_children value_sum.
   */
  value_sum: z.number().min(0),
  /** R(s): the rollout estimate (mean verified rollout success) or the verifier reward for a terminal. */
  rollout_estimate: z.number().min(0).max(1),
  /** How many rollouts produced `rollout_estimate` (0 for terminals and the root). */
  rollouts: z.number().int().nonnegative(),
  /** The last step states a final answer (`\boxed{}`). */
  terminal: z.boolean(),
  /** Expanded (children sampled). */
  expanded: z.boolean(),
  /** Extracted final answer of a terminal node; null otherwise. */
  answer: z.string().nullable(),
  /** Verifier verdict of a terminal node when known; null otherwise. */
  correct: z.boolean().nullable(),
});
export type TreeNode = z.infer<typeof TreeNode>;

/** The search knobs that produced a tree (all of ASTRO-METHOD §2). */
export const SearchSettings = z.object({
  k: z.number().int().positive(),
  rollouts: z.number().int().nonnegative(),
  iterations: z.number().int().positive(),
  max_depth: z.number().int().positive(),
  c_puct: z.number().nonnegative(),
  temperature: z.number().nonnegative(),
  top_p: z.number().gt(0).max(1),
  /** `paper` (ASTRO-METHOD §2) or `legacy`; absent in trees recorded before the field, which used the legacy backup. */
  backup: z.enum(['paper', 'legacy']).optional(),
  /** What selection did with spent subtrees: `skip` or `revisit`; absent = `revisit` (trees recorded before the field). */
  exhausted: z.enum(['skip', 'revisit']).optional(),
});
export type SearchSettings = z.infer<typeof SearchSettings>;

/** What the search cost. */
export const SearchStats = z.object({
  iterations: z.number().int().nonnegative(),
  step_samples: z.number().int().nonnegative(),
  rollouts: z.number().int().nonnegative(),
  policy_calls: z.number().int().nonnegative(),
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  duration_ms: z.number().nonnegative(),
});
export type SearchStats = z.infer<typeof SearchStats>;

export const SearchTree = z.object({
  /** hash(problem id, search settings, policy version, seed). */
  tree_id: z.string().min(1),
  problem_id: z.string().min(1),
  /** The whole problem, so downstream stages need no join. */
  problem: Problem,
  /**
   * The topic the search read the problem from (which problem source gave it). The sink tells a
   * second source reusing a problem id apart from a redelivery by it, also for trees it reads back
   * from disk after a restart. Absent in trees recorded before it existed.
   */
  problem_topic: z.string().min(1).optional(),
  /** Policy name@version that proposed the steps. */
  policy_version: z.string().min(1),
  /** Verifier name@version that scored terminals and rollouts during search. */
  search_verifier: z.string().min(1),
  /**
   * Config hash of that verifier. With `search_verifier`, it tells a replay whether the terminal
   * labels are already the configured verifier's. Absent in trees recorded before it existed.
   */
  search_verifier_config_hash: z.string().min(1).optional(),
  seed: z.number().int(),
  settings: SearchSettings,
  nodes: z.array(TreeNode).min(1),
  stats: SearchStats,
  /** Epoch ms when the search finished (injected clock). */
  created_at: z.number(),
});
export type SearchTree = z.infer<typeof SearchTree>;

export const TreeNodeArrow = new Struct([
  new Field('id', new Int32(), false),
  new Field('parent', new Int32(), false),
  new Field('depth', new Int32(), false),
  new Field('step', new Utf8(), false),
  new Field('prior', new Float64(), false),
  new Field('visits', new Int32(), false),
  new Field('value_sum', new Float64(), false),
  new Field('rollout_estimate', new Float64(), false),
  new Field('rollouts', new Int32(), false),
  new Field('terminal', new Bool(), false),
  new Field('expanded', new Bool(), false),
  nullableField('answer', new Utf8()),
  nullableField('correct', new Bool()),
]);

export const SearchSettingsArrow = new Struct([
  new Field('k', new Int32(), false),
  new Field('rollouts', new Int32(), false),
  new Field('iterations', new Int32(), false),
  new Field('max_depth', new Int32(), false),
  new Field('c_puct', new Float64(), false),
  new Field('temperature', new Float64(), false),
  new Field('top_p', new Float64(), false),
  optionalField('backup', new Utf8()),
  optionalField('exhausted', new Utf8()),
]);

export const SearchStatsArrow = new Struct([
  new Field('iterations', new Int32(), false),
  new Field('step_samples', new Int32(), false),
  new Field('rollouts', new Int32(), false),
  new Field('policy_calls', new Int32(), false),
  // Token counts of a big LLM search can exceed 2^31 over a long tree: Float64 keeps them exact to 2^53.
  new Field('prompt_tokens', new Float64(), false),
  new Field('completion_tokens', new Float64(), false),
  new Field('duration_ms', new Float64(), false),
]);

/** Fields of SearchTree, reused by VerifiedTree. */
export const searchTreeArrowFields: Field[] = [
  new Field('tree_id', new Utf8(), false),
  new Field('problem_id', new Utf8(), false),
  new Field('problem', new Struct(ProblemArrow.fields), false),
  optionalField('problem_topic', new Utf8()),
  new Field('policy_version', new Utf8(), false),
  new Field('search_verifier', new Utf8(), false),
  optionalField('search_verifier_config_hash', new Utf8()),
  new Field('seed', new Float64(), false),
  new Field('settings', SearchSettingsArrow, false),
  new Field('nodes', new List(new Field('item', TreeNodeArrow, false)), false),
  new Field('stats', SearchStatsArrow, false),
  new Field('created_at', new TimestampMillisecond(), false),
];

export const SearchTreeArrow = new Schema(searchTreeArrowFields);

export const SearchTreeCodec: Codec<SearchTree> = jsonCodec(SearchTree, 'tree');
