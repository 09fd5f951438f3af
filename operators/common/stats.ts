/**
 * Pearson's correlation coefficient of paired samples; null when there are fewer than two pairs
 * or either side is constant (r is undefined there). With a 0/1 side it is the point-biserial
 * correlation, e.g. of backtracks per response with correctness (ASTRO-METHOD §4: the paper
 * reports r ≈ 0.82–0.85 between backtracks and accuracy).
 */
export function pearson(pairs: readonly (readonly [number, number])[]): number | null {
  const n = pairs.length;
  if (n < 2) return null;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of pairs) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  // Centred sums: the textbook one-pass formula loses precision when the means are large.
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}
