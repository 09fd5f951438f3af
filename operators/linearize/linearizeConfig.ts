import { z } from 'zod';
import { AppError } from '../common/errors.js';
import { configHash } from '../common/hash.js';

/** Name@version of this linearizer, recorded in every trace. Bump it whenever output text changes. */
export const linearizerId = 'astro-linearizer@1.1.0';

/**
 * Linearizer settings (ASTRO-METHOD §3–4). Every **[default]** of the method is a field here.
 * - `kMix`: one trace per entry; 0 = direct trace, k ≥ 1 = search trace with k wrong terminals.
 *   Default `[0, 1, 1, 2]`: the paper's 1 direct + 3 search.
 * - `reflectionMinQ`: Q (in [0, 1]) an intermediate node needs for a positive reflection.
 * - `reflectionEverySteps`: at least this many forward steps between two reflections.
 * - `ablation`: also emit count-matched `direct_ablation` traces (no reflection text).
 * - `seed`: base seed for picking n* and the wrong terminals.
 * - `maxTraceChars`: drop traces whose completion is longer (characters), when set.
 * - `maxTraceTokens`: drop traces whose prompt and completion together are longer, in tokens of
 *   the policy's tokenizer (or an estimate, counted as such); default 8192, the paper's context.
 */
export const LinearizeConfig = z.object({
  kMix: z.array(z.number().int().nonnegative()).min(1).default([0, 1, 1, 2]),
  reflectionMinQ: z.number().min(0).max(1).default(0.75),
  reflectionEverySteps: z.number().int().positive().default(3),
  ablation: z.boolean().default(false),
  seed: z.number().int().default(0),
  maxTraceChars: z.number().int().positive().optional(),
  maxTraceTokens: z.number().int().positive().default(8192),
});
export type LinearizeConfig = z.infer<typeof LinearizeConfig>;

/** The method's defaults (seed 0). */
export const defaultLinearizeConfig: LinearizeConfig = LinearizeConfig.parse({});

/** Validates user configuration once at the edge; throws AppError `config` naming the bad field. */
export function parseLinearizeConfig(input: unknown): LinearizeConfig {
  const parsed = LinearizeConfig.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AppError('config', `invalid linearize config: ${issues}`);
  }
  return parsed.data;
}

// Hashes of recently seen configs by their fields (not by object: a config is a plain mutable value).
const configHashes = new Map<string, string>();

/**
 * Hash of everything that changes the output (the linearizer version included), recorded in
 * traces and part of every trace id. Operational knobs (e.g. concurrency) must not be passed in.
 */
export function linearizeConfigHash(config: LinearizeConfig): string {
  // Asked once per tree by the linearizer: hashing canonical JSON each time is a measurable share
  // of a replay, while joining the fields is not.
  const key = `${config.kMix.join(',')}|${config.reflectionMinQ}|${config.reflectionEverySteps}|${config.ablation}|${config.seed}|${config.maxTraceChars}|${config.maxTraceTokens}`;
  let hash = configHashes.get(key);
  if (hash !== undefined) return hash;
  hash = configHash({
    linearizer: linearizerId,
    kMix: config.kMix,
    reflectionMinQ: config.reflectionMinQ,
    reflectionEverySteps: config.reflectionEverySteps,
    ablation: config.ablation,
    seed: config.seed,
    maxTraceChars: config.maxTraceChars ?? null,
    maxTraceTokens: config.maxTraceTokens,
  });
  if (configHashes.size >= 1024) configHashes.clear();
  configHashes.set(key, hash);
  return hash;
}
