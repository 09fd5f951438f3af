import type { Node, RelOp } from './ast.js';
import { FUNCTION_LETTERS, MUL_OPS, RELATIONS } from './latexNames.js';
import { mixedNumber, mul, numberNode, numText, scientific, subscriptName, textNode } from './nodes.js';
import { ParseError, type Token } from './tokens.js';

const MAX_DEPTH = 60;

/**
 * The grammar of answers, loosest first: `,`/`;` lists, relations (`=`, `<`, `\in`), set
 * operations (`\cup`), ratios (`:`), sums (`+`, `-`, `\pm`), products (explicit and implicit),
 * unary minus, powers, postfix (`!`, `'`, `%`, subscripts), atoms. Commands (`\frac`, `\sin`,
 * environments) are read by the subclass in `parse.ts`. Recursive descent, one pass over the
 * tokens; nesting deeper than MAX_DEPTH is refused, so a hostile answer costs linear time.
 */
export abstract class Grammar {
  protected pos = 0;
  protected depth = 0;
  protected absDepth = 0;
  // Variables bound by an enclosing `\sum_{k=...}`: `i` and `e` there are variables, not constants.
  protected readonly bound: string[] = [];

  constructor(protected readonly toks: readonly Token[]) {}

  /** A command at an operand position: `\frac{1}{2}`, `\sin x`, `\pi`. */
  protected abstract commandAtom(name: string): Node;

  /** `\begin{env} ... \end{env}` at an operand position. */
  protected abstract environment(env: string): Node;

  /** A separate answer inside this one (math in `\mathbf{...}`). */
  protected abstract nested(latex: string): Node;

  /** The whole answer; throws ParseError on anything left over. */
  answer(): Node {
    if (this.toks.length === 0) throw new ParseError('empty answer');
    const node = this.sequence(null);
    if (this.pos < this.toks.length) throw new ParseError(`unexpected ${describe(this.peek())}`);
    return node;
  }

  protected peek(offset = 0): Token | undefined {
    return this.toks[this.pos + offset];
  }

  protected isOp(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.k === 'op' && t.v === v;
  }

  protected isCmd(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.k === 'cmd' && t.v === v;
  }

  protected expectOp(v: string): void {
    if (!this.isOp(v)) throw new ParseError(`expected ${v}, got ${describe(this.peek())}`);
    this.pos++;
  }

  protected enter(): void {
    if (++this.depth > MAX_DEPTH) throw new ParseError('nested too deeply');
  }

  /**
   * Items separated by `,` or `;` up to a closer (one of `closers`, not consumed) or the end.
   * At the top level both separators present means `;` separates solutions made of `,` parts.
   */
  protected sequence(closers: readonly string[] | null): Node {
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

  protected additive(): Node {
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

  protected term(): Node {
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

  protected power(): Node {
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
  protected exponent(): Node {
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

  protected group(open: string, close: string): Node {
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

  protected atom(): Node {
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
        return textNode(t.v, t.cmd, (latex) => this.nested(latex));
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
}

/** A token as named in error messages. */
export function describe(t: Token | undefined): string {
  if (t === undefined) return 'end';
  return t.k === 'cmd' ? `\\${t.v}` : `${t.k} ${JSON.stringify(t.v)}`;
}
