import type { Node } from './ast.js';

/**
 * Numeric evaluation in complex double precision: how expressions with variables are compared
 * (at a few seeded points) and how closed forms like `\frac{\sqrt3}{2}` meet decimals. Every
 * operation is O(1) (powers and factorials through exp/log and the gamma function, never digit by
 * digit), so the cost is linear in the size of the expression; `\sum` runs at most MAX_TERMS terms.
 * Undefined values (poles, unknown structures) are NaN.
 */
export interface Complex {
  readonly re: number;
  readonly im: number;
}

/** Values of the free variables at one evaluation point. */
export type VariableValues = (name: string) => number;

const NAN: Complex = { re: Number.NaN, im: Number.NaN };
const MAX_TERMS = 1000;

const c = (re: number, im = 0): Complex => ({ re, im });
const add = (a: Complex, b: Complex): Complex => c(a.re + b.re, a.im + b.im);
const mul = (a: Complex, b: Complex): Complex => c(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
const isReal = (a: Complex): boolean => Math.abs(a.im) <= 1e-12 * Math.max(1, Math.abs(a.re));

function div(a: Complex, b: Complex): Complex {
  const den = b.re * b.re + b.im * b.im;
  if (den === 0) return NAN;
  return c((a.re * b.re + a.im * b.im) / den, (a.im * b.re - a.re * b.im) / den);
}

function log(a: Complex): Complex {
  if (a.re === 0 && a.im === 0) return NAN;
  // -0 as the imaginary part of a negative real would put it on the wrong side of the branch cut.
  return c(Math.log(Math.hypot(a.re, a.im)), Math.atan2(a.im === 0 ? 0 : a.im, a.re));
}

function exp(a: Complex): Complex {
  const m = Math.exp(a.re);
  return a.im === 0 ? c(m) : c(m * Math.cos(a.im), m * Math.sin(a.im));
}

function pow(a: Complex, b: Complex): Complex {
  if (b.im === 0 && Number.isInteger(b.re) && Math.abs(b.re) <= 64) {
    // Repeated squaring keeps small integer powers exact in the real case.
    let result = c(1);
    let base = b.re < 0 ? div(c(1), a) : a;
    let e = Math.abs(b.re);
    while (e > 0) {
      if (e % 2 === 1) result = mul(result, base);
      base = mul(base, base);
      e = Math.floor(e / 2);
    }
    return result;
  }
  if (a.re === 0 && a.im === 0) return b.re > 0 ? c(0) : NAN;
  if (a.im === 0 && a.re > 0 && b.im === 0) return c(a.re ** b.re);
  return exp(mul(b, log(a)));
}

function sin(a: Complex): Complex {
  return a.im === 0 ? c(Math.sin(a.re)) : c(Math.sin(a.re) * Math.cosh(a.im), Math.cos(a.re) * Math.sinh(a.im));
}

function cos(a: Complex): Complex {
  return a.im === 0 ? c(Math.cos(a.re)) : c(Math.cos(a.re) * Math.cosh(a.im), -Math.sin(a.re) * Math.sinh(a.im));
}

// Lanczos approximation (g = 7, n = 9): Γ(x) for real x to about 15 significant digits.
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
function gamma(x: number): number {
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gamma(1 - x));
  if (x > 171.7) return Number.POSITIVE_INFINITY;
  const z = x - 1;
  let s = LANCZOS[0] ?? 1;
  for (let k = 1; k < 9; k++) s += (LANCZOS[k] ?? 0) / (z + k);
  const t = z + 7.5;
  return Math.sqrt(2 * Math.PI) * t ** (z + 0.5) * Math.exp(-t) * s;
}

function realOnly(a: Complex, f: (x: number) => number): Complex {
  return isReal(a) ? c(f(a.re)) : NAN;
}

function factorial(a: Complex): Complex {
  if (!isReal(a)) return NAN;
  const x = a.re;
  if (Number.isInteger(x)) {
    if (x < 0) return NAN;
    if (x > 170) return c(Number.POSITIVE_INFINITY);
    let r = 1;
    for (let k = 2; k <= x; k++) r *= k;
    return c(r);
  }
  return c(gamma(x + 1));
}

/** A fixed pseudo-random value for an unknown function at these arguments (FNV-1a of its text). */
function opaque(name: string, args: readonly Complex[]): Complex {
  let h = 0x811c9dc5;
  const key = `${name}(${args.map((a) => `${a.re.toPrecision(10)},${a.im.toPrecision(10)}`).join(';')})`;
  for (let k = 0; k < key.length; k++) {
    h ^= key.charCodeAt(k);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return c(0.5 + (h % 100_000) / 50_000);
}

/** Evaluates a scalar expression; NaN (both parts) when undefined or not a scalar. */
export function evaluate(node: Node, vars: VariableValues, inTrig = false): Complex {
  switch (node.t) {
    case 'num':
      return c(Number(node.n) / Number(node.d));
    case 'sym':
      return c(vars(node.name));
    case 'const':
      return node.name === 'pi' ? c(Math.PI) : node.name === 'e' ? c(Math.E) : node.name === 'i' ? c(0, 1) : c(Number.POSITIVE_INFINITY);
    case 'add':
      return node.args.reduce<Complex>((acc, a) => add(acc, evaluate(a, vars, inTrig)), c(0));
    case 'mul':
      return node.args.reduce<Complex>((acc, a) => mul(acc, evaluate(a, vars, inTrig)), c(1));
    case 'neg': {
      const v = evaluate(node.arg, vars, inTrig);
      return c(-v.re, -v.im);
    }
    case 'div':
      return div(evaluate(node.num, vars, inTrig), evaluate(node.den, vars, inTrig));
    case 'pow':
      return pow(evaluate(node.base, vars, inTrig), evaluate(node.exp, vars, inTrig));
    case 'fn':
      return evaluateFunction(node.name, node.args, vars, inTrig);
    case 'apply':
      return opaque(node.name, node.args.map((a) => evaluate(a, vars, inTrig)));
    case 'bigop':
      return evaluateBigOp(node, vars, inTrig);
    default:
      return NAN;
  }
}

const TRIG = new Set(['sin', 'cos', 'tan', 'sec', 'csc', 'cot']);

function evaluateFunction(name: string, args: readonly Node[], vars: VariableValues, inTrig: boolean): Complex {
  const first = args[0];
  if (first === undefined) return NAN;
  const x = evaluate(first, vars, inTrig || TRIG.has(name));
  switch (name) {
    case 'sqrt':
      return pow(x, c(0.5));
    case 'root': {
      const k = args[1] === undefined ? NAN : evaluate(args[1], vars, inTrig);
      // An odd root of a negative real is the real root (∛-8 = -2), as in school mathematics.
      if (isReal(x) && isReal(k) && x.re < 0 && Number.isInteger(k.re) && Math.abs(k.re % 2) === 1) return c(-((-x.re) ** (1 / k.re)));
      return pow(x, div(c(1), k));
    }
    case 'sin':
      return sin(x);
    case 'cos':
      return cos(x);
    case 'tan':
      return div(sin(x), cos(x));
    case 'sec':
      return div(c(1), cos(x));
    case 'csc':
      return div(c(1), sin(x));
    case 'cot':
      return div(cos(x), sin(x));
    case 'arcsin':
      return realOnly(x, Math.asin);
    case 'arccos':
      return realOnly(x, Math.acos);
    case 'arctan':
      return realOnly(x, Math.atan);
    case 'arccot':
      return realOnly(x, (v) => Math.atan(1 / v));
    case 'arcsec':
      return realOnly(x, (v) => Math.acos(1 / v));
    case 'arccsc':
      return realOnly(x, (v) => Math.asin(1 / v));
    case 'sinh':
      return realOnly(x, Math.sinh);
    case 'cosh':
      return realOnly(x, Math.cosh);
    case 'tanh':
      return realOnly(x, Math.tanh);
    case 'ln':
      return log(x);
    case 'log': {
      // `\log x` without a base is read as the natural logarithm, like sympy and math-verify.
      if (args[1] === undefined) return log(x);
      return div(log(x), log(evaluate(args[1], vars, inTrig)));
    }
    case 'log10':
      return div(log(x), c(Math.LN10));
    case 'exp':
      return exp(x);
    case 'abs':
      return c(Math.hypot(x.re, x.im));
    case 'fact':
      return factorial(x);
    case 'gamma':
      return realOnly(x, gamma);
    case 'binom': {
      const k = args[1] === undefined ? NAN : evaluate(args[1], vars, inTrig);
      if (!isReal(x) || !isReal(k)) return NAN;
      return c(gamma(x.re + 1) / (gamma(k.re + 1) * gamma(x.re - k.re + 1)));
    }
    case 'floor':
      return realOnly(x, Math.floor);
    case 'ceil':
      return realOnly(x, Math.ceil);
    case 'pct':
      return c(x.re / 100, x.im / 100);
    case 'deg':
      // Degrees are plain numbers (`90^\circ` answers 90) except inside trigonometric functions.
      return inTrig ? mul(x, c(Math.PI / 180)) : x;
    default:
      return NAN;
  }
}

function evaluateBigOp(node: Extract<Node, { t: 'bigop' }>, vars: VariableValues, inTrig: boolean): Complex {
  const lo = evaluate(node.lo, vars, inTrig);
  const hi = evaluate(node.hi, vars, inTrig);
  if (!isReal(lo) || !isReal(hi) || !Number.isInteger(Math.round(lo.re)) || Math.abs(lo.re - Math.round(lo.re)) > 1e-9 || Math.abs(hi.re - Math.round(hi.re)) > 1e-9) return NAN;
  const from = Math.round(lo.re);
  const to = Math.round(hi.re);
  if (to - from > MAX_TERMS) return NAN;
  let acc = c(node.op === 'sum' ? 0 : 1);
  for (let k = from; k <= to; k++) {
    const inner: VariableValues = (name) => (name === node.v ? k : vars(name));
    const v = evaluate(node.body, inner, inTrig);
    acc = node.op === 'sum' ? add(acc, v) : mul(acc, v);
  }
  return acc;
}

/** True when both parts are finite numbers. */
export function isFiniteComplex(v: Complex): boolean {
  return Number.isFinite(v.re) && Number.isFinite(v.im);
}
