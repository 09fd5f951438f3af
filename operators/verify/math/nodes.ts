import type { Node } from './ast.js';
import { normalize } from './exact.js';
import { ParseError } from './tokens.js';

/** Node builders of the parser (`parse.ts`). */

/** The product a·b, flattened. */
export function mul(a: Node, b: Node): Node {
  if (a.t === 'mul') return { t: 'mul', args: [...a.args, b] };
  return { t: 'mul', args: [a, b] };
}

/** `2.5 \times 10^{-3}` is one number written in scientific notation; null otherwise. */
export function scientific(mantissa: Node, rhs: Node): Node | null {
  if (mantissa.t !== 'num' || rhs.t !== 'pow' || rhs.base.t !== 'num' || rhs.base.n !== 10n || rhs.base.d !== 1n) return null;
  const e = rhs.exp.t === 'num' ? rhs.exp : rhs.exp.t === 'neg' && rhs.exp.arg.t === 'num' ? rhs.exp.arg : null;
  if (e === null || e.d !== 1n || e.n > 400n) return null;
  const k = 10n ** e.n;
  const negative = rhs.exp.t === 'neg';
  return reduce(negative ? mantissa.n : mantissa.n * k, negative ? mantissa.d * k : mantissa.d, true);
}

/** `918\frac{1}{2}` = 918.5: an integer literal directly followed by `\frac` of integer literals; null otherwise. */
export function mixedNumber(acc: Node, frac: Node): Node | null {
  const whole = acc.t === 'neg' ? acc.arg : acc;
  if (whole.t !== 'num' || whole.float || whole.d !== 1n) return null;
  if (frac.t !== 'div' || frac.num.t !== 'num' || frac.den.t !== 'num' || frac.num.float || frac.den.float || frac.num.d !== 1n || frac.den.d !== 1n || frac.den.n === 0n) return null;
  const value = reduce(whole.n * frac.den.n + frac.num.n, frac.den.n, false);
  return acc.t === 'neg' ? { t: 'neg', arg: value } : value;
}

/** The exact value of a decimal literal. */
export function numberNode(v: string): Node {
  const dot = v.indexOf('.');
  if (dot < 0) return { t: 'num', n: BigInt(v), d: 1n, float: false };
  const frac = v.slice(dot + 1);
  return reduce(BigInt(v.slice(0, dot) + frac), 10n ** BigInt(frac.length), true);
}

/** The number n/d in lowest terms. */
export function reduce(n: bigint, d: bigint, float: boolean): Node {
  return { t: 'num', ...normalize(n, d), float };
}

/** Text of an exact number. */
export function numText(n: Extract<Node, { t: 'num' }>): string {
  return n.d === 1n ? String(n.n) : `${n.n}/${n.d}`;
}

/** A subscript that is a name part (digits, a letter, a Greek letter, a run of them), else null. */
export function subscriptName(sub: Node): string | null {
  if (sub.t === 'num' && !sub.float && sub.d === 1n) return String(sub.n);
  if (sub.t === 'sym') return sub.name;
  if (sub.t === 'const') return sub.name === 'pi' ? 'pi' : sub.name;
  if (sub.t === 'mul' && sub.args.every((a) => subscriptName(a) !== null)) return sub.args.map((a) => subscriptName(a)).join('');
  return null;
}

/** A `\\text{...}`-like group: a number, a word (a symbol named by it), ℝ, or math inside `\\mathbf{}`. */
export function textNode(raw: string, cmd: string, parseInner: (latex: string) => Node): Node {
  const v = raw.trim();
  if (cmd === 'mathbb' && (v === 'R' || v === 'R}')) return { t: 'special', name: 'reals' };
  if (v === '') throw new ParseError('empty text');
  if (/^-?\d+(?:\.\d+)?$/.test(v)) return v.startsWith('-') ? { t: 'neg', arg: numberNode(v.slice(1)) } : numberNode(v);
  if (cmd === 'operatorname') return { t: 'sym', name: v };
  if (/^[a-zA-Z][a-zA-Z' .()-]*$/.test(v)) return { t: 'sym', name: v.replace(/\s+/g, ' ') };
  // Math inside \mathbf{...} and the like: parse it.
  return parseInner(v);
}
