import { freeSymbols, someNode, type Node } from './ast.js';
import { evaluate, isFiniteComplex, type Complex, type VariableValues } from './evaluate.js';
import { exactValue, roundScaled, type Rational } from './exact.js';

/** Settings of scalar comparison (a subset of CompareConfig). */
export interface ScalarConfig {
  /** Decimal places both sides are rounded to when either is written as a decimal (math-verify: 6). */
  readonly floatDecimals: number;
  /** Relative tolerance of numeric equality for closed forms and at sample points. */
  readonly relTolerance: number;
  /** Seed of the points at which expressions with variables are evaluated. */
  readonly seed: number;
  /** Evaluation points that must agree. */
  readonly samplePoints: number;
}

/** Verdict on two scalars and the check that gave it; `undecided` when only a CAS could tell. */
export type ScalarOutcome = { readonly equal: boolean; readonly method: 'string' | 'numeric' | 'sampling' | 'text' } | { readonly equal: false; readonly method: 'undecided' };

/**
 * Compares two scalar expressions. Exact values (integers, fractions, decimals, integer powers)
 * compare exactly; when either side is a written decimal both are rounded to `floatDecimals`
 * places (1/3 = 0.333333, not 0.33; math-verify's rule, which we follow over MARIO's looser
 * tolerances); other closed forms compare numerically; expressions with variables are evaluated at
 * seeded pseudo-random points (`sampling`). A percentage also matches its value and its number
 * (`10\%` = 0.1 = 10).
 */
export function compareScalars(gold: Node, pred: Node, config: ScalarConfig): ScalarOutcome {
  const goldAlternatives = percentAlternatives(gold);
  const predAlternatives = percentAlternatives(pred);
  let undecided = false;
  for (const g of goldAlternatives) {
    for (const p of predAlternatives) {
      const outcome = compareOne(g, p, config);
      if (outcome.equal) return outcome;
      if (outcome.method === 'undecided') undecided = true;
    }
  }
  if (undecided) return { equal: false, method: 'undecided' };
  return compareOne(gold, pred, config);
}

function percentAlternatives(node: Node): Node[] {
  return node.t === 'fn' && node.name === 'pct' && node.args[0] !== undefined ? [node, node.args[0]] : [node];
}

function compareOne(g: Node, p: Node, config: ScalarConfig): ScalarOutcome {
  // A word of text (`\text{Even}`) against the same letters written as math (`Even`).
  const wg = wordOf(g);
  const wp = wordOf(p);
  if (wg !== null && wp !== null && (isWord(g) || isWord(p))) return { equal: wg.toLowerCase() === wp.toLowerCase(), method: 'text' };
  if (g.t === 'sym' && p.t === 'sym') return { equal: g.name === p.name, method: 'string' };
  const rounded = isWrittenDecimal(g) || isWrittenDecimal(p);
  const eg = exactValue(g);
  const ep = exactValue(p);
  if (eg !== null && ep !== null) return { equal: rounded ? roundScaled(eg, config.floatDecimals) === roundScaled(ep, config.floatDecimals) : eg.n * ep.d === ep.n * eg.d, method: 'numeric' };
  if (freeSymbols(g).size === 0 && freeSymbols(p).size === 0) return closedForms(g, p, eg, ep, rounded, config);
  return sampleCompare(g, p, config);
}

function closedForms(g: Node, p: Node, eg: Rational | null, ep: Rational | null, rounded: boolean, config: ScalarConfig): ScalarOutcome {
  const vg = evaluate(g, noVariables);
  const vp = evaluate(p, noVariables);
  if (!isFiniteComplex(vg) || !isFiniteComplex(vp)) {
    // ∞ = ∞ (interval ends), otherwise undefined values are for the CAS.
    if (vg.re === vp.re && vg.im === 0 && vp.im === 0 && !Number.isNaN(vg.re)) return { equal: true, method: 'numeric' };
    return { equal: false, method: 'undecided' };
  }
  if (rounded) {
    const scale = 10 ** config.floatDecimals;
    const rg = eg === null ? Math.round(vg.re * scale) : Number(roundScaled(eg, config.floatDecimals));
    const rp = ep === null ? Math.round(vp.re * scale) : Number(roundScaled(ep, config.floatDecimals));
    return { equal: rg === rp && Math.round(vg.im * scale) === Math.round(vp.im * scale), method: 'numeric' };
  }
  return { equal: near(vg, vp, config.relTolerance), method: 'numeric' };
}

const noVariables: VariableValues = () => Number.NaN;

/** |a - b| ≤ tol × max(1, |a|, |b|). */
export function near(a: Complex, b: Complex, tol: number): boolean {
  const scale = Math.max(1, Math.hypot(a.re, a.im), Math.hypot(b.re, b.im));
  return Math.hypot(a.re - b.re, a.im - b.im) <= tol * scale;
}

/**
 * Value of a variable at an evaluation point: a fixed function of (seed, point, name), so it does
 * not depend on which other variables appear or in what order. Variables used as summation
 * bounds take small integers.
 */
export function pointValues(seed: number, point: number, integers: ReadonlySet<string>, negative = false): VariableValues {
  return (name) => {
    let h = (seed ^ Math.imul(point + 1, 0x9e3779b1)) >>> 0;
    for (let k = 0; k < name.length; k++) h = Math.imul(h ^ name.charCodeAt(k), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    if (integers.has(name)) return 2 + (h % 6);
    const v = 0.6 + ((h % 1_000_003) / 1_000_003) * 2.5;
    return negative ? -v : v;
  };
}

function sampleCompare(g: Node, p: Node, config: ScalarConfig): ScalarOutcome {
  const integers = new Set<string>();
  for (const n of [g, p]) collectBoundVars(n, integers);
  let decided = 0;
  for (let k = 0; k < config.samplePoints; k++) {
    const at = pointValues(config.seed, k, integers);
    const a = evaluate(g, at);
    const b = evaluate(p, at);
    if (!isFiniteComplex(a) || !isFiniteComplex(b)) continue;
    decided++;
    if (!near(a, b, config.relTolerance)) return { equal: false, method: 'sampling' };
  }
  if (decided < 2) return { equal: false, method: 'undecided' };
  // Expressions equal for positive values may differ for negative ones (|x| and x); the probe
  // only counts where neither side takes roots or logarithms, whose branches differ there.
  if (!branchy(g) && !branchy(p)) {
    const at = pointValues(config.seed, config.samplePoints, integers, true);
    const a = evaluate(g, at);
    const b = evaluate(p, at);
    if (isFiniteComplex(a) && isFiniteComplex(b) && !near(a, b, config.relTolerance)) return { equal: false, method: 'sampling' };
  }
  return { equal: true, method: 'sampling' };
}

// Variables that bound a sum range (`\sum_{k=0}^{n}`): evaluated at integers.
function collectBoundVars(node: Node, out: Set<string>): void {
  someNode(node, (n) => {
    if (n.t === 'bigop') {
      freeSymbols(n.lo, out);
      freeSymbols(n.hi, out);
    }
    return false;
  });
}

const BRANCHY = new Set(['sqrt', 'root', 'ln', 'log', 'log10', 'arcsin', 'arccos', 'arcsec', 'arccsc', 'fact', 'gamma', 'binom']);

function branchy(node: Node): boolean {
  return someNode(node, (n) => (n.t === 'fn' && BRANCHY.has(n.name)) || (n.t === 'pow' && !(n.exp.t === 'num' && n.exp.d === 1n) && !(n.exp.t === 'neg' && n.exp.arg.t === 'num' && n.exp.arg.d === 1n)));
}

/** True for a literal written with a decimal point (`0.5`, `-2.5`, `12.5\%`): compared rounded. */
export function isWrittenDecimal(node: Node): boolean {
  if (node.t === 'num') return node.float;
  if (node.t === 'neg') return isWrittenDecimal(node.arg);
  if (node.t === 'fn' && node.name === 'pct' && node.args[0] !== undefined) return isWrittenDecimal(node.args[0]);
  return false;
}

/**
 * The letters of a word-like answer: a text symbol (`Evelyn`, `odd`) or a product of single
 * letters (`odd` written without `\text`); null otherwise.
 */
export function wordOf(node: Node): string | null {
  if (node.t === 'sym') return /^[a-zA-Z][a-zA-Z' .()-]*$/.test(node.name) ? node.name : null;
  if (node.t === 'const' && node.name === 'e') return 'e';
  if (node.t === 'mul') {
    const parts = node.args.map(wordOf);
    return parts.every((w) => w !== null && w.length === 1) ? parts.join('') : null;
  }
  return null;
}

const isWord = (node: Node): boolean => node.t === 'sym' && node.name.length > 1 && /^[a-zA-Z]/.test(node.name);
