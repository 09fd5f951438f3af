import { someNode, type Node } from './ast.js';

type Rows = readonly (readonly Node[])[];

// Products of larger matrices are not answers anyone writes; refusing them bounds the work.
const MAX_ENTRIES = 400;

/**
 * A sum, product or negation of literal matrices (and scalars) as one matrix literal whose entries
 * are the unevaluated entry expressions: `\begin{pmatrix}1&2\\3&4\end{pmatrix} +
 * \begin{pmatrix}5&6\\7&8\end{pmatrix}` becomes the matrix of `1+5`, `2+6`, ... The node itself
 * when it holds no matrix arithmetic; null when the shapes do not fit.
 */
export function reduceMatrixExpression(node: Node): Node | null {
  if (node.t === 'matrix' || !someNode(node, (n) => n.t === 'matrix')) return node;
  const rows = matrixValue(node);
  return rows === null ? null : { t: 'matrix', rows };
}

function matrixValue(node: Node): Rows | null {
  switch (node.t) {
    case 'matrix':
      return node.rows;
    case 'neg': {
      const m = matrixValue(node.arg);
      return m === null ? null : m.map((r) => r.map((x): Node => ({ t: 'neg', arg: x })));
    }
    case 'add': {
      const ms = node.args.map(matrixValue);
      const first = ms[0];
      if (first === undefined || first === null || ms.some((m) => m === null || !sameShape(m, first))) return null;
      return first.map((row, i) => row.map((_, j): Node => ({ t: 'add', args: ms.map((m) => (m as Rows)[i]?.[j] as Node) })));
    }
    case 'mul': {
      let acc: Rows | null = null;
      const scalars: Node[] = [];
      for (const arg of node.args) {
        if (!someNode(arg, (n) => n.t === 'matrix')) {
          scalars.push(arg);
          continue;
        }
        const m = matrixValue(arg);
        if (m === null) return null;
        acc = acc === null ? m : multiply(acc, m);
        if (acc === null) return null;
      }
      if (acc === null) return null;
      return scalars.length === 0 ? acc : acc.map((r) => r.map((x): Node => ({ t: 'mul', args: [...scalars, x] })));
    }
    default:
      return null;
  }
}

function sameShape(a: Rows, b: Rows): boolean {
  return a.length === b.length && a.every((r, i) => r.length === b[i]?.length);
}

function multiply(a: Rows, b: Rows): Rows | null {
  const inner = b.length;
  const cols = b[0]?.length ?? 0;
  if (a.some((r) => r.length !== inner) || b.some((r) => r.length !== cols) || a.length * cols * inner > MAX_ENTRIES) return null;
  return a.map((row) => Array.from({ length: cols }, (_, j): Node => ({ t: 'add', args: row.map((x, k): Node => ({ t: 'mul', args: [x, b[k]?.[j] as Node] })) })));
}
