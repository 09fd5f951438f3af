import { createHash } from 'node:crypto';

/** A seeded pseudo-random source. Injected everywhere randomness is needed (never Math.random). */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/**
 * Derives a 32-bit seed from a base seed and any labels (e.g. tree seed, node id, "rollout").
 * Randomness keyed by *what* is being sampled, not by call order, is what keeps search
 * deterministic whatever the concurrency.
 */
export function deriveSeed(seed: number, ...labels: readonly (string | number)[]): number {
  const digest = createHash('sha256').update(`${seed}|${labels.join('|')}`).digest();
  return digest.readUInt32LE(0);
}

/** mulberry32: small, fast, good enough for sampling; full 2^32 period. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}
