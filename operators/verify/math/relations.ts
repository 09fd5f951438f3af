import { freeSymbols, type Node, type RelOp } from './ast.js';
import { evaluate, isFiniteComplex, type Complex } from './evaluate.js';
import { flip, nodeToSet, normalizeSet, relationToSet, setsEqual, type IntervalSet } from './intervals.js';
import { toLatex } from './print.js';
import { near, pointValues, type ScalarConfig } from './scalar.js';

/**
 * Equations and relations: labelled answers (`x = 3`, `(p,q) = (3,2)`, `AB = 4`), equations
 * compared as equations (`2x+4y-3=0` and `y = -x/2 + 3/4` have the same solutions), inequalities
 * in either direction and against intervals.
 */

type Rel = Extract<Node, { t: 'rel' }>;

/**
 * A name on the left of `=`: variables and products, quotients, ratios, absolute values, tuples
 * and function values of them (`x`, `AB`, `\frac{NO}{BO}`, `V_1:V_2`, `|AB|`, `(p,q)`, `f(x)`).
 * A number or a sum on the left (`7 = 11a + c`, `a + 3z = 0`) makes an equation, not a label.
 */
export function isLabel(node: Node): boolean {
  switch (node.t) {
    case 'sym':
    case 'apply':
      return true;
    case 'mul':
      return node.args.every(isLabel);
    case 'div':
      return isLabel(node.num) && isLabel(node.den);
    case 'ratio':
    case 'tuple':
      return node.items.every(isLabel);
    case 'fn':
      return node.name === 'abs' && node.args.every(isLabel);
    default:
      return false;
  }
}

/**
 * The value a chain of `=` and `≈` states, with its label when it starts with one:
 * `x = 5+5+1 = 1/3 \approx 11` is (x, 1/3) (the last exact form before the first `≈`), `x \approx 11`
 * is (x, 11), `\frac{\sqrt3}{3} \approx 0.577` is (none, \frac{\sqrt3}{3}). Null for a chain that
 * is an equation (`2x + 4y - 3 = 0`) or holds an inequality.
 */
export function valueForm(node: Node): { readonly label: Node | null; readonly value: Node } | null {
  if (node.t !== 'rel' || !node.ops.every((op) => op === 'eq' || op === 'approx')) return null;
  const labelled = isLabel(node.args[0] as Node);
  if (!labelled && !node.ops.includes('approx')) return null;
  const args = labelled ? node.args.slice(1) : node.args;
  const ops = labelled ? node.ops.slice(1) : node.ops;
  const firstApprox = ops.indexOf('approx');
  const value = (firstApprox >= 0 ? args[firstApprox] : args[args.length - 1]) as Node;
  return { label: labelled ? (node.args[0] as Node) : null, value };
}

/** True for a chain of `=` only. */
export function isEquation(node: Node): boolean {
  return node.t === 'rel' && node.ops.every((op) => op === 'eq');
}

/** The right-hand side of an equation chain (`x = 5+5+1 = 11` → 11). */
export function lastSide(rel: Rel): Node {
  return rel.args[rel.args.length - 1] as Node;
}

/** Two labels name the same thing. */
export function sameLabel(a: Node, b: Node): boolean {
  return toLatex(a) === toLatex(b);
}

/**
 * Two equations have the same solutions when lhs − rhs of one is a constant non-zero multiple of
 * the other's (`34x+45y-20z+100=0` and its negation; `x^2/4 + y^2/3 = 1` and `x^2/16 + y^2/12 =
 * 1/4`), checked at seeded points. Sufficient, not necessary: `x^2 = 4` and `x = 2 \text{ or } -2`
 * are not found equal.
 */
export function equationsEqual(g: Rel, p: Rel, config: ScalarConfig): boolean | undefined {
  return proportional(difference(g.args[0] as Node, lastSide(g)), difference(p.args[0] as Node, lastSide(p)), 'any', config);
}

const difference = (a: Node, b: Node): Node => ({ t: 'add', args: [a, { t: 'neg', arg: b }] });

/**
 * An inequality or relation chain against another (or against an interval when the prediction
 * is a set, as math-verify does: the gold `-2 \le x \le 7` accepts `[-2, 7]`, the gold `[-2, 7]`
 * does not accept the inequality). One unknown: compare solution sets. Otherwise link by link,
 * `a op b` matching `c op d` when a − b is a positive multiple of c − d (negative for flipped op).
 */
export function relationsEqual(g: Node, p: Node, config: ScalarConfig): boolean | undefined {
  if (p.t !== 'rel') {
    const sp = nodeToSet(p);
    const sg = relationsToSet(g);
    return sp !== null && sg !== null && setsEqual(sg, sp);
  }
  if (g.t !== 'rel' || p.t !== 'rel') return false;
  const sg = relationToSet(g);
  const sp = relationToSet(p);
  if (sg !== null && sp !== null && sg.subject === sp.subject) return setsEqual(sg.set, sp.set);
  if (g.ops.length !== p.ops.length) return false;
  const reversed: Rel = { t: 'rel', ops: [...p.ops].reverse().map(flip), args: [...p.args].reverse() };
  let undecided = false;
  for (const q of [p, reversed]) {
    const r = linksMatch(g, q, config);
    if (r === true) return true;
    if (r === undefined) undecided = true;
  }
  return undecided ? undefined : false;
}

// A relation, or relations joined by "or" (`x \le 1` or `x \ge 3`), as the union of their sets.
function relationsToSet(node: Node): IntervalSet | null {
  if (node.t === 'rel') return relationToSet(node)?.set ?? null;
  if (node.t !== 'list' || !node.items.every((i) => i.t === 'rel')) return null;
  const sets = node.items.map((i) => (i.t === 'rel' ? relationToSet(i) : null));
  if (sets.some((s) => s === null) || new Set(sets.map((s) => s?.subject)).size !== 1) return null;
  return normalizeSet(sets.flatMap((s) => s?.set ?? []));
}

function linksMatch(g: Rel, p: Rel, config: ScalarConfig): boolean | undefined {
  let undecided = false;
  for (let k = 0; k < g.ops.length; k++) {
    const og = g.ops[k] as RelOp;
    const op = p.ops[k] as RelOp;
    const sign = og === op ? (og === 'eq' || og === 'ne' ? 'any' : 'positive') : og === flip(op) ? 'negative' : null;
    if (sign === null) return false;
    const r = proportional(difference(g.args[k] as Node, g.args[k + 1] as Node), difference(p.args[k] as Node, p.args[k + 1] as Node), sign, config);
    if (r === false) return false;
    if (r === undefined) undecided = true;
  }
  return undecided ? undefined : true;
}

/** f = λ h for one constant λ (of the given sign), at seeded points; undefined when nowhere decidable. */
function proportional(f: Node, h: Node, sign: 'any' | 'positive' | 'negative', config: ScalarConfig): boolean | undefined {
  const vars = new Set([...freeSymbols(f), ...freeSymbols(h)]);
  let ratio: Complex | null = null;
  let decided = 0;
  const points = vars.size === 0 ? 1 : config.samplePoints + 1;
  for (let k = 0; k < points; k++) {
    const at = pointValues(config.seed + 17, k, new Set());
    const a = evaluate(f, at);
    const b = evaluate(h, at);
    if (!isFiniteComplex(a) || !isFiniteComplex(b)) continue;
    const za = Math.hypot(a.re, a.im) <= config.relTolerance;
    const zb = Math.hypot(b.re, b.im) <= config.relTolerance;
    if (za && zb) continue;
    if (za !== zb) return false;
    const den = b.re * b.re + b.im * b.im;
    const r = { re: (a.re * b.re + a.im * b.im) / den, im: (a.im * b.re - a.re * b.im) / den };
    if (ratio === null) ratio = r;
    else if (!near(ratio, r, 1e3 * config.relTolerance)) return false;
    decided++;
  }
  if (ratio === null || (vars.size > 0 && decided < 2)) return vars.size === 0 ? false : undefined;
  if (Math.abs(ratio.im) > 1e-9 * Math.max(1, Math.abs(ratio.re))) return sign === 'any';
  return sign === 'any' || (sign === 'positive' ? ratio.re > 0 : ratio.re < 0);
}
