import { splitTopLevel, wrapsWhole } from './latex.js';

/**
 * A normalized answer's shape. Tuples keep their bracket characters so that intervals with
 * open/closed ends compare correctly; `(1,2)` is both a point and an open interval, which is fine
 * because both compare element-wise with the same brackets.
 */
export type AnswerShape =
  | { readonly kind: 'scalar'; readonly text: string }
  | { readonly kind: 'choice'; readonly letter: string }
  | { readonly kind: 'tuple'; readonly open: string; readonly close: string; readonly items: readonly AnswerShape[] }
  | { readonly kind: 'set'; readonly items: readonly AnswerShape[] }
  | { readonly kind: 'matrix'; readonly rows: readonly (readonly AnswerShape[])[] };

// Nesting beyond this is not a real answer; it is parsed as an opaque scalar.
const MAX_DEPTH = 4;
const MAX_ITEMS = 64;

/** Parses a normalized answer into its shape (see `AnswerShape`). */
export function parseShape(s: string, depth = 0): AnswerShape {
  if (depth > MAX_DEPTH) return { kind: 'scalar', text: s };
  const choice = /^\(?([A-E])\)?$/.exec(s);
  if (choice !== null) return { kind: 'choice', letter: choice[1] ?? '' };
  const matrix = /^\\begin\{([pbvBV]?matrix|array)\}(?:\{[lcr|]*\})?([\s\S]*)\\end\{\1\}$/.exec(s);
  if (matrix !== null) {
    const rows = (matrix[2] ?? '').split('\\\\').filter((r) => r.trim().length > 0);
    return { kind: 'matrix', rows: rows.slice(0, MAX_ITEMS).map((r) => r.split('&').slice(0, MAX_ITEMS).map((c) => parseShape(c.trim(), depth + 1))) };
  }
  const union = splitTopLevel(s, '\\cup');
  if (union.length > 1) return { kind: 'set', items: union.slice(0, MAX_ITEMS).map((u) => parseShape(u, depth + 1)) };
  if (s.startsWith('\\{') && s.endsWith('\\}') && wrapsBraceSet(s)) {
    const inner = s.slice(2, -2);
    return { kind: 'set', items: inner.length === 0 ? [] : splitTopLevel(inner, ',').slice(0, MAX_ITEMS).map((p) => parseShape(p, depth + 1)) };
  }
  const first = s[0] ?? '';
  const last = s[s.length - 1] ?? '';
  if ((first === '(' || first === '[') && (last === ')' || last === ']') && wrapsWhole(s)) {
    const parts = splitTopLevel(s.slice(1, -1), ',');
    if (parts.length >= 2) return { kind: 'tuple', open: first, close: last, items: parts.slice(0, MAX_ITEMS).map((p) => parseShape(p, depth + 1)) };
  }
  const eq = splitTopLevel(s, '=');
  if (eq.length === 2 && /^(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?(?:\([a-z]\))?$/.test(eq[0] ?? '') && (eq[1] ?? '').length > 0) {
    return parseShape(eq[1] ?? '', depth + 1);
  }
  const list = splitTopLevel(s, ',');
  if (list.length >= 2 && list.every((p) => p.length > 0)) return { kind: 'set', items: list.slice(0, MAX_ITEMS).map((p) => parseShape(p, depth + 1)) };
  return { kind: 'scalar', text: s };
}

// `\{1\}\cup\{2\}` must not be read as one set: the opening `\{` has to close at the very end.
function wrapsBraceSet(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.startsWith('\\{', i)) {
      depth++;
      i++;
    } else if (s.startsWith('\\}', i)) {
      depth--;
      if (depth === 0 && i < s.length - 2) return false;
      i++;
    }
  }
  return depth === 0;
}
