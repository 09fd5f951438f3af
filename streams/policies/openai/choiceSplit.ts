import { deriveSeed } from '../../../operators/common/rng.js';

/**
 * `n` choices as requests of at most `cap` choices each (`splitN(16, 6)` → [6, 6, 4]), for servers
 * that refuse or silently cap large `n` (llama.cpp: at most its parallel slots).
 */
export function splitN(n: number, cap: number): number[] {
  if (!Number.isInteger(n) || n < 1) return [];
  const size = Math.max(1, Math.floor(cap));
  const parts: number[] = [];
  for (let left = n; left > 0; left -= size) parts.push(Math.min(size, left));
  return parts;
}

/**
 * The seed of part `index` of a split request: the original seed for the first part (an unsplit
 * request is unchanged), a derived one for the others, so parts do not repeat each other's samples.
 */
export function partSeed(seed: number | undefined, index: number): number | undefined {
  if (seed === undefined || index === 0) return seed;
  return deriveSeed(seed, 'n-part', index);
}

// llama.cpp: `Field 'n': Value must be between 1 <= value <= 2, but got 8` (n is an alias of n_cmpl);
// OpenAI-style: `n must be at most 4` / `n must be less than or equal to 4`.
const CAP_PATTERNS: readonly RegExp[] = [
  /'(?:n|n_cmpl)'.{0,60}?<=\s*value\s*<=\s*(\d+)/i,
  /\bn(?:_cmpl)?\b[^.\d]{0,40}?(?:at most|<=|less than or equal to|must not exceed|maximum(?: is| of)?)\s*(\d+)/i,
];

/** The largest `n` a 400 response body allows, when it says so; undefined for any other 400. */
export function nCapFromError(body: string): number | undefined {
  for (const pattern of CAP_PATTERNS) {
    const m = pattern.exec(body);
    const cap = m?.[1] === undefined ? Number.NaN : Number(m[1]);
    if (Number.isInteger(cap) && cap >= 1) return cap;
  }
  return undefined;
}
