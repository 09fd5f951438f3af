/** Group-normalized advantages of one rollout group, or why the group carries no signal. */
export type GroupAdvantages =
  | { readonly skipped: false; readonly advantages: readonly number[] }
  | { readonly skipped: true; readonly reason: 'equal_rewards' | 'empty' };

/**
 * GRPO advantages (ASTRO-METHOD §5): `(r − mean(r)) / std(r)` over the group, population std.
 * A group whose rewards are all equal has std 0 and no signal: it is reported as skipped (the
 * caller counts it) instead of being divided by zero or silently dropped.
 *
 * @example grpoAdvantages([1, -1, -1, -1]) // { skipped: false, advantages: [1.732, -0.577, -0.577, -0.577] }
 */
export function grpoAdvantages(rewards: readonly number[], epsilon = 1e-8): GroupAdvantages {
  if (rewards.length === 0) return { skipped: true, reason: 'empty' };
  const mean = rewards.reduce((a, r) => a + r, 0) / rewards.length;
  const variance = rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / rewards.length;
  const std = Math.sqrt(variance);
  // Exact equality would miss rewards equal up to rounding (e.g. 0.1 + 0.2 vs 0.3).
  if (std <= epsilon) return { skipped: true, reason: 'equal_rewards' };
  return { skipped: false, advantages: rewards.map((r) => (r - mean) / std) };
}
