/**
 * Plain numbers in answers: integers, decimals, fractions (`a/b`, `\frac{a}{b}`), scientific
 * notation (`1.5e3`, `1.5\times10^{3}`). Exact values are kept as BigInt rationals so that large
 * integers (e.g. 20-digit counts) compare exactly.
 */
export interface ParsedNumber {
  /** Numerator and denominator of the exact value (denominator > 0). */
  readonly num: bigint;
  readonly den: bigint;
  /** True when written with a decimal point or exponent: compared with rounding, as math-verify does. */
  readonly isFloat: boolean;
}

const INT = /^[+-]?\d{1,400}$/;
const DEC = /^([+-]?)(\d{0,400})\.(\d{1,400})$/;
const SCI = /^([+-]?\d{1,40}(?:\.\d{1,40})?)(?:e|E|\\times10\^|\\cdot10\^)\{?([+-]?\d{1,4})\}?$/;
const FRAC = /^([+-]?)\\frac\{([+-]?\d{1,200})\}\{([+-]?\d{1,200})\}$/;
const SLASH = /^([+-]?\d{1,200})\/([+-]?\d{1,200})$/;

/** Parses a normalized scalar as an exact number, or returns null when it is not a plain number. */
export function parseNumber(s: string): ParsedNumber | null {
  if (INT.test(s)) return { num: BigInt(s), den: 1n, isFloat: false };
  const dec = DEC.exec(s);
  if (dec !== null) {
    const frac = dec[3] ?? '';
    const sign = dec[1] === '-' ? -1n : 1n;
    return { num: sign * BigInt(`${dec[2] ?? ''}${frac}` || '0'), den: 10n ** BigInt(frac.length), isFloat: true };
  }
  const sci = SCI.exec(s);
  if (sci !== null) {
    const base = parseNumber(sci[1] ?? '');
    const exp = Number(sci[2]);
    if (base === null || Math.abs(exp) > 400) return null;
    const scale = 10n ** BigInt(Math.abs(exp));
    return exp >= 0 ? { num: base.num * scale, den: base.den, isFloat: true } : { num: base.num, den: base.den * scale, isFloat: true };
  }
  const frac = FRAC.exec(s) ?? SLASH.exec(s);
  if (frac !== null) {
    const neg = frac.length === 4 && frac[1] === '-';
    const n = BigInt(frac[frac.length - 2] ?? '0');
    const d = BigInt(frac[frac.length - 1] ?? '1');
    if (d === 0n) return null;
    const sign = (neg ? -1n : 1n) * (d < 0n ? -1n : 1n);
    return { num: sign * n, den: d < 0n ? -d : d, isFloat: false };
  }
  return null;
}

/**
 * Numeric equality. Two exact values compare exactly. When either is written as a decimal, both
 * are rounded to `floatDecimals` places (math-verify's rule: 1/3 = 0.333333 but not 0.33).
 */
export function numbersEqual(a: ParsedNumber, b: ParsedNumber, floatDecimals: number): boolean {
  if (!a.isFloat && !b.isFloat) return a.num * b.den === b.num * a.den;
  return roundScaled(a, floatDecimals) === roundScaled(b, floatDecimals);
}

// round(num/den × 10^d) half away from zero, in BigInt so that no precision is lost.
function roundScaled(x: ParsedNumber, decimals: number): bigint {
  const scaled = x.num * 10n ** BigInt(decimals);
  const neg = scaled < 0n;
  const abs = neg ? -scaled : scaled;
  const q = (abs * 2n + x.den) / (2n * x.den);
  return neg ? -q : q;
}

/** Float value of a parsed number (for tolerance checks against CAS values). */
export function toFloat(x: ParsedNumber): number {
  return Number(x.num) / Number(x.den);
}
