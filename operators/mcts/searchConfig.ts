import { z } from 'zod';
import type { SearchSettings } from '../../schemas/searchTree.js';

/**
 * The MCTS knobs of ASTRO-METHOD §2. Validate user input once with {@link SearchConfigSchema}
 * (config files, CLI); the search itself trusts a `SearchConfig`.
 */
export interface SearchConfig {
  /** Candidate next steps sampled per expansion (one request with `n = k`). */
  readonly k: number;
  /** M: rollouts per new non-terminal child (one batched request per expansion); 0 gives R = 0. */
  readonly rollouts: number;
  /** Selection/expansion/backup iterations per problem (no early stop). */
  readonly iterations: number;
  /** Depth cap in steps: a non-terminal node at this depth is a dead end (R = 0). */
  readonly maxDepth: number;
  /** Exploration constant of PUCT. */
  readonly cPuct: number;
  /** Sampling temperature for steps and rollouts. */
  readonly temperature: number;
  /** Nucleus sampling mass for steps and rollouts, in (0, 1]. */
  readonly topP: number;
  /** Base seed; every sample derives its own seed from it and from what is sampled. */
  readonly seed: number;
  /** Steps a rollout may take before it counts as truncated; default: the depth left below the cap. */
  readonly rolloutMaxSteps?: number;
  /**
   * How visits and values are backed up (see backup.ts). `paper` (default): ASTRO-METHOD §2, one
   * visit per iteration along the selected path, new children unvisited. `legacy`: the backup
   * before it (each new child counts as a visit of every ancestor), kept to compare and to
   * describe trees recorded with it.
   */
  readonly backup?: BackupRule;
  /**
   * What selection does with a subtree that has nothing left to expand (visited terminals and
   * dead ends, and nodes whose children are all such): `skip` (default) never descends into it,
   * so every iteration expands a node or visits a new leaf, and the search ends early once the
   * whole tree is spent; `revisit` descends into it like any other and spends the iteration
   * visiting the leaf again, as the method's selection rule read literally does.
   */
  readonly exhausted?: ExhaustedRule;
}

/** Which backup produced a tree. */
export type BackupRule = 'paper' | 'legacy';
/** What selection does with spent subtrees. */
export type ExhaustedRule = 'skip' | 'revisit';

/** The paper's defaults (k = 8, M = 16, 32 iterations, depth 50, its backup) and ours (c_puct 1, T 1, top-p 0.95, spent subtrees skipped). */
export const DEFAULT_SEARCH_CONFIG: SearchConfig = {
  k: 8,
  rollouts: 16,
  iterations: 32,
  maxDepth: 50,
  cPuct: 1.0,
  temperature: 1.0,
  topP: 0.95,
  seed: 0,
  backup: 'paper',
  exhausted: 'skip',
};

/**
 * Zod validator for a (possibly partial) search config from a file or the CLI; missing fields
 * take {@link DEFAULT_SEARCH_CONFIG}. Unknown keys are rejected so typos do not pass silently.
 */
export const SearchConfigSchema = z
  .object({
    k: z.number().int().positive().default(DEFAULT_SEARCH_CONFIG.k),
    rollouts: z.number().int().nonnegative().default(DEFAULT_SEARCH_CONFIG.rollouts),
    iterations: z.number().int().positive().default(DEFAULT_SEARCH_CONFIG.iterations),
    maxDepth: z.number().int().positive().default(DEFAULT_SEARCH_CONFIG.maxDepth),
    cPuct: z.number().nonnegative().finite().default(DEFAULT_SEARCH_CONFIG.cPuct),
    temperature: z.number().nonnegative().finite().default(DEFAULT_SEARCH_CONFIG.temperature),
    topP: z.number().gt(0).max(1).default(DEFAULT_SEARCH_CONFIG.topP),
    seed: z.number().int().default(DEFAULT_SEARCH_CONFIG.seed),
    rolloutMaxSteps: z.number().int().positive().optional(),
    backup: z.enum(['paper', 'legacy']).default('paper'),
    exhausted: z.enum(['skip', 'revisit']).default('skip'),
  })
  .strict();

/** Parses and validates a search config; throws a ZodError describing every bad field. */
export function parseSearchConfig(input: unknown): SearchConfig {
  const parsed = SearchConfigSchema.parse(input ?? {});
  const { rolloutMaxSteps, ...rest } = parsed;
  return rolloutMaxSteps === undefined ? rest : { ...rest, rolloutMaxSteps };
}

/**
 * The snake_case settings recorded in every tree (schemas/searchTree.ts). A config without
 * `backup`/`exhausted` gets the defaults, so a tree always says which rules produced it.
 */
export function toSearchSettings(config: SearchConfig): SearchSettings {
  return {
    k: config.k,
    rollouts: config.rollouts,
    iterations: config.iterations,
    max_depth: config.maxDepth,
    c_puct: config.cPuct,
    temperature: config.temperature,
    top_p: config.topP,
    backup: config.backup ?? 'paper',
    exhausted: config.exhausted ?? 'skip',
  };
}
