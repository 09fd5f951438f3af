import type { Rng } from '../../operators/common/rng.js';

/** Temperature and nucleus settings for sampling one action from a prior. */
export interface ActionSampling {
  /** 0 means greedy (argmax); 1 samples the prior as is. */
  readonly temperature: number;
  /** Keep the smallest set of most likely actions whose mass reaches this (0, 1]. */
  readonly topP: number;
}

/**
 * Samples one action index from `probs[offset .. offset + count)`, restricted to actions whose
 * `mask` entry is 1, with temperature and top-p. Returns -1 when no action is legal. Restricting
 * by the mask (not by `p > 0`) keeps a legal action that underflowed to 0 sampleable, and never
 * lets an illegal one through even if a model leaks mass to it.
 */
export function sampleAction(probs: Float32Array, mask: Float32Array, offset: number, count: number, sampling: ActionSampling, rng: Rng): number {
  const legal: number[] = [];
  for (let a = 0; a < count; a++) if (mask[offset + a] === 1) legal.push(a);
  if (legal.length === 0) return -1;
  if (sampling.temperature <= 0) return argmaxLegal(probs, mask, offset, count);

  // p^(1/T) computed in log space relative to the max, so small temperatures do not underflow.
  const invT = 1 / sampling.temperature;
  let maxLog = -Infinity;
  const logs = legal.map((a) => {
    const l = Math.log(probs[offset + a] ?? 0);
    if (l > maxLog) maxLog = l;
    return l;
  });
  let weights = logs.map((l) => (maxLog === -Infinity ? 1 : Math.exp((l - maxLog) * invT)));
  let total = weights.reduce((s, w) => s + w, 0);

  let order = legal.map((_, i) => i);
  if (sampling.topP < 1) {
    // Stable sort by weight, ties by action index, so the nucleus does not depend on engine details.
    order.sort((i, j) => (weights[j] ?? 0) - (weights[i] ?? 0) || i - j);
    const kept: number[] = [];
    let mass = 0;
    for (const i of order) {
      kept.push(i);
      mass += weights[i] ?? 0;
      if (mass >= sampling.topP * total) break;
    }
    order = kept;
    weights = order.map((i) => weights[i] ?? 0);
    total = mass;
  } else {
    weights = order.map((i) => weights[i] ?? 0);
  }

  let u = rng.next() * total;
  for (let k = 0; k < order.length; k++) {
    u -= weights[k] ?? 0;
    if (u < 0) return legal[order[k] ?? 0] ?? -1;
  }
  // Rounding can leave u a hair above 0 after the last weight: take the last kept action.
  return legal[order[order.length - 1] ?? 0] ?? -1;
}

/** The legal action with the highest probability (lowest index on ties); -1 when none is legal. */
export function argmaxLegal(probs: Float32Array, mask: Float32Array, offset: number, count: number): number {
  let best = -1;
  let bestP = -Infinity;
  for (let a = 0; a < count; a++) {
    if (mask[offset + a] !== 1) continue;
    const p = probs[offset + a] ?? 0;
    if (p > bestP) {
      best = a;
      bestP = p;
    }
  }
  return best;
}
