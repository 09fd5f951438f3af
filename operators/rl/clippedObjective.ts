/** The clip range of the PPO/GRPO surrogate (ASTRO-METHOD §5 default ε = 0.2). */
export const DEFAULT_CLIP_EPSILON = 0.2;

/**
 * The clipped surrogate objective of one sample, to be maximized:
 * `min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A)` with `ρ = exp(logpNew − logpOld)`. The trainer's tfjs loss
 * is the negative mean of this over sequences; this scalar form is the reference tests hold it to.
 */
export function clippedSurrogate(logpNew: number, logpOld: number, advantage: number, epsilon = DEFAULT_CLIP_EPSILON): number {
  const ratio = Math.exp(logpNew - logpOld);
  const clipped = Math.min(Math.max(ratio, 1 - epsilon), 1 + epsilon);
  return Math.min(ratio * advantage, clipped * advantage);
}

/**
 * d(surrogate)/d(logpNew): `ρ·A` where the unclipped term is the minimum, 0 where clipping holds
 * it (the ratio already moved past 1 ± ε in the advantage's direction), so updates stay near the
 * sampling policy.
 */
export function clippedSurrogateGradient(logpNew: number, logpOld: number, advantage: number, epsilon = DEFAULT_CLIP_EPSILON): number {
  const ratio = Math.exp(logpNew - logpOld);
  if (advantage > 0 && ratio > 1 + epsilon) return 0;
  if (advantage < 0 && ratio < 1 - epsilon) return 0;
  return ratio * advantage;
}
