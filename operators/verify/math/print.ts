import type { Node, RelOp } from './ast.js';

const REL: Readonly<Record<RelOp, string>> = { eq: '=', lt: '<', le: '\\le ', gt: '>', ge: '\\ge ', ne: '\\ne ', approx: '\\approx ' };

/**
 * LaTeX for a node: what the CAS is handed for a sub-answer, and a canonical text to compare labels
 * (`x` in `x = 3`) and to deduplicate list items. Fully parenthesized, so it parses back the same.
 */
export function toLatex(node: Node): string {
  switch (node.t) {
    case 'num':
      return node.d === 1n ? String(node.n) : `\\frac{${node.n}}{${node.d}}`;
    case 'sym':
      return /^[a-zA-Z]$/.test(node.name) ? node.name : /^[a-zA-Z]+$/.test(node.name) && node.name.length > 1 ? `\\${node.name}` : node.name;
    case 'const':
      return node.name === 'pi' ? '\\pi' : node.name === 'inf' ? '\\infty' : node.name;
    case 'add':
      return node.args.map((a, i) => (i > 0 && a.t !== 'neg' ? `+${toLatex(a)}` : toLatex(a))).join('');
    case 'mul':
      return node.args.map((a) => `(${toLatex(a)})`).join('\\cdot ');
    case 'neg':
      return `-(${toLatex(node.arg)})`;
    case 'div':
      return `\\frac{${toLatex(node.num)}}{${toLatex(node.den)}}`;
    case 'pow':
      return `(${toLatex(node.base)})^{${toLatex(node.exp)}}`;
    case 'fn':
      return printFunction(node.name, node.args);
    case 'apply':
      return `${node.name}(${node.args.map(toLatex).join(',')})`;
    case 'bigop':
      return `\\${node.op}_{${node.v}=${toLatex(node.lo)}}^{${toLatex(node.hi)}}(${toLatex(node.body)})`;
    case 'pm':
      return `${node.a === null ? '' : toLatex(node.a)}${node.minus ? '\\mp ' : '\\pm '}(${toLatex(node.b)})`;
    case 'tuple':
      return `${node.open}${node.items.map(toLatex).join(',')}${node.close}`;
    case 'set':
      return `\\{${node.items.map(toLatex).join(',')}\\}`;
    case 'list':
      return node.items.map(toLatex).join(',');
    case 'matrix':
      return `\\begin{pmatrix}${node.rows.map((r) => r.map(toLatex).join('&')).join('\\\\')}\\end{pmatrix}`;
    case 'rel':
      return node.args.map((a, i) => (i === 0 ? toLatex(a) : `${REL[node.ops[i - 1] ?? 'eq']}${toLatex(a)}`)).join('');
    case 'setop':
      return node.args.map(toLatex).join(node.op === 'cup' ? '\\cup ' : node.op === 'cap' ? '\\cap ' : '\\setminus ');
    case 'ratio':
      return node.items.map(toLatex).join(':');
    case 'in':
      return `${toLatex(node.elem)}\\in ${toLatex(node.set)}`;
    case 'special':
      return node.name === 'emptyset' ? '\\emptyset' : '\\mathbb{R}';
  }
}

function printFunction(name: string, args: readonly Node[]): string {
  const [a, b] = args.map(toLatex);
  switch (name) {
    case 'sqrt':
      return `\\sqrt{${a}}`;
    case 'root':
      return `\\sqrt[${b}]{${a}}`;
    case 'abs':
      return `|${a}|`;
    case 'fact':
      return `(${a})!`;
    case 'binom':
      return `\\binom{${a}}{${b}}`;
    case 'pct':
      return `(${a})\\%`;
    case 'deg':
      return `(${a})^\\circ`;
    case 'floor':
      return `\\lfloor ${a}\\rfloor`;
    case 'ceil':
      return `\\lceil ${a}\\rceil`;
    case 'log':
      return b === undefined ? `\\log(${a})` : `\\log_{${b}}(${a})`;
    case 'log10':
      return `\\log_{10}(${a})`;
    case 'gamma':
      return `\\Gamma(${a})`;
    default:
      return `\\${name}(${a})`;
  }
}
