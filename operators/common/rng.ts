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
 *
 * A 53-bit multiply-xorshift hash (cyrb53's mixing) of `seed|label|...`: it runs once per rollout
 * (thousands of times per tree), where a SHA-256 cost 8% of search time; only spread and
 * determinism matter here, not cryptographic strength.
 */
export function deriveSeed(seed: number, ...labels: readonly (string | number)[]): number {
  const text = labels.length === 0 ? String(seed) : `${seed}|${labels.join('|')}`;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ (h2 >>> 1)) >>> 0;
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
