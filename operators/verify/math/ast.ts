/**
 * The parsed form of a math answer (see `parse.ts`). Numbers keep their exact value as a BigInt
 * fraction and whether they were written as decimals, because the comparison rules differ: exact
 * values compare exactly, written decimals are rounded (math-verify's rule).
 */

/** Relation operators, normalized (`\leq`, `<=`, `\leqslant` are all `le`). */
export type RelOp = 'eq' | 'lt' | 'le' | 'gt' | 'ge' | 'ne' | 'approx';

/** One node of a parsed answer. */
export type Node =
  /** A numeric literal: exactly n/d (d > 0); `float` when written with a decimal point or exponent. */
  | { readonly t: 'num'; readonly n: bigint; readonly d: bigint; readonly float: boolean }
  /** A variable (`x`, `a_3`, `\alpha`, `f'`) or a word of text (`Evelyn`). */
  | { readonly t: 'sym'; readonly name: string }
  | { readonly t: 'const'; readonly name: 'pi' | 'e' | 'i' | 'inf' }
  | { readonly t: 'add'; readonly args: readonly Node[] }
  | { readonly t: 'mul'; readonly args: readonly Node[] }
  | { readonly t: 'neg'; readonly arg: Node }
  | { readonly t: 'div'; readonly num: Node; readonly den: Node }
  | { readonly t: 'pow'; readonly base: Node; readonly exp: Node }
  /** A known function: sqrt, root (args: radicand, index), sin, ln, log (args: x, base), abs, fact, binom, floor, ceil, exp, pct, deg, ... */
  | { readonly t: 'fn'; readonly name: string; readonly args: readonly Node[] }
  /** An unknown function applied to arguments (`f(x)`, `F_{n-1}`): evaluated as a fixed random function. */
  | { readonly t: 'apply'; readonly name: string; readonly args: readonly Node[] }
  /** `\sum` / `\prod` over an integer range. */
  | { readonly t: 'bigop'; readonly op: 'sum' | 'prod'; readonly v: string; readonly lo: Node; readonly hi: Node; readonly body: Node }
  /** `a \pm b` (a absent for a leading `\pm b`); `minus` for `\mp`. */
  | { readonly t: 'pm'; readonly a: Node | null; readonly b: Node; readonly minus: boolean }
  /** Bracketed items: a point, a vector or an interval (`(1,2]`). */
  | { readonly t: 'tuple'; readonly open: string; readonly close: string; readonly items: readonly Node[] }
  /** `\{a, b\}` or `{a, b}`: order does not matter. */
  | { readonly t: 'set'; readonly items: readonly Node[] }
  /** Items separated at the top level (`1, 2, 3`, `a; b`, `6 and 8`): read as a set, like math-verify. */
  | { readonly t: 'list'; readonly items: readonly Node[] }
  | { readonly t: 'matrix'; readonly rows: readonly (readonly Node[])[] }
  /** A chain `a op1 b op2 c`: `args.length === ops.length + 1`. */
  | { readonly t: 'rel'; readonly ops: readonly RelOp[]; readonly args: readonly Node[] }
  | { readonly t: 'setop'; readonly op: 'cup' | 'cap' | 'minus'; readonly args: readonly Node[] }
  /** `a:b` (ratios, clock times): compared item by item. */
  | { readonly t: 'ratio'; readonly items: readonly Node[] }
  /** `x \in S`. */
  | { readonly t: 'in'; readonly elem: Node; readonly set: Node }
  | { readonly t: 'special'; readonly name: 'emptyset' | 'reals' };

/** Free variable names of a node (bound variables of sums excluded). */
export function freeSymbols(node: Node, out: Set<string> = new Set(), bound: ReadonlySet<string> = new Set()): Set<string> {
  switch (node.t) {
    case 'sym':
      if (!bound.has(node.name)) out.add(node.name);
      break;
    case 'bigop': {
      freeSymbols(node.lo, out, bound);
      freeSymbols(node.hi, out, bound);
      freeSymbols(node.body, out, new Set([...bound, node.v]));
      break;
    }
    default:
      for (const child of children(node)) freeSymbols(child, out, bound);
  }
  return out;
}

/** The direct sub-nodes of a node. */
export function children(node: Node): readonly Node[] {
  switch (node.t) {
    case 'num':
    case 'sym':
    case 'const':
    case 'special':
      return [];
    case 'add':
    case 'mul':
    case 'fn':
    case 'apply':
    case 'setop':
      return node.args;
    case 'rel':
      return node.args;
    case 'neg':
      return [node.arg];
    case 'div':
      return [node.num, node.den];
    case 'pow':
      return [node.base, node.exp];
    case 'bigop':
      return [node.lo, node.hi, node.body];
    case 'pm':
      return node.a === null ? [node.b] : [node.a, node.b];
    case 'tuple':
    case 'set':
    case 'list':
    case 'ratio':
      return node.items;
    case 'matrix':
      return node.rows.flat();
    case 'in':
      return [node.elem, node.set];
  }
}

/** True when some node of the tree satisfies `pred`. */
export function someNode(node: Node, pred: (n: Node) => boolean): boolean {
  if (pred(node)) return true;
  return children(node).some((c) => someNode(c, pred));
}
