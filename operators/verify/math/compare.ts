import { normalizeAnswer } from './normalize.js';
import { numbersEqual, parseNumber, toFloat } from './numeric.js';
import { parseShape, type AnswerShape } from './structure.js';
import { createCas, numericValue, symbolicEqual, type Cas } from './symbolic.js';

/**
 * Configuration of answer comparison. Plain data: it is hashed into every verdict.
 *
 * The CAS runs in-process, not in a worker: every input is capped (`maxInputChars`,
 * `maxCasChars`), inputs known to make a CAS loop (huge exponents, factorials, integrals) never
 * reach it, and the fuzz test bounds the worst single call. A worker round trip would cost more
 * than the median comparison (~0.1 ms).
 */
export interface CompareConfig {
  /** Longer answers (after extraction) are judged not equal without parsing. */
  readonly maxInputChars: number;
  /** Longest normalized answer handed to the CAS. */
  readonly maxCasChars: number;
  /** Decimal places both sides are rounded to when either is written as a decimal (math-verify: 6). */
  readonly floatDecimals: number;
  /** Relative tolerance when irrational values are evaluated numerically. */
  readonly relTolerance: number;
  /** Seed for the random evaluation points of expressions with free variables. */
  readonly seed: number;
  /** Number of random points that must agree. */
  readonly samplePoints: number;
  /**
   * CAS calls allowed in one comparison. Structured answers multiply comparisons (two 60-item
   * lists are up to 3600 pairs); a count, unlike a clock, keeps verdicts deterministic.
   */
  readonly maxCasCalls: number;
}

/** Defaults used by `createMathVerifier()` and the CLI. */
export const DEFAULT_COMPARE_CONFIG: CompareConfig = {
  maxInputChars: 2000,
  maxCasChars: 300,
  floatDecimals: 6,
  relTolerance: 1e-9,
  seed: 20250703,
  samplePoints: 3,
  maxCasCalls: 32,
};

/** Which check decided the comparison. */
export type CompareMethod = 'string' | 'choice' | 'numeric' | 'symbolic' | 'structure' | 'none' | 'too-long';

/** Outcome of comparing two extracted answers. */
export interface Comparison {
  readonly equal: boolean;
  readonly method: CompareMethod;
  readonly goldNormalized: string;
  readonly predNormalized: string;
}

/** Capabilities: the CAS instance (one per verifier; a fresh one is made when absent). */
export interface CompareDeps {
  readonly cas?: Cas;
}

/**
 * Compares two extracted answers: normalized strings, then numbers, then the CAS, with structured
 * answers (tuples, intervals, sets, matrices, equations, choice letters) compared part by part.
 *
 * @example compareAnswers('\\frac{1}{2}', '0.5').equal // true
 */
export function compareAnswers(gold: string, pred: string, config: CompareConfig = DEFAULT_COMPARE_CONFIG, deps: CompareDeps = {}): Comparison {
  if (gold.length > config.maxInputChars || pred.length > config.maxInputChars) {
    return { equal: false, method: 'too-long', goldNormalized: gold.slice(0, 80), predNormalized: pred.slice(0, 80) };
  }
  const g = normalizeAnswer(gold);
  const p = normalizeAnswer(pred);
  const base = { goldNormalized: g, predNormalized: p };
  if (g === p) return { equal: g.length > 0, method: 'string', ...base };
  if (g.length === 0 || p.length === 0) return { equal: false, method: 'none', ...base };
  const ctx: Ctx = { config, cas: deps.cas, lastMethod: 'none', casCalls: 0 };
  if (shapesEqual(parseShape(g), parseShape(p), ctx)) return { equal: true, method: ctx.lastMethod, ...base };
  // `10\%` may be answered as 10 or as 0.1 (math-verify accepts both); normalization dropped the
  // sign, so retry with the percent side divided by 100.
  const gp = percentAsFraction(gold, g);
  const pp = percentAsFraction(pred, p);
  if ((gp !== null) !== (pp !== null) && shapesEqual(parseShape(gp ?? g), parseShape(pp ?? p), ctx)) return { equal: true, method: 'numeric', ...base };
  return { equal: false, method: ctx.lastMethod, ...base };
}

function percentAsFraction(raw: string, normalized: string): string | null {
  if (!raw.includes('%')) return null;
  const n = parseNumber(normalized);
  return n === null ? null : `${n.num}/${n.den * 100n}`;
}

interface Ctx {
  readonly config: CompareConfig;
  cas: Cas | undefined;
  lastMethod: CompareMethod;
  casCalls: number;
}

function shapesEqual(a: AnswerShape, b: AnswerShape, ctx: Ctx): boolean {
  if (a.kind === 'set' && a.items.length === 1 && a.items[0] !== undefined) return shapesEqual(a.items[0], b, ctx);
  if (b.kind === 'set' && b.items.length === 1 && b.items[0] !== undefined) return shapesEqual(a, b.items[0], ctx);
  if (a.kind === 'scalar' && b.kind === 'scalar') return scalarsEqual(a.text, b.text, ctx);
  if (a.kind === 'choice' || b.kind === 'choice') {
    ctx.lastMethod = 'choice';
    return a.kind === 'choice' && b.kind === 'choice' && a.letter === b.letter;
  }
  let equal = false;
  if (a.kind === 'tuple' && b.kind === 'tuple') {
    equal = a.open === b.open && a.close === b.close && a.items.length === b.items.length && a.items.every((x, i) => shapesEqual(x, b.items[i] ?? x, ctx));
  } else if (a.kind === 'set' && (b.kind === 'set' || b.kind === 'tuple')) {
    equal = unorderedEqual(a.items, b.kind === 'set' ? b.items : b.items, ctx);
  } else if (b.kind === 'set' && a.kind === 'tuple') {
    equal = unorderedEqual(a.items, b.items, ctx);
  } else if (a.kind === 'matrix' && b.kind === 'matrix') {
    equal = a.rows.length === b.rows.length && a.rows.every((row, i) => {
      const other = b.rows[i] ?? [];
      return row.length === other.length && row.every((x, j) => shapesEqual(x, other[j] ?? x, ctx));
    });
  }
  ctx.lastMethod = 'structure';
  return equal;
}

// Matching by greedy assignment is exact here because equality is transitive on values.
function unorderedEqual(xs: readonly AnswerShape[], ys: readonly AnswerShape[], ctx: Ctx): boolean {
  if (xs.length !== ys.length) return false;
  const used = new Array<boolean>(ys.length).fill(false);
  // Identical items pair up first for free, so reordered lists spend no CAS budget.
  const keys = ys.map((y) => JSON.stringify(y));
  const rest: AnswerShape[] = [];
  for (const x of xs) {
    const k = JSON.stringify(x);
    const j = keys.findIndex((key, i) => !used[i] && key === k);
    if (j >= 0) used[j] = true;
    else rest.push(x);
  }
  for (const x of rest) {
    const j = ys.findIndex((y, k) => !used[k] && shapesEqual(x, y, ctx));
    if (j < 0) return false;
    used[j] = true;
  }
  return true;
}

function scalarsEqual(a: string, b: string, ctx: Ctx): boolean {
  if (a === b) {
    ctx.lastMethod = 'string';
    return true;
  }
  const na = parseNumber(a);
  const nb = parseNumber(b);
  if (na !== null && nb !== null) {
    ctx.lastMethod = 'numeric';
    return numbersEqual(na, nb, ctx.config.floatDecimals);
  }
  if (ctx.casCalls >= ctx.config.maxCasCalls) {
    ctx.lastMethod = 'none';
    return false;
  }
  ctx.casCalls++;
  ctx.cas ??= createCas();
  // A decimal against a closed form (`3.141593` vs `\pi`): math-verify's rule, both rounded to
  // `floatDecimals` places, so an answer given to 6 decimals is accepted and 3.14 is not.
  const decimal = na?.isFloat === true ? { n: na, other: b } : nb?.isFloat === true ? { n: nb, other: a } : null;
  if (decimal !== null) {
    const v = numericValue(ctx.cas, decimal.other, ctx.config);
    if (v !== undefined && Math.abs(v.im) < 1e-12 && Math.abs(v.re) < 1e15) {
      ctx.lastMethod = 'numeric';
      const scale = 10 ** ctx.config.floatDecimals;
      return Math.round(toFloat(decimal.n) * scale) === Math.round(v.re * scale);
    }
  }
  const sym = symbolicEqual(ctx.cas, a, b, ctx.config);
  ctx.lastMethod = sym === undefined ? 'none' : 'symbolic';
  return sym === true;
}
