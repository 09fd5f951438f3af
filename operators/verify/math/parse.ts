import type { Node, RelOp } from './ast.js';
import { ParseError, tokenize, type Token } from './tokens.js';

/**
 * Parses a normalized LaTeX answer (see `normalize.ts`) into a `Node`, or throws ParseError.
 * Recursive descent over the tokens, one pass; nesting deeper than MAX_DEPTH is refused, so a
 * hostile answer costs time linear in its length.
 *
 * Precedence, loosest first: `,`/`;` lists, relations (`=`, `<`, `\in`), set operations
 * (`\cup`), ratios (`:`), sums (`+`, `-`, `\pm`), products (explicit and implicit), unary minus,
 * powers, postfix (`!`, `'`, `%`, subscripts), atoms.
 */
export function parseLatex(s: string): Node {
  const p = new Parser(tokenize(s));
  const node = p.answer();
  return node;
}

const MAX_DEPTH = 60;

const RELATIONS: Readonly<Record<string, RelOp>> = {
  '=': 'eq', '==': 'eq', '<': 'lt', '>': 'gt', '<=': 'le', '>=': 'ge', '!=': 'ne',
  le: 'le', leq: 'le', leqslant: 'le', leqq: 'le', ge: 'ge', geq: 'ge', geqslant: 'ge', geqq: 'ge',
  lt: 'lt', gt: 'gt', ne: 'ne', neq: 'ne', approx: 'approx', simeq: 'approx', sim: 'approx', doteq: 'approx',
};
const FUNCTIONS = new Set(['sin', 'cos', 'tan', 'sec', 'csc', 'cot', 'arcsin', 'arccos', 'arctan', 'arcsec', 'arccsc', 'arccot', 'sinh', 'cosh', 'tanh', 'ln', 'log', 'exp', 'lg']);
const INVERSE: Readonly<Record<string, string>> = { sin: 'arcsin', cos: 'arccos', tan: 'arctan', sec: 'arcsec', csc: 'arccsc', cot: 'arccot' };
const GREEK = new Set(['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'varepsilon', 'zeta', 'eta', 'theta', 'vartheta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi', 'rho', 'sigma', 'tau', 'upsilon', 'phi', 'varphi', 'chi', 'psi', 'omega', 'Gamma', 'Delta', 'Theta', 'Lambda', 'Xi', 'Pi', 'Sigma', 'Phi', 'Psi', 'Omega', 'ell']);
// Letters read as function names when directly followed by `(` (`f(x)`, `P(2)`): elsewhere `a(b)` is a product.
const FUNCTION_LETTERS = new Set(['f', 'g', 'h', 'F', 'G', 'H', 'P', 'Q', 'W']);
const MATRIX_ENVS = new Set(['matrix', 'pmatrix', 'bmatrix', 'Bmatrix', 'vmatrix', 'Vmatrix', 'smallmatrix', 'array']);
const MUL_OPS = new Set(['*', 'cdot', 'times', 'ast']);

class Parser {
  private pos = 0;
  private depth = 0;
  private absDepth = 0;
  // Variables bound by an enclosing `\sum_{k=...}`: `i` and `e` there are variables, not constants.
  private readonly bound: string[] = [];

  constructor(private readonly toks: readonly Token[]) {}

  answer(): Node {
    if (this.toks.length === 0) throw new ParseError('empty answer');
    const node = this.sequence(null);
    if (this.pos < this.toks.length) throw new ParseError(`unexpected ${describe(this.peek())}`);
    return node;
  }

  private peek(offset = 0): Token | undefined {
    return this.toks[this.pos + offset];
  }

  private isOp(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.k === 'op' && t.v === v;
  }

  private isCmd(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.k === 'cmd' && t.v === v;
  }

  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new ParseError(`expected ${v}, got ${describe(this.peek())}`);
    this.pos++;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new ParseError('nested too deeply');
  }

  /**
   * Items separated by `,` or `;` up to a closer (one of `closers`, not consumed) or the end.
   * At the top level both separators present means `;` separates solutions made of `,` parts.
   */
  private sequence(closers: readonly string[] | null): Node {
    const groups: Node[][] = [[]];
    let semicolons = 0;
    let commas = 0;
    for (;;) {
      const t = this.peek();
      if (t === undefined || (closers !== null && t.k === 'op' && closers.includes(t.v))) break;
      if (t.k === 'op' && (t.v === ',' || t.v === ';')) {
        // An empty item (`1,,2`, a trailing comma) is skipped.
        this.pos++;
        if (t.v === ';') {
          semicolons++;
          groups.push([]);
        } else commas++;
        continue;
      }
      groups[groups.length - 1]?.push(this.relation());
      const after = this.peek();
      if (after !== undefined && !(after.k === 'op' && (after.v === ',' || after.v === ';' || (closers?.includes(after.v) ?? false)))) {
        throw new ParseError(`unexpected ${describe(after)}`);
      }
    }
    const nonEmpty = groups.filter((g) => g.length > 0);
    if (semicolons > 0 && commas > 0 && closers === null && nonEmpty.length > 1) {
      return { t: 'list', items: nonEmpty.map((g) => (g.length === 1 ? (g[0] as Node) : { t: 'tuple', open: '(', close: ')', items: g })) };
    }
    const items = nonEmpty.flat();
    if (items.length === 0) throw new ParseError('empty group');
    if (items.length === 1 && semicolons + commas === 0) return items[0] as Node;
    return { t: 'list', items };
  }

  private relation(): Node {
    this.enter();
    const args = [this.setExpr()];
    const ops: RelOp[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) break;
      if (t.k === 'cmd' && (t.v === 'in' || t.v === 'subseteq' || t.v === 'subset')) {
        this.pos++;
        const set = this.setExpr();
        this.depth--;
        if (ops.length > 0 || args.length !== 1) throw new ParseError('\\in inside a relation chain');
        return { t: 'in', elem: args[0] as Node, set };
      }
      const op = (t.k === 'op' || t.k === 'cmd') ? RELATIONS[t.v] : undefined;
      if (op === undefined) break;
      this.pos++;
      ops.push(op);
      args.push(this.setExpr());
    }
    this.depth--;
    return ops.length === 0 ? (args[0] as Node) : { t: 'rel', ops, args };
  }

  private setExpr(): Node {
    let node = this.ratio();
    for (;;) {
      const t = this.peek();
      const op = t?.k === 'cmd' ? ({ cup: 'cup', cap: 'cap', setminus: 'minus', backslash: 'minus' } as const)[t.v as 'cup'] : undefined;
      if (op === undefined) return node;
      this.pos++;
      const rhs = this.ratio();
      node = node.t === 'setop' && node.op === op ? { t: 'setop', op, args: [...node.args, rhs] } : { t: 'setop', op, args: [node, rhs] };
    }
  }

  private ratio(): Node {
    const items = [this.additive()];
    while (this.isOp(':')) {
      this.pos++;
      items.push(this.additive());
    }
    return items.length === 1 ? (items[0] as Node) : { t: 'ratio', items };
  }

  private additive(): Node {
    this.enter();
    let acc: Node | null = null;
    for (;;) {
      const t = this.peek();
      const sign = t?.k === 'op' && (t.v === '+' || t.v === '-') ? t.v : t?.k === 'cmd' && (t.v === 'pm' || t.v === 'mp') ? t.v : null;
      if (sign === null) {
        if (acc !== null) break;
        acc = this.term();
        continue;
      }
      this.pos++;
      const rhs = this.term();
      if (sign === 'pm' || sign === 'mp') acc = { t: 'pm', a: acc, b: rhs, minus: sign === 'mp' };
      else if (acc === null) acc = sign === '-' ? { t: 'neg', arg: rhs } : rhs;
      else {
        const term: Node = sign === '-' ? { t: 'neg', arg: rhs } : rhs;
        acc = acc.t === 'add' ? { t: 'add', args: [...acc.args, term] } : { t: 'add', args: [acc, term] };
      }
    }
    this.depth--;
    return acc;
  }

  private term(): Node {
    let acc = this.unary();
    for (;;) {
      const t = this.peek();
      if (t === undefined) break;
      if ((t.k === 'op' && t.v === '*') || (t.k === 'cmd' && MUL_OPS.has(t.v))) {
        this.pos++;
        const rhs = this.unary();
        acc = scientific(acc, rhs) ?? mul(acc, rhs);
      } else if ((t.k === 'op' && t.v === '/') || (t.k === 'cmd' && t.v === 'div')) {
        this.pos++;
        acc = { t: 'div', num: acc, den: this.unary() };
      } else if (this.startsAtom(t)) {
        const fraction = t.k === 'cmd' && (t.v === 'frac' || t.v === 'dfrac' || t.v === 'tfrac');
        const rhs = this.power();
        acc = (fraction ? mixedNumber(acc, rhs) : null) ?? mul(acc, rhs);
      } else break;
    }
    return acc;
  }

  private startsAtom(t: Token): boolean {
    switch (t.k) {
      case 'num':
      case 'id':
      case 'text':
      case 'begin':
        return true;
      case 'cmd':
        return !(t.v in RELATIONS) && !MUL_OPS.has(t.v) && !['div', 'pm', 'mp', 'cup', 'cap', 'setminus', 'in', 'subseteq', 'subset', 'backslash', 'rfloor', 'rceil', 'rvert', 'rangle', 'rVert'].includes(t.v);
      case 'op':
        return t.v === '(' || t.v === '[' || t.v === '{' || t.v === '\\{' || (t.v === '|' && this.absDepth === 0);
      case 'end':
        return false;
    }
  }

  private unary(): Node {
    if (this.isOp('-')) {
      this.pos++;
      return { t: 'neg', arg: this.unary() };
    }
    if (this.isOp('+')) {
      this.pos++;
      return this.unary();
    }
    return this.power();
  }

  private power(): Node {
    this.enter();
    let base = this.postfix();
    while (this.isOp('^')) {
      this.pos++;
      if (this.isCmd('circ')) {
        this.pos++;
        base = { t: 'fn', name: 'deg', args: [base] };
        continue;
      }
      if (this.isOp('{') && this.peek(1)?.k === 'cmd' && this.isCmd('circ', 1) && this.isOp('}', 2)) {
        this.pos += 3;
        base = { t: 'fn', name: 'deg', args: [base] };
        continue;
      }
      base = { t: 'pow', base, exp: this.exponent() };
      base = this.postfixOps(base);
    }
    this.depth--;
    return base;
  }

  // The argument of `^` or `_`: a braced group, or one token (`x^2`, `x^-1`, `e^x`, `2^10`).
  private exponent(): Node {
    const t = this.peek();
    if (t === undefined) throw new ParseError('missing exponent');
    if (t.k === 'op' && t.v === '{') return this.group('{', '}');
    if (t.k === 'op' && t.v === '-') {
      this.pos++;
      return { t: 'neg', arg: this.exponent() };
    }
    if (t.k === 'op' && t.v === '(') return this.atom();
    if (t.k === 'num' || t.k === 'id' || t.k === 'cmd' || t.k === 'text') return this.atom();
    throw new ParseError(`bad exponent ${describe(t)}`);
  }

  private postfix(): Node {
    return this.postfixOps(this.atom());
  }

  private postfixOps(node: Node): Node {
    let n = node;
    for (;;) {
      if (this.isOp('!')) {
        this.pos++;
        n = { t: 'fn', name: 'fact', args: [n] };
      } else if (this.isOp("'")) {
        this.pos++;
        if (n.t !== 'sym') throw new ParseError('prime on a non-symbol');
        n = { t: 'sym', name: `${n.name}'` };
      } else if (this.isOp('%')) {
        this.pos++;
        n = { t: 'fn', name: 'pct', args: [n] };
      } else if (this.isOp('_')) {
        this.pos++;
        n = this.subscript(n);
      } else return n;
    }
  }

  // `a_3`, `x_{12}`, `a_n` name a variable; `F_{n-1}` applies an unknown function; `204_5` is a base.
  private subscript(base: Node): Node {
    const start = this.pos;
    const sub = this.exponent();
    const simple = subscriptName(sub);
    if (base.t === 'num' && simple !== null) return { t: 'sym', name: `${numText(base)}_${simple}` };
    if (base.t === 'sym' || (base.t === 'const' && (base.name === 'e' || base.name === 'i'))) {
      const name = base.t === 'sym' ? base.name : base.name;
      if (simple !== null) return { t: 'sym', name: `${name}_${simple}` };
      return { t: 'apply', name, args: [sub] };
    }
    if (base.t === 'fn' || base.t === 'apply') throw new ParseError(`subscript after ${base.t} at token ${start}`);
    throw new ParseError('subscript on an expression');
  }

  private group(open: string, close: string): Node {
    this.expectOp(open);
    this.enter();
    const saved = this.absDepth;
    this.absDepth = 0;
    const inner = this.sequence([close]);
    this.absDepth = saved;
    this.expectOp(close);
    this.depth--;
    return inner;
  }

  private atom(): Node {
    const t = this.peek();
    if (t === undefined) throw new ParseError('unexpected end');
    switch (t.k) {
      case 'num':
        this.pos++;
        return numberNode(t.v);
      case 'id':
        this.pos++;
        return this.letter(t.v);
      case 'text':
        this.pos++;
        return textNode(t.v, t.cmd);
      case 'begin':
        return this.environment(t.v);
      case 'end':
        throw new ParseError(`unexpected \\end{${t.v}}`);
      case 'cmd':
        return this.commandAtom(t.v);
      case 'op':
        return this.bracket(t.v);
    }
  }

  private letter(v: string): Node {
    if (this.bound.includes(v)) return { t: 'sym', name: v };
    if (FUNCTION_LETTERS.has(v) && this.isOp('(')) {
      const args = this.group('(', ')');
      return { t: 'apply', name: v, args: args.t === 'list' ? args.items : [args] };
    }
    if (v === 'e') return { t: 'const', name: 'e' };
    if (v === 'i') return { t: 'const', name: 'i' };
    return { t: 'sym', name: v };
  }

  private bracket(v: string): Node {
    if (v === '(' || v === '[') {
      this.pos++;
      this.enter();
      const saved = this.absDepth;
      this.absDepth = 0;
      const inner = this.sequence([')', ']']);
      this.absDepth = saved;
      const close = this.peek();
      if (close?.k !== 'op' || (close.v !== ')' && close.v !== ']')) throw new ParseError(`unclosed ${v}`);
      this.pos++;
      this.depth--;
      if (inner.t === 'list') return { t: 'tuple', open: v, close: close.v, items: inner.items };
      if (v === '(' && close.v !== ')') throw new ParseError('mismatched brackets');
      if (v === '[' && close.v !== ']') throw new ParseError('mismatched brackets');
      return inner;
    }
    if (v === '{') {
      const inner = this.group('{', '}');
      return inner.t === 'list' ? { t: 'set', items: inner.items } : inner;
    }
    if (v === '\\{') {
      this.pos++;
      if (this.isOp('\\}')) {
        this.pos++;
        return { t: 'special', name: 'emptyset' };
      }
      this.enter();
      const inner = this.sequence(['\\}']);
      this.expectOp('\\}');
      this.depth--;
      return { t: 'set', items: inner.t === 'list' ? inner.items : [inner] };
    }
    if (v === '|') {
      this.pos++;
      this.enter();
      this.absDepth++;
      const inner = this.additive();
      this.absDepth--;
      this.expectOp('|');
      this.depth--;
      return { t: 'fn', name: 'abs', args: [inner] };
    }
    throw new ParseError(`unexpected ${v}`);
  }

  private commandAtom(name: string): Node {
    this.pos++;
    if (name === 'pi') return { t: 'const', name: 'pi' };
    if (name === 'infty' || name === 'infin') return { t: 'const', name: 'inf' };
    if (name === 'imath') return { t: 'const', name: 'i' };
    if (name === 'emptyset' || name === 'varnothing') return { t: 'special', name: 'emptyset' };
    // `\Gamma(x)` is the gamma function; elsewhere Greek letters are variables.
    if (name === 'Gamma' && this.isOp('(')) return { t: 'fn', name: 'gamma', args: [this.group('(', ')')] };
    if (GREEK.has(name)) return { t: 'sym', name };
    if (name === 'frac' || name === 'dfrac' || name === 'tfrac' || name === 'cfrac') return { t: 'div', num: this.argument(), den: this.argument() };
    if (name === 'binom' || name === 'dbinom' || name === 'tbinom') return { t: 'fn', name: 'binom', args: [this.argument(), this.argument()] };
    if (name === 'sqrt') {
      if (this.isOp('[')) {
        this.pos++;
        const index = this.sequence([']']);
        this.expectOp(']');
        return { t: 'fn', name: 'root', args: [this.argument(), index] };
      }
      return { t: 'fn', name: 'sqrt', args: [this.argument()] };
    }
    if (FUNCTIONS.has(name)) return this.functionCall(name);
    if (name === 'lfloor' || name === 'lceil') return this.delimited(name === 'lfloor' ? 'floor' : 'ceil', name === 'lfloor' ? 'rfloor' : 'rceil');
    if (name === 'lvert' || name === 'lVert') return this.delimited('abs', name === 'lvert' ? 'rvert' : 'rVert');
    if (name === 'langle') {
      this.enter();
      const inner = this.sequenceUntilCmd('rangle');
      this.depth--;
      return { t: 'tuple', open: '(', close: ')', items: inner.t === 'list' ? inner.items : [inner] };
    }
    if (name === 'sum' || name === 'prod') return this.bigOperator(name);
    throw new ParseError(`unsupported command \\${name}`);
  }

  private sequenceUntilCmd(closer: string): Node {
    const start = this.pos;
    let end = start;
    while (end < this.toks.length && !(this.toks[end]?.k === 'cmd' && this.toks[end]?.v === closer)) end++;
    if (end >= this.toks.length) throw new ParseError(`missing \\${closer}`);
    const inner = new Parser(this.toks.slice(start, end));
    this.pos = end + 1;
    return inner.answer();
  }

  private delimited(fn: string, closer: string): Node {
    this.enter();
    const inner = this.sequenceUntilCmd(closer);
    this.depth--;
    return { t: 'fn', name: fn, args: [inner] };
  }

  // The argument of `\frac`, `\sqrt`, ...: a braced group or a single token (`\frac12`).
  private argument(): Node {
    const t = this.peek();
    if (t === undefined) throw new ParseError('missing argument');
    if (t.k === 'op' && t.v === '{') return this.group('{', '}');
    if (t.k === 'num') {
      this.pos++;
      // `\frac12`: one digit per argument.
      if (t.v.length > 1 && /^\d+$/.test(t.v)) {
        this.toksSplit(t.v);
        return numberNode(t.v[0] ?? '0');
      }
      return numberNode(t.v);
    }
    if (t.k === 'id' || t.k === 'cmd' || t.k === 'text') return this.atom();
    throw new ParseError(`bad argument ${describe(t)}`);
  }

  // Puts the digits after the first back as a token: `\frac12` reads 1 then 2.
  private toksSplit(digits: string): void {
    (this.toks as Token[]).splice(this.pos, 0, { k: 'num', v: digits.slice(1) });
  }

  private functionCall(name: string): Node {
    let fname = name === 'lg' ? 'log10' : name;
    let power: Node | null = null;
    let base: Node | null = null;
    for (let k = 0; k < 2; k++) {
      if (this.isOp('^')) {
        this.pos++;
        power = this.exponent();
      } else if (this.isOp('_') && fname === 'log') {
        this.pos++;
        base = this.exponent();
      }
    }
    if (power !== null && power.t === 'neg' && power.arg.t === 'num' && power.arg.n === 1n && power.arg.d === 1n && INVERSE[fname] !== undefined) {
      fname = INVERSE[fname] ?? fname;
      power = null;
    }
    let arg: Node;
    if (this.isOp('(')) arg = this.group('(', ')');
    else if (this.isOp('{')) arg = this.group('{', '}');
    else {
      // `\sin 2x`, `\cos a`: the factors up to the next operator or function.
      arg = this.power();
      for (let t = this.peek(); t !== undefined && (t.k === 'num' || t.k === 'id'); t = this.peek()) arg = mul(arg, this.power());
    }
    const call: Node = base !== null ? { t: 'fn', name: 'log', args: [arg, base] } : { t: 'fn', name: fname, args: [arg] };
    return power === null ? call : { t: 'pow', base: call, exp: power };
  }

  private bigOperator(op: 'sum' | 'prod'): Node {
    if (!this.isOp('_')) throw new ParseError(`\\${op} without bounds`);
    this.pos++;
    const lower = this.exponent();
    if (lower.t !== 'rel' || lower.ops.length !== 1 || lower.ops[0] !== 'eq' || lower.args[0]?.t !== 'sym') throw new ParseError(`\\${op} lower bound is not k=...`);
    const v = lower.args[0].name;
    if (!this.isOp('^')) throw new ParseError(`\\${op} without an upper bound`);
    this.pos++;
    const hi = this.exponent();
    this.bound.push(v);
    const body = this.term();
    this.bound.pop();
    return { t: 'bigop', op, v, lo: lower.args[1] as Node, hi, body };
  }

  private environment(env: string): Node {
    this.pos++;
    this.enter();
    const rows: Node[][] = [[]];
    let cellStart = this.pos;
    const flush = (end: number): void => {
      const cell = new Parser(this.toks.slice(cellStart, end));
      if (end > cellStart) rows[rows.length - 1]?.push(cell.answer());
    };
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t === undefined) throw new ParseError(`unclosed \\begin{${env}}`);
      if (t.k === 'begin') depth++;
      if (t.k === 'end') {
        if (depth === 0) {
          if (t.v !== env) throw new ParseError(`\\begin{${env}} closed by \\end{${t.v}}`);
          flush(this.pos);
          this.pos++;
          break;
        }
        depth--;
      }
      if (depth === 0 && t.k === 'op' && (t.v === '&' || t.v === '\\\\')) {
        flush(this.pos);
        if (t.v === '\\\\') rows.push([]);
        cellStart = this.pos + 1;
      }
      this.pos++;
    }
    this.depth--;
    const kept = rows.filter((r) => r.length > 0);
    if (MATRIX_ENVS.has(env)) {
      if (kept.length === 0) throw new ParseError('empty matrix');
      return { t: 'matrix', rows: kept };
    }
    if (env === 'cases' || env === 'aligned' || env === 'align' || env === 'align*' || env === 'gathered') {
      // Alignment cells of one row form one statement (`a &= b`).
      return { t: 'list', items: kept.map((r) => (r.length === 1 ? (r[0] as Node) : joinCells(r))) };
    }
    throw new ParseError(`unsupported environment ${env}`);
  }
}

function joinCells(cells: readonly Node[]): Node {
  // `a & = b` parses as cells [a, (= b)]: not representable, so a row with several cells is refused.
  if (cells.length === 1) return cells[0] as Node;
  throw new ParseError('aligned row with several cells');
}

function mul(a: Node, b: Node): Node {
  if (a.t === 'mul') return { t: 'mul', args: [...a.args, b] };
  return { t: 'mul', args: [a, b] };
}

// `2.5 \times 10^{-3}` is one number written in scientific notation.
function scientific(mantissa: Node, rhs: Node): Node | null {
  if (mantissa.t !== 'num' || rhs.t !== 'pow' || rhs.base.t !== 'num' || rhs.base.n !== 10n || rhs.base.d !== 1n) return null;
  const e = rhs.exp.t === 'num' ? rhs.exp : rhs.exp.t === 'neg' && rhs.exp.arg.t === 'num' ? rhs.exp.arg : null;
  if (e === null || e.d !== 1n || e.n > 400n) return null;
  const k = 10n ** e.n;
  const negative = rhs.exp.t === 'neg';
  return reduce(negative ? mantissa.n : mantissa.n * k, negative ? mantissa.d * k : mantissa.d, true);
}

// `918\frac{1}{2}` = 918.5: an integer literal directly followed by `\frac` of integer literals.
function mixedNumber(acc: Node, frac: Node): Node | null {
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

function reduce(n: bigint, d: bigint, float: boolean): Node {
  const g = gcd(n < 0n ? -n : n, d);
  return { t: 'num', n: g > 1n ? n / g : n, d: g > 1n ? d / g : d, float };
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

function numText(n: Extract<Node, { t: 'num' }>): string {
  return n.d === 1n ? String(n.n) : `${n.n}/${n.d}`;
}

// A subscript that is a name part: digits, a letter, a Greek letter, or a run of them.
function subscriptName(sub: Node): string | null {
  if (sub.t === 'num' && !sub.float && sub.d === 1n) return String(sub.n);
  if (sub.t === 'sym') return sub.name;
  if (sub.t === 'const') return sub.name === 'pi' ? 'pi' : sub.name;
  if (sub.t === 'mul' && sub.args.every((a) => subscriptName(a) !== null)) return sub.args.map((a) => subscriptName(a)).join('');
  return null;
}

function textNode(raw: string, cmd: string): Node {
  const v = raw.trim();
  if (cmd === 'mathbb' && (v === 'R' || v === 'R}')) return { t: 'special', name: 'reals' };
  if (v === '') throw new ParseError('empty text');
  if (/^-?\d+(?:\.\d+)?$/.test(v)) return v.startsWith('-') ? { t: 'neg', arg: numberNode(v.slice(1)) } : numberNode(v);
  if (cmd === 'operatorname') return { t: 'sym', name: v };
  if (/^[a-zA-Z][a-zA-Z' .()-]*$/.test(v)) return { t: 'sym', name: v.replace(/\s+/g, ' ') };
  // Math inside \mathbf{...} and the like: parse it.
  return parseLatex(v);
}

function describe(t: Token | undefined): string {
  if (t === undefined) return 'end';
  return t.k === 'cmd' ? `\\${t.v}` : `${t.k} ${JSON.stringify(t.v)}`;
}
