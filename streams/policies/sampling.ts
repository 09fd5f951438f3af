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
 * by the mask (not by `p > 0`) never lets an illegal action through even if a model leaks mass
 * to it; when every legal prior is 0 the choice falls back to uniform over legal actions.
 */
export function sampleAction(probs: Float32Array, mask: Float32Array, offset: number, count: number, sampling: ActionSampling, rng: Rng): number {
  if (sampling.temperature <= 0) return argmaxLegal(probs, mask, offset, count);
  // Hot path (every rollout step): work on the legal actions only (a few dozen of the 150), in
  // reused scratch arrays, in ascending action order (so results do not depend on the layout).
  ensureScratch(count);
  let legal = 0;
  let maxP = 0;
  for (let a = 0; a < count; a++) {
    if (mask[offset + a] !== 1) continue;
    legalScratch[legal++] = a;
    const p = probs[offset + a] ?? 0;
    if (p > maxP) maxP = p;
  }
  if (legal === 0) return -1;
  const weights = weightScratch.subarray(0, legal);
  const invT = 1 / sampling.temperature;
  let total = 0;
  for (let j = 0; j < legal; j++) {
    const p = probs[offset + (legalScratch[j] ?? 0)] ?? 0;
    // (p / max)^(1/T) is p^(1/T) rescaled, so small temperatures do not underflow; all-zero rows go uniform.
    const w = maxP > 0 ? (invT === 1 ? p / maxP : Math.pow(p / maxP, invT)) : 1;
    weights[j] = w;
    total += w;
  }
  if (sampling.topP < 1) total = keepNucleus(weights, total, sampling.topP * total);
  let u = rng.next() * total;
  let last = -1;
  for (let j = 0; j < legal; j++) {
    const w = weights[j] ?? 0;
    if (w <= 0) continue;
    last = j;
    u -= w;
    if (u < 0) return legalScratch[j] ?? -1;
  }
  // Rounding can leave u a hair above 0 after the last weight: take the last kept action.
  if (last >= 0) return legalScratch[last] ?? -1;
  // Every legal weight underflowed to 0 (possible only at tiny temperatures): fall back to greedy.
  return argmaxLegal(probs, mask, offset, count);
}

// Zeroes every weight outside the smallest set of largest weights whose mass reaches `target`
// (ties at the threshold kept in index order) and returns the kept mass.
function keepNucleus(weights: Float64Array, total: number, target: number): number {
  let positive = 0;
  for (let j = 0; j < weights.length; j++) if ((weights[j] ?? 0) > 0) sortScratch[positive++] = weights[j] ?? 0;
  const sorted = sortScratch.subarray(0, positive);
  sorted.sort();
  let mass = 0;
  let threshold = 0;
  for (let k = sorted.length - 1; k >= 0; k--) {
    const w = sorted[k] ?? 0;
    mass += w;
    threshold = w;
    if (mass >= target) break;
  }
  let kept = 0;
  for (let j = 0; j < weights.length; j++) if ((weights[j] ?? 0) > threshold) kept += weights[j] ?? 0;
  for (let j = 0; j < weights.length; j++) {
    const w = weights[j] ?? 0;
    if (w < threshold) weights[j] = 0;
    else if (w === threshold) {
      if (kept >= target) weights[j] = 0;
      else kept += w;
    }
  }
  return kept > 0 ? kept : total;
}

// Sampling runs once per rollout step (millions of times per run): reusing buffers instead of
// allocating per call removed most of the garbage-collection time of a search. Safe because
// sampleAction is synchronous and never re-entered.
let legalScratch = new Int32Array(256);
let weightScratch = new Float64Array(256);
let sortScratch = new Float64Array(256);

function ensureScratch(count: number): void {
  if (legalScratch.length >= count) return;
  legalScratch = new Int32Array(count);
  weightScratch = new Float64Array(count);
  sortScratch = new Float64Array(count);
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
