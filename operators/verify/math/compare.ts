import { freeSymbols, someNode, type Node } from './ast.js';
import { casRefusal } from './casGuard.js';
import { nodeToSet, setsEqual } from './intervals.js';
import { normalizeAnswer } from './normalize.js';
import { reduceMatrixExpression } from './matrices.js';
import { readAnswer } from './readings.js';
import { toLatex } from './print.js';
import { equationsEqual, isEquation, lastSide, relationsEqual, sameLabel, valueForm } from './relations.js';
import { compareScalars, type ScalarConfig } from './scalar.js';

/** Configuration of answer comparison. Plain data: it is hashed into every verdict. */
export interface CompareConfig extends ScalarConfig {
  /** Longer answers (after extraction) are judged not equal without parsing. */
  readonly maxInputChars: number;
  /** Longest sub-answer handed to the CAS, in characters. */
  readonly maxCasChars: number;
  /** CAS questions one comparison may ask (lists multiply comparisons; a count keeps verdicts deterministic). */
  readonly maxCasCalls: number;
}

/** Defaults used by `createMathVerifier()` and the CLI. */
export const DEFAULT_COMPARE_CONFIG: CompareConfig = {
  maxInputChars: 4000,
  maxCasChars: 300,
  maxCasCalls: 8,
  floatDecimals: 6,
  relTolerance: 1e-9,
  seed: 20250703,
  samplePoints: 4,
};

/** Which check decided the comparison. */
export type CompareMethod = 'string' | 'numeric' | 'sampling' | 'text' | 'structure' | 'equation' | 'relation' | 'set' | 'cas' | 'guard' | 'unparsed' | 'fallback' | 'none' | 'too-long';

/** An extracted answer: its text, whether it came from plain prose, whether a fallback found it. */
export interface AnswerText {
  readonly text: string;
  /** Read outside LaTeX: a decimal comma (`1000,99`) may be meant. */
  readonly plain?: boolean;
  /** Found by the last-number fallback: may only match a gold that is a plain number. */
  readonly fallback?: boolean;
}

/** Outcome of comparing two extracted answers. */
export interface Comparison {
  readonly equal: boolean;
  readonly method: CompareMethod;
  readonly goldNormalized: string;
  readonly predNormalized: string;
  /** Not equal as far as the inline checks go, but a CAS might still find them equal. */
  readonly needsCas: boolean;
}

/**
 * Asks a CAS whether two scalar sub-answers (LaTeX) are equal: true, false or undefined (cannot
 * tell). Only given inside the CAS worker (`streams/verifier/`): inline comparison never waits.
 */
export type CasOracle = (gold: string, pred: string) => boolean | undefined;

/** Capabilities of a comparison. */
export interface CompareDeps {
  readonly cas?: CasOracle;
}

interface Ctx {
  readonly config: CompareConfig;
  readonly cas: CasOracle | undefined;
  method: CompareMethod;
  undecided: boolean;
  casCalls: number;
}

/**
 * Compares two extracted answers: normalized strings, then the parsed answers part by part
 * (labels and equations, relations and intervals, sets, tuples, matrices), then scalars exactly,
 * numerically or at sample points. Without `deps.cas`, what only a CAS could decide comes back not
 * equal with `needsCas`; the verifier then asks its CAS worker pool. Deterministic: a function of
 * (gold, pred, config).
 *
 * @example compareAnswers('\\frac{1}{2}', '0.5').equal // true
 */
export function compareAnswers(gold: string | AnswerText, pred: string | AnswerText, config: CompareConfig = DEFAULT_COMPARE_CONFIG, deps: CompareDeps = {}): Comparison {
  const ga = typeof gold === 'string' ? { text: gold } : gold;
  const pa = typeof pred === 'string' ? { text: pred } : pred;
  if (ga.text.length > config.maxInputChars || pa.text.length > config.maxInputChars) {
    return { equal: false, method: 'too-long', goldNormalized: ga.text.slice(0, 80), predNormalized: pa.text.slice(0, 80), needsCas: false };
  }
  const g = normalizeAnswer(ga.text);
  const p = normalizeAnswer(pa.text);
  const result = (equal: boolean, method: CompareMethod, needsCas = false): Comparison => ({ equal, method, goldNormalized: g, predNormalized: p, needsCas });
  if (g.length === 0 || p.length === 0) return result(false, 'none');
  const goldReadings = readAnswer(g, ga.plain === true);
  const fallback = ga.fallback === true || pa.fallback === true;
  if (fallback && !goldReadings.some(isPlainNumber)) return result(false, 'fallback');
  if (g === p) return result(true, 'string');
  const predReadings = readAnswer(p, pa.plain === true);
  const ctx: Ctx = { config, cas: deps.cas, method: 'none', undecided: false, casCalls: 0 };
  if (goldReadings.length === 0 || predReadings.length === 0) {
    // One side is not something the parser reads: only a CAS may still read both.
    const verdict = askCas(g, p, ctx);
    return result(verdict === true, verdict === undefined && ctx.method !== 'guard' ? 'unparsed' : ctx.method, verdict === undefined && ctx.undecided);
  }
  for (const gn of goldReadings) {
    for (const pn of predReadings) {
      if (answersEqual(gn, pn, ctx)) return result(true, ctx.method);
    }
  }
  return result(false, ctx.method, ctx.undecided);
}

/** A gold whose value is one number (`5`, `-2.5`, `28\%`, `x = 5`): the only kind a fallback may match. */
function isPlainNumber(node: Node): boolean {
  const v = valueForm(node);
  if (v !== null) return isPlainNumber(v.value);
  if (node.t === 'num') return true;
  if (node.t === 'neg') return isPlainNumber(node.arg);
  if (node.t === 'div') return node.num.t === 'num' && node.den.t === 'num';
  return node.t === 'fn' && node.name === 'pct' && node.args[0] !== undefined && isPlainNumber(node.args[0]);
}

// Gold and prediction are not symmetric (math-verify's convention): a gold inequality accepts its
// interval, a gold label `k = 1` accepts the bare 1, a predicted equation is judged by its value.
function answersEqual(gold: Node, pred: Node, ctx: Ctx): boolean {
  const g = liftLabelledList(unwrap(gold));
  const p = liftLabelledList(unwrap(pred));
  const gv = valueForm(g);
  const pv = valueForm(p);
  const ge = g.t === 'rel' && isEquation(g) ? g : null;
  const pe = p.t === 'rel' && isEquation(p) ? p : null;
  if (gv !== null && pv !== null) {
    if (gv.label !== null && pv.label !== null && !sameLabel(gv.label, pv.label)) return ge !== null && pe !== null && equation(ge, pe, ctx);
    return answersEqual(gv.value, pv.value, ctx);
  }
  if (gv !== null) {
    if (pe !== null) return gv.label !== null && ge !== null ? equation(ge, pe, ctx) : answersEqual(gv.value, lastSide(pe), ctx);
    return answersEqual(gv.value, p, ctx);
  }
  if (pv !== null) {
    if (ge !== null) return pv.label !== null && pe !== null && equation(ge, pe, ctx);
    return answersEqual(g, pv.value, ctx);
  }
  if (ge !== null && pe !== null) return equation(ge, pe, ctx);
  if (pe !== null) return answersEqual(g, lastSide(pe), ctx);
  if (ge !== null) {
    ctx.method = 'equation';
    return false;
  }
  if (g.t === 'rel' || p.t === 'rel' || (isRelationList(g) && p.t !== 'list')) {
    const r = relationsEqual(g, p.t === 'in' ? p.set : p, ctx.config);
    ctx.method = 'relation';
    if (r === undefined) ctx.undecided = true;
    return r === true;
  }
  return structuresEqual(g, p, ctx);
}

const isRelationList = (node: Node): boolean => node.t === 'list' && node.items.length > 1 && node.items.every((i) => i.t === 'rel' && !i.ops.includes('eq') && !i.ops.includes('approx'));

function equation(g: Extract<Node, { t: 'rel' }>, p: Extract<Node, { t: 'rel' }>, ctx: Ctx): boolean {
  ctx.method = 'equation';
  const r = equationsEqual(g, p, ctx.config);
  if (r === undefined) ctx.undecided = true;
  return r === true;
}

// A list or set whose items are one value is that value.
function collapse(node: Node, config: CompareConfig): Node {
  const n = unwrap(node);
  if (n.t !== 'list' && n.t !== 'set') return n;
  const items = dedupe(n.items, config);
  return items.length === 1 ? unwrap(items[0] as Node) : items.length === n.items.length ? n : { t: n.t, items };
}

// A one-item list or set is its item (`{5}` = 5); `x \in S` is S.
function unwrap(node: Node): Node {
  if ((node.t === 'list' || node.t === 'set') && node.items.length === 1) return unwrap(node.items[0] as Node);
  if (node.t === 'in') return node.set;
  return node;
}

// `n = 1, 2, 3` and `a = 4, -8, -10`: the label of the first item names the whole list.
function liftLabelledList(node: Node): Node {
  if (node.t !== 'list' || node.items.length < 2) return node;
  const first = valueForm(node.items[0] as Node);
  if (first?.label === null || first === null || node.items.slice(1).some((i) => valueForm(i) !== null || i.t === 'rel')) return node;
  return { t: 'rel', ops: ['eq'], args: [first.label, { t: 'list', items: [first.value, ...node.items.slice(1)] }] };
}

function structuresEqual(gold: Node, pred: Node, ctx: Ctx): boolean {
  const gm = reduceMatrixExpression(gold);
  const pm = reduceMatrixExpression(pred);
  if (gm === null || pm === null) {
    ctx.method = 'structure';
    return false;
  }
  const g = collapse(expandPm(gm), ctx.config);
  const p = collapse(expandPm(pm), ctx.config);
  if (isScalar(g) && isScalar(p)) return scalarsEqual(g, p, ctx);
  // A ratio `3:4` against a number is the quotient 3/4.
  const quotient = asQuotient(g) ?? asQuotient(p);
  if (quotient !== null && (isScalar(g) || isScalar(p))) return scalarsEqual(asQuotient(g) ?? g, asQuotient(p) ?? p, ctx);
  if (g.t === 'setop' || p.t === 'setop' || g.t === 'special' || p.t === 'special') {
    ctx.method = 'set';
    const sg = nodeToSet(g);
    const sp = nodeToSet(p);
    if (sg !== null && sp !== null) return setsEqual(sg, sp);
    if (g.t === 'setop' && p.t === 'setop' && g.op === p.op) return unordered(g.args, p.args, ctx);
    return false;
  }
  const gItems = items(g);
  const pItems = items(p);
  if (gItems === null || pItems === null) {
    ctx.method = 'structure';
    return false;
  }
  ctx.method = 'structure';
  if (g.t === 'matrix' && p.t === 'matrix') {
    return g.rows.length === p.rows.length && g.rows.every((row, i) => row.length === (p.rows[i]?.length ?? -1)) && ordered(gItems, pItems, ctx);
  }
  if (g.t === 'matrix' || p.t === 'matrix') {
    // A column or row vector written as a matrix equals the same entries as a tuple.
    const m = g.t === 'matrix' ? g : (p as Extract<Node, { t: 'matrix' }>);
    const other = g.t === 'matrix' ? p : g;
    return (m.rows.length === 1 || m.rows.every((r) => r.length === 1)) && (other.t === 'tuple' || other.t === 'list') && ordered(gItems, pItems, ctx);
  }
  const gUnordered = g.t === 'list' || g.t === 'set';
  const pUnordered = p.t === 'list' || p.t === 'set';
  if (gUnordered && pUnordered) return unordered(gItems, pItems, ctx);
  if (g.t === 'tuple' && p.t === 'tuple') return g.open === p.open && g.close === p.close && ordered(gItems, pItems, ctx);
  if (g.t === 'ratio' && p.t === 'ratio') return ordered(gItems, pItems, ctx);
  // A set written in braces against a tuple: compared in the written order (math-verify).
  if ((gUnordered && p.t === 'tuple') || (pUnordered && g.t === 'tuple')) return ordered(gItems, pItems, ctx);
  return false;
}

function asQuotient(node: Node): Node | null {
  return node.t === 'ratio' && node.items.length === 2 ? { t: 'div', num: node.items[0] as Node, den: node.items[1] as Node } : null;
}

function isScalar(node: Node): boolean {
  return items(node) === null && node.t !== 'setop' && node.t !== 'special' && node.t !== 'rel' && node.t !== 'in';
}

function items(node: Node): readonly Node[] | null {
  switch (node.t) {
    case 'list':
    case 'set':
    case 'tuple':
    case 'ratio':
      return node.items;
    case 'matrix':
      return node.rows.flat();
    default:
      return null;
  }
}

function ordered(gs: readonly Node[], ps: readonly Node[], ctx: Ctx): boolean {
  return gs.length === ps.length && gs.every((g, i) => answersEqual(g, ps[i] as Node, ctx));
}

// Matching by greedy assignment is exact because equality is transitive on values.
function unordered(gs: readonly Node[], ps: readonly Node[], ctx: Ctx): boolean {
  const g = dedupe(gs, ctx.config);
  const p = dedupe(ps, ctx.config);
  if (g.length !== p.length) return false;
  const used = new Array<boolean>(p.length).fill(false);
  // Identical items pair up first, so reordered lists cost no numeric work.
  const keys = p.map(toLatex);
  const rest: Node[] = [];
  for (const x of g) {
    const k = toLatex(x);
    const j = keys.findIndex((key, i) => !used[i] && key === k);
    if (j >= 0) used[j] = true;
    else rest.push(x);
  }
  for (const x of rest) {
    const j = p.findIndex((y, k) => !used[k] && answersEqual(x, y, ctx));
    if (j < 0) return false;
    used[j] = true;
  }
  ctx.method = 'structure';
  return true;
}

// A set holds each value once: `\{15\frac{39}{40}, \frac{639}{40}\}` (one answer boxed twice) is
// one value. Closed numbers are merged by value; anything else by its text.
function dedupe(nodes: readonly Node[], config: CompareConfig): Node[] {
  const seen = new Set<string>();
  const kept: Node[] = [];
  for (const n of nodes) {
    const k = toLatex(n);
    if (seen.has(k)) continue;
    seen.add(k);
    const closed = isScalar(n) && freeSymbols(n).size === 0;
    if (closed && kept.some((m) => isScalar(m) && freeSymbols(m).size === 0 && compareScalars(m, n, config).equal)) continue;
    kept.push(n);
  }
  return kept;
}

function scalarsEqual(g: Node, p: Node, ctx: Ctx): boolean {
  const outcome = compareScalars(g, p, ctx.config);
  if (outcome.method !== 'undecided') {
    ctx.method = outcome.method;
    return outcome.equal;
  }
  const verdict = askCas(toLatex(g), toLatex(p), ctx);
  return verdict === true;
}

function askCas(g: string, p: string, ctx: Ctx): boolean | undefined {
  // What the CAS must not be asked is settled here, without a worker: not equal.
  if (casRefusal(g, ctx.config.maxCasChars) !== null || casRefusal(p, ctx.config.maxCasChars) !== null) {
    ctx.method = 'guard';
    return undefined;
  }
  if (ctx.cas === undefined) {
    ctx.undecided = true;
    ctx.method = 'none';
    return undefined;
  }
  if (ctx.casCalls >= ctx.config.maxCasCalls) return undefined;
  ctx.casCalls++;
  const verdict = ctx.cas(g, p);
  ctx.method = 'cas';
  return verdict;
}

const MAX_EXPANSIONS = 8;

// `1 \pm \sqrt{19}` is the set of its two values; a list item with ± contributes both.
function expandPm(node: Node): Node {
  if (!someNode(node, (n) => n.t === 'pm')) return node;
  if (node.t === 'list' || node.t === 'set') {
    return { t: node.t, items: node.items.flatMap((i) => { const e = expandPm(i); return e.t === 'set' ? e.items : [e]; }) };
  }
  if (node.t === 'tuple' || node.t === 'matrix' || node.t === 'rel' || node.t === 'ratio') return node;
  const values = expansions(node);
  return values.length === 1 ? (values[0] as Node) : { t: 'set', items: values };
}

function expansions(node: Node): Node[] {
  switch (node.t) {
    case 'pm': {
      const bs = expansions(node.b);
      const as = node.a === null ? [null] : expansions(node.a);
      const out: Node[] = [];
      for (const a of as) for (const b of bs) {
        const neg: Node = { t: 'neg', arg: b };
        out.push(a === null ? b : { t: 'add', args: [a, b] }, a === null ? neg : { t: 'add', args: [a, neg] });
      }
      return out.slice(0, MAX_EXPANSIONS);
    }
    case 'add':
    case 'mul':
      return product(node.args).map((args) => ({ t: node.t, args }));
    case 'fn':
    case 'apply':
      return product(node.args).map((args) => ({ ...node, args }));
    case 'neg':
      return expansions(node.arg).map((arg) => ({ t: 'neg', arg }));
    case 'div':
      return product([node.num, node.den]).map(([num, den]) => ({ t: 'div', num: num as Node, den: den as Node }));
    case 'pow':
      return product([node.base, node.exp]).map(([base, exp]) => ({ t: 'pow', base: base as Node, exp: exp as Node }));
    default:
      return [node];
  }
}

function product(args: readonly Node[]): Node[][] {
  let acc: Node[][] = [[]];
  for (const a of args) {
    const options = expansions(a);
    acc = acc.flatMap((prefix) => options.map((o) => [...prefix, o])).slice(0, MAX_EXPANSIONS);
  }
  return acc;
}
