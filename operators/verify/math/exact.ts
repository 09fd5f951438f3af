import type { Node } from './ast.js';

/** An exact rational n/d with d > 0. */
export interface Rational {
  readonly n: bigint;
  readonly d: bigint;
}

// Exact arithmetic stays cheap only while numbers stay small: past these limits a value is left
// to floating point (which overflows to Infinity in O(1)), never computed digit by digit.
const MAX_DIGITS = 4000;
const MAX_FACTORIAL = 1000;

/**
 * The exact value of a closed expression built from integers and decimals with + - × ÷, integer
 * powers, factorials, binomials and percentages; null for anything else (radicals, π, variables)
 * or when the exact value would exceed MAX_DIGITS digits.
 */
export function exactValue(node: Node): Rational | null {
  switch (node.t) {
    case 'num':
      return { n: node.n, d: node.d };
    case 'neg': {
      const a = exactValue(node.arg);
      return a === null ? null : { n: -a.n, d: a.d };
    }
    case 'add': {
      let acc: Rational = { n: 0n, d: 1n };
      for (const arg of node.args) {
        const v = exactValue(arg);
        if (v === null) return null;
        acc = normalize(acc.n * v.d + v.n * acc.d, acc.d * v.d);
        if (tooBig(acc)) return null;
      }
      return acc;
    }
    case 'mul': {
      let acc: Rational = { n: 1n, d: 1n };
      for (const arg of node.args) {
        const v = exactValue(arg);
        if (v === null) return null;
        acc = normalize(acc.n * v.n, acc.d * v.d);
        if (tooBig(acc)) return null;
      }
      return acc;
    }
    case 'div': {
      const a = exactValue(node.num);
      const b = exactValue(node.den);
      if (a === null || b === null || b.n === 0n) return null;
      return normalize(a.n * b.d, a.d * b.n);
    }
    case 'pow':
      return exactPower(node.base, node.exp);
    case 'fn':
      return exactFunction(node.name, node.args);
    default:
      return null;
  }
}

function exactPower(baseNode: Node, expNode: Node): Rational | null {
  const base = exactValue(baseNode);
  const exp = exactValue(expNode);
  if (base === null || exp === null || exp.d !== 1n) return null;
  if (base.n === 0n) return exp.n > 0n ? { n: 0n, d: 1n } : null;
  const e = exp.n < 0n ? -exp.n : exp.n;
  // Digits of the result ≈ e × digits(base): refuse before computing anything large.
  const digits = Math.max(base.n.toString().length, base.d.toString().length);
  if (e > 100_000n || Number(e) * digits > MAX_DIGITS) return null;
  const n = base.n ** e;
  const d = base.d ** e;
  return exp.n < 0n ? normalize(d, n) : { n, d };
}

function exactFunction(name: string, args: readonly Node[]): Rational | null {
  const a = args[0] === undefined ? null : exactValue(args[0]);
  if (a === null) return null;
  switch (name) {
    case 'pct':
      return normalize(a.n, a.d * 100n);
    case 'deg':
      return a;
    case 'abs':
      return { n: a.n < 0n ? -a.n : a.n, d: a.d };
    case 'fact': {
      if (a.d !== 1n || a.n < 0n || a.n > BigInt(MAX_FACTORIAL)) return null;
      let r = 1n;
      for (let k = 2n; k <= a.n; k++) r *= k;
      return { n: r, d: 1n };
    }
    case 'binom': {
      const b = args[1] === undefined ? null : exactValue(args[1]);
      if (b === null || a.d !== 1n || b.d !== 1n || b.n < 0n || b.n > BigInt(MAX_FACTORIAL) || a.n < 0n) return null;
      if (b.n > a.n) return { n: 0n, d: 1n };
      let r = 1n;
      for (let k = 0n; k < b.n; k++) r = (r * (a.n - k)) / (k + 1n);
      return { n: r, d: 1n };
    }
    case 'floor':
    case 'ceil': {
      const q = a.n / a.d;
      const exactDiv = q * a.d === a.n;
      if (exactDiv) return { n: q, d: 1n };
      if (name === 'floor') return { n: a.n < 0n ? q - 1n : q, d: 1n };
      return { n: a.n < 0n ? q : q + 1n, d: 1n };
    }
    default:
      return null;
  }
}

function tooBig(r: Rational): boolean {
  return r.n.toString().length > MAX_DIGITS || r.d.toString().length > MAX_DIGITS;
}

/** n/d in lowest terms with a positive denominator. */
export function normalize(n: bigint, d: bigint): Rational {
  if (d < 0n) return normalize(-n, -d);
  const g = gcd(n < 0n ? -n : n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

/** round(r × 10^decimals), half away from zero, exactly. */
export function roundScaled(r: Rational, decimals: number): bigint {
  const scaled = r.n * 10n ** BigInt(decimals);
  const neg = scaled < 0n;
  const abs = neg ? -scaled : scaled;
  const q = (abs * 2n + r.d) / (2n * r.d);
  return neg ? -q : q;
}

/** The nearest double to r (Infinity when out of range). */
export function toNumber(r: Rational): number {
  const n = Number(r.n);
  const d = Number(r.d);
  if (Number.isFinite(n) && Number.isFinite(d)) return n / d;
  // Both huge: scale down by digits so the quotient stays representable.
  const shift = Math.max(r.n.toString().length, r.d.toString().length) - 300;
  if (shift <= 0) return n / d;
  const p = 10n ** BigInt(shift);
  return Number(r.n / p) / Number(r.d / p);
}
