import { ComputeEngine } from '@cortex-js/compute-engine';
import { createRng } from '../../common/rng.js';

// The package does not re-export its expression type at the root, so derive it from parse().
type BoxedExpression = ReturnType<ComputeEngine['parse']>;

/** Limits that keep one CAS comparison short (see `compare.ts` for why it runs in-process). */
export interface SymbolicConfig {
  /** Longest normalized LaTeX handed to the CAS, in characters. */
  readonly maxCasChars: number;
  /** Relative tolerance for numeric evaluation of both sides. */
  readonly relTolerance: number;
  /** Seed of the points at which expressions with free variables are evaluated. */
  readonly seed: number;
  /** How many random points must agree. */
  readonly samplePoints: number;
}

/** The CAS handle; one per verifier so that no module-level state is shared. */
export interface Cas {
  readonly ce: ComputeEngine;
}

/** Creates a compute-engine instance for symbolic comparison. */
export function createCas(): Cas {
  return { ce: new ComputeEngine() };
}

// Inputs that make a CAS spend unbounded time: huge exponents, big factorials, deep towers.
const DANGEROUS = /\^\s*\{?\s*[+-]?\d{4,}|\d{3,}\s*!|\^\s*\{[^}]*\^\s*\{?[^}]*\^|\\(?:int|sum|prod|lim)(?![a-zA-Z])/;

/**
 * Symbolic equality of two normalized scalars: compute-engine `isEqual`, then numeric evaluation
 * (with free variables, at seeded random points). Returns undefined when the CAS cannot decide.
 */
export function symbolicEqual(cas: Cas, a: string, b: string, config: SymbolicConfig): boolean | undefined {
  if (a.length > config.maxCasChars || b.length > config.maxCasChars) return undefined;
  if (DANGEROUS.test(a) || DANGEROUS.test(b)) return undefined;
  let ea: BoxedExpression;
  let eb: BoxedExpression;
  try {
    ea = cas.ce.parse(a);
    eb = cas.ce.parse(b);
    if (!ea.isValid || !eb.isValid) return undefined;
    // Relations and collections are compared structurally elsewhere; here only plain values.
    if (!isValueLike(ea) || !isValueLike(eb)) return undefined;
    const direct = ea.isEqual(eb);
    if (direct === true) return true;
    const vars = [...new Set([...ea.unknowns, ...eb.unknowns])];
    if (vars.length === 0) {
      if (direct === false) return false;
      return closeEnough(ea.N(), eb.N(), config.relTolerance);
    }
    if (vars.length > 4) return undefined;
    const rng = createRng(config.seed);
    for (let k = 0; k < config.samplePoints; k++) {
      const sub: Record<string, BoxedExpression> = {};
      for (const v of vars) sub[v] = cas.ce.number(Math.round((0.5 + rng.next() * 2.5) * 1e6) / 1e6);
      const same = closeEnough(ea.subs(sub).N(), eb.subs(sub).N(), config.relTolerance);
      if (same !== true) return same;
    }
    return true;
  } catch {
    return undefined;
  }
}

/**
 * Numeric value of a closed expression (no free variables), or undefined when the CAS cannot
 * evaluate it to a finite number. Used to compare `\pi` with a decimal like 3.141593.
 */
export function numericValue(cas: Cas, s: string, config: Pick<SymbolicConfig, 'maxCasChars'>): { re: number; im: number } | undefined {
  if (s.length > config.maxCasChars || DANGEROUS.test(s)) return undefined;
  try {
    const e = cas.ce.parse(s);
    if (!e.isValid || !isValueLike(e) || e.unknowns.length > 0) return undefined;
    const n = e.N();
    return Number.isFinite(n.re) && Number.isFinite(n.im) ? { re: n.re, im: n.im } : undefined;
  } catch {
    return undefined;
  }
}

const NON_VALUE_HEADS = new Set(['Equal', 'Less', 'Greater', 'LessEqual', 'GreaterEqual', 'Tuple', 'List', 'Set', 'Sequence', 'Delimiter', 'Interval', 'Matrix', 'Error', 'Pair', 'Triple', 'Single']);

function isValueLike(e: BoxedExpression): boolean {
  return !NON_VALUE_HEADS.has(e.operator);
}

function closeEnough(x: BoxedExpression, y: BoxedExpression, tol: number): boolean | undefined {
  const xr = x.re;
  const xi = x.im;
  const yr = y.re;
  const yi = y.im;
  if (![xr, xi, yr, yi].every(Number.isFinite)) return undefined;
  const scale = Math.max(1, Math.hypot(xr, xi), Math.hypot(yr, yi));
  return Math.hypot(xr - yr, xi - yi) <= tol * scale;
}
