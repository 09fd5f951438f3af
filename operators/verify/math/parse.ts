import type { Node } from './ast.js';
import { describe, Grammar } from './grammar.js';
import { FUNCTIONS, GREEK, INVERSE, MATRIX_ENVS } from './latexNames.js';
import { mul, numberNode } from './nodes.js';
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

// The commands of answers on top of the grammar: fractions, roots, functions, delimiters, sums,
// environments (matrices, cases).
class Parser extends Grammar {
  protected nested(latex: string): Node {
    return parseLatex(latex);
  }

  protected commandAtom(name: string): Node {
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

  protected environment(env: string): Node {
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

