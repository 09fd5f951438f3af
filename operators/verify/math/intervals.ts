import { freeSymbols, type Node, type RelOp } from './ast.js';
import { evaluate } from './evaluate.js';
import { toLatex } from './print.js';

/**
 * Subsets of the real line as unions of intervals: how an inequality meets its interval
 * (`0 < f(x) < 1` against `(0,1)`, `1 \le |z| \le 3/2` against a union) and how relations written
 * in different directions (`x \le 5`, `5 \ge x`, `-x \ge -5`) are found equal.
 */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
  readonly loClosed: boolean;
  readonly hiClosed: boolean;
}

/** A finite union of disjoint intervals, sorted. */
export type IntervalSet = readonly Interval[];

const REALS: IntervalSet = [{ lo: -Infinity, hi: Infinity, loClosed: false, hiClosed: false }];
const TOL = 1e-9;

const close = (a: number, b: number): boolean => a === b || (Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= TOL * Math.max(1, Math.abs(a), Math.abs(b)));

/** The set a set-like node denotes (interval, union, finite set of numbers, ℝ, ∅), or null. */
export function nodeToSet(node: Node): IntervalSet | null {
  switch (node.t) {
    case 'tuple': {
      if (node.items.length !== 2) return null;
      const lo = realValue(node.items[0]);
      const hi = realValue(node.items[1]);
      if (lo === null || hi === null || lo > hi) return null;
      return [{ lo, hi, loClosed: node.open === '[' && Number.isFinite(lo), hiClosed: node.close === ']' && Number.isFinite(hi) }];
    }
    case 'set': {
      const points: Interval[] = [];
      for (const item of node.items) {
        const v = realValue(item);
        if (v === null || !Number.isFinite(v)) return null;
        points.push({ lo: v, hi: v, loClosed: true, hiClosed: true });
      }
      return normalizeSet(points);
    }
    case 'special':
      return node.name === 'reals' ? REALS : [];
    case 'in':
      return nodeToSet(node.set);
    case 'setop': {
      let acc = nodeToSet(node.args[0] as Node);
      for (const arg of node.args.slice(1)) {
        const next = nodeToSet(arg);
        if (acc === null || next === null) return null;
        acc = node.op === 'cup' ? union(acc, next) : node.op === 'cap' ? intersect(acc, next) : intersect(acc, complement(next));
      }
      return acc;
    }
    default:
      return null;
  }
}

/**
 * The solution set of a relation chain in one unknown: a variable, or one expression such as
 * `f(x)` or `|z|`'s argument that every non-constant side shares. Each link must be linear in the
 * unknown, or `|linear|` against a constant. Null when the relation is not of that kind.
 */
export function relationToSet(rel: Extract<Node, { t: 'rel' }>): { subject: string; set: IntervalSet } | null {
  for (const subject of subjectsOf(rel)) {
    let acc: IntervalSet | null = REALS;
    for (let k = 0; k < rel.ops.length && acc !== null; k++) {
      const set = linkToSet(rel.args[k] as Node, rel.ops[k] as RelOp, rel.args[k + 1] as Node, subject);
      acc = set === null ? null : intersect(acc, set);
    }
    if (acc !== null) return { subject: subject.key, set: acc };
  }
  return null;
}

interface Subject {
  /** Canonical text of the unknown. */
  readonly key: string;
  /** Value of a side at unknown = t, or null when the side is not a function of the unknown alone. */
  readonly at: (side: Node, t: number) => number | null;
}

// The unknowns a relation may be about: its one variable, then the one expression every
// non-constant side shares (`f(x)` in `0 < f(x) < 1`).
function subjectsOf(rel: Extract<Node, { t: 'rel' }>): Subject[] {
  const out: Subject[] = [];
  const vars = new Set<string>();
  for (const a of rel.args) freeSymbols(a, vars);
  if (vars.size === 1) {
    const name = [...vars][0] as string;
    out.push({ key: name, at: (side, t) => realOf(evaluate(side, (n) => (n === name ? t : Number.NaN))) });
  }
  const keys = new Set(rel.args.filter((a) => realValue(a) === null).map(toLatex));
  const key = [...keys][0];
  if (keys.size === 1 && key !== undefined && !vars.has(key)) out.push({ key, at: (side, t) => (toLatex(side) === key ? t : realValue(side)) });
  return out;
}

// One link `left op right` as a set of values of the unknown.
function linkToSet(left: Node, op: RelOp, right: Node, subject: Subject): IntervalSet | null {
  if (op === 'approx') return null;
  const abs = absLink(left, op, right, subject) ?? absLink(right, flip(op), left, subject);
  if (abs !== undefined) return abs;
  // f(t) = left(t) - right(t) must be linear: f(t) = αt + β.
  const f = (t: number): number | null => {
    const l = subject.at(left, t);
    const r = subject.at(right, t);
    return l === null || r === null ? null : l - r;
  };
  const f0 = f(0);
  const f1 = f(1);
  const f2 = f(2.5);
  const fm = f(-1.75);
  if (f0 === null || f1 === null || f2 === null || fm === null || ![f0, f1, f2, fm].every(Number.isFinite)) return null;
  const alpha = f1 - f0;
  if (!close(f2, f0 + 2.5 * alpha) || !close(fm, f0 - 1.75 * alpha)) return null;
  if (Math.abs(alpha) <= TOL * Math.max(1, Math.abs(f0))) return null;
  // α t + β op 0  ⇔  t op' -β/α (direction flips for α < 0).
  return compareWith(-f0 / alpha, alpha > 0 ? op : flip(op));
}

// `|T| op c` with T linear in the unknown and c constant: undefined when not of that form.
function absLink(side: Node, op: RelOp, other: Node, subject: Subject): IntervalSet | null | undefined {
  if (side.t !== 'fn' || side.name !== 'abs' || side.args[0] === undefined) return undefined;
  const c = realValue(other);
  if (c === null) return undefined;
  const inner = side.args[0];
  const t0 = subject.at(inner, 0);
  const t1 = subject.at(inner, 1);
  const t2 = subject.at(inner, 3);
  if (t0 === null || t1 === null || t2 === null) return null;
  const alpha = t1 - t0;
  if (!close(t2, t0 + 3 * alpha) || alpha === 0) return null;
  // |αt + β| op c: solve for u = αt + β, then map back to t.
  let uSet: IntervalSet;
  if (op === 'le' || op === 'lt') uSet = c < 0 || (c === 0 && op === 'lt') ? [] : [{ lo: -c, hi: c, loClosed: op === 'le', hiClosed: op === 'le' }];
  else if (op === 'ge' || op === 'gt') uSet = c < 0 || (c === 0 && op === 'ge') ? REALS : complement([{ lo: -c, hi: c, loClosed: op === 'gt', hiClosed: op === 'gt' }]);
  else if (op === 'eq') uSet = c < 0 ? [] : normalizeSet([point(-c), point(c)]);
  else return null;
  return normalizeSet(uSet.map((i) => mapInterval(i, t0, alpha)));
}

// The interval of t where u = αt + β runs over i.
function mapInterval(i: Interval, beta: number, alpha: number): Interval {
  const f = (u: number): number => (Number.isFinite(u) ? (u - beta) / alpha : alpha > 0 ? u : -u);
  const a = f(i.lo);
  const b = f(i.hi);
  return alpha > 0 ? { lo: a, hi: b, loClosed: i.loClosed, hiClosed: i.hiClosed } : { lo: b, hi: a, loClosed: i.hiClosed, hiClosed: i.loClosed };
}

const point = (v: number): Interval => ({ lo: v, hi: v, loClosed: true, hiClosed: true });

function compareWith(c: number, op: RelOp): IntervalSet | null {
  switch (op) {
    case 'lt':
      return [{ lo: -Infinity, hi: c, loClosed: false, hiClosed: false }];
    case 'le':
      return [{ lo: -Infinity, hi: c, loClosed: false, hiClosed: true }];
    case 'gt':
      return [{ lo: c, hi: Infinity, loClosed: false, hiClosed: false }];
    case 'ge':
      return [{ lo: c, hi: Infinity, loClosed: true, hiClosed: false }];
    case 'eq':
      return [point(c)];
    case 'ne':
      return complement([point(c)]);
    case 'approx':
      return null;
  }
}

/** The relation read right to left (`a < b` is `b > a`). */
export function flip(op: RelOp): RelOp {
  return ({ lt: 'gt', gt: 'lt', le: 'ge', ge: 'le', eq: 'eq', ne: 'ne', approx: 'approx' } as const)[op];
}

/** Value of a closed real expression (±Infinity allowed), or null. */
export function realValue(node: Node | undefined): number | null {
  if (node === undefined || freeSymbols(node).size > 0) return null;
  return realOf(evaluate(node, () => Number.NaN));
}

// The real part of a value that is real (±Infinity allowed), else null.
function realOf(v: { re: number; im: number }): number | null {
  if (Number.isNaN(v.re) || Number.isNaN(v.im)) return null;
  return v.im === 0 || Math.abs(v.im) <= 1e-12 * Math.max(1, Math.abs(v.re)) ? v.re : null;
}

function complement(set: IntervalSet): IntervalSet {
  const out: Interval[] = [];
  let lo = -Infinity;
  let loClosed = false;
  for (const i of set) {
    if (i.lo > lo || (i.lo === lo && !i.loClosed && loClosed)) out.push({ lo, hi: i.lo, loClosed, hiClosed: !i.loClosed });
    lo = i.hi;
    loClosed = !i.hiClosed;
  }
  if (lo < Infinity) out.push({ lo, hi: Infinity, loClosed: loClosed && Number.isFinite(lo), hiClosed: false });
  return normalizeSet(out.filter((i) => i.lo < i.hi || (i.loClosed && i.hiClosed)));
}

function union(a: IntervalSet, b: IntervalSet): IntervalSet {
  return normalizeSet([...a, ...b]);
}

function intersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  const out: Interval[] = [];
  for (const x of a) {
    for (const y of b) {
      const lo = Math.max(x.lo, y.lo);
      const hi = Math.min(x.hi, y.hi);
      const loClosed = x.lo === y.lo ? x.loClosed && y.loClosed : lo === x.lo ? x.loClosed : y.loClosed;
      const hiClosed = x.hi === y.hi ? x.hiClosed && y.hiClosed : hi === x.hi ? x.hiClosed : y.hiClosed;
      if (lo < hi || (lo === hi && loClosed && hiClosed)) out.push({ lo, hi, loClosed, hiClosed });
    }
  }
  return normalizeSet(out);
}

/** Sorts and merges overlapping or touching intervals. */
export function normalizeSet(items: readonly Interval[]): IntervalSet {
  const sorted = [...items].sort((x, y) => x.lo - y.lo || Number(y.loClosed) - Number(x.loClosed));
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && (i.lo < last.hi || (close(i.lo, last.hi) && (i.loClosed || last.hiClosed)))) {
      const hiClosed = i.hi > last.hi ? i.hiClosed : i.hi === last.hi ? i.hiClosed || last.hiClosed : last.hiClosed;
      out[out.length - 1] = { lo: last.lo, hi: Math.max(last.hi, i.hi), loClosed: last.loClosed, hiClosed };
    } else out.push(i);
  }
  return out;
}

/** Same intervals, endpoints equal to a relative 1e-9 (or rounded to `decimals` when `rounded`). */
export function setsEqual(a: IntervalSet, b: IntervalSet, eq: (x: number, y: number) => boolean = close): boolean {
  return a.length === b.length && a.every((x, k) => {
    const y = b[k] as Interval;
    return eqEnd(x.lo, y.lo, eq) && eqEnd(x.hi, y.hi, eq) && x.loClosed === y.loClosed && x.hiClosed === y.hiClosed;
  });
}

function eqEnd(x: number, y: number, eq: (x: number, y: number) => boolean): boolean {
  return Number.isFinite(x) || Number.isFinite(y) ? eq(x, y) : x === y;
}
