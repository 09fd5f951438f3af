/**
 * What a CAS must never be asked: inputs whose exact evaluation explodes. compute-engine computes
 * `(20!)!` digit by digit (57–106 s measured) and power towers likewise, so these are refused
 * before any CAS call, whatever the time bound around it. Returns the reason, or null when the
 * input is safe to hand over. Linear regex scans only.
 */
export function casRefusal(latex: string, maxChars: number): string | null {
  if (latex.length > maxChars) return `longer than ${maxChars} characters`;
  // A factorial of anything but a small literal: `(99!)!`, `n!`, `1000000!`.
  for (const m of latex.matchAll(/(\d*)\s*!(?!=)/g)) {
    if (m[1] === undefined || m[1] === '' || Number(m[1]) > 20) return 'factorial of a large or non-literal argument';
  }
  if (/\\(?:Gamma|int|iint|oint|lim|sum|prod|binom|dbinom|tbinom|operatorname)(?![a-zA-Z])/.test(latex)) return 'gamma function, integral, limit, sum, product or binomial';
  // A power tower: an exponent that itself holds a power (`2^{2^{2}}`, `2^2^2`).
  if (/\^\s*\{[^{}]*\^|\^\s*[\w\\]+\s*\^/.test(latex)) return 'power tower';
  if (/\^\s*\{?\s*[+-]?\s*\d{3,}/.test(latex)) return 'exponent of 100 or more';
  if (/\d{31,}/.test(latex)) return 'integer of more than 30 digits';
  return null;
}
