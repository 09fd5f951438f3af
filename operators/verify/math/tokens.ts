import { matchBrace } from './latex.js';

/**
 * Tokens of a normalized LaTeX answer. Presentation-only commands (`\left`, `\,`, `\displaystyle`)
 * vanish here; `\text{...}`-like groups become one `text` token; `\begin{env}` / `\end{env}` are
 * single tokens. One linear pass.
 */
export type Token =
  | { readonly k: 'num'; readonly v: string }
  | { readonly k: 'id'; readonly v: string }
  | { readonly k: 'cmd'; readonly v: string }
  | { readonly k: 'op'; readonly v: string }
  | { readonly k: 'text'; readonly v: string; readonly cmd: string }
  | { readonly k: 'begin'; readonly v: string }
  | { readonly k: 'end'; readonly v: string };

/** Thrown when an answer is not something this parser reads; callers fall back to other checks. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
}

const SKIPPED = new Set(['left', 'right', 'big', 'Big', 'bigg', 'Bigg', 'bigl', 'bigr', 'Bigl', 'Bigr', 'biggl', 'biggr', 'displaystyle', 'textstyle', 'limits', 'nolimits', 'quad', 'qquad', 'middle', 'mathstrut', 'hfill', 'phantom']);
const TEXT_COMMANDS = new Set(['text', 'textbf', 'textit', 'textrm', 'textnormal', 'mathrm', 'mathbf', 'mathit', 'mbox', 'hbox', 'operatorname', 'mathsf', 'textsf', 'boldsymbol', 'mathbb', 'mathcal', 'vec', 'overline', 'hat', 'bar', 'overrightarrow', 'widehat', 'tilde', 'dot', 'mathfrak', 'texttt']);
const MULTI_OPS = ['<=', '>=', '!=', '=='];
// Sticky: matches exactly at lastIndex, so reading a number costs its length.
const NUMBER = /\d*(?:\.\d+|\d)/y;

/** Splits a normalized answer into tokens; throws ParseError on a character it cannot place. */
export function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (c === ' ' || c === '\n' || c === '\t' || c === '~') {
      i++;
      continue;
    }
    if ((c >= '0' && c <= '9') || (c === '.' && /\d/.test(s[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const v = NUMBER.exec(s)?.[0] ?? c;
      out.push({ k: 'num', v: v.startsWith('.') ? `0${v}` : v });
      i += v.length;
      continue;
    }
    if (/[a-zA-Z]/.test(c)) {
      out.push({ k: 'id', v: c });
      i++;
      continue;
    }
    if (c === '\\') {
      i = command(s, i, out);
      continue;
    }
    const multi = MULTI_OPS.find((op) => s.startsWith(op, i));
    if (multi !== undefined) {
      out.push({ k: 'op', v: multi });
      i += 2;
      continue;
    }
    if ('+-*/^_!\'=<>,;:|()[]{}&%'.includes(c)) {
      out.push({ k: 'op', v: c });
      i++;
      continue;
    }
    if (c === '.') {
      // A stray period (end of sentence) carries no meaning.
      i++;
      continue;
    }
    throw new ParseError(`unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

// Reads the command at s[i] === '\\' and pushes its token(s); returns the index after it.
function command(s: string, i: number, out: Token[]): number {
  const next = s[i + 1] ?? '';
  if (next === '\\') {
    out.push({ k: 'op', v: '\\\\' });
    return i + 2;
  }
  if (!/[a-zA-Z]/.test(next)) {
    // `\{` `\}` are set braces, `\%` a percent sign, `\|` a norm bar; `\$` and spacing (`\,`
    // `\;` `\:` `\!` `\ `) mean nothing; anything else after a backslash is not LaTeX we read.
    const symbol = ({ '{': '\\{', '}': '\\}', '%': '%', '|': '|' } as Readonly<Record<string, string>>)[next];
    if (symbol !== undefined) out.push({ k: 'op', v: symbol });
    else if (!'$,;:! '.includes(next)) throw new ParseError(`unknown command \\${next}`);
    return i + 2;
  }
  const name = /^[a-zA-Z]+/.exec(s.slice(i + 1, i + 40))?.[0] ?? '';
  let j = i + 1 + name.length;
  if (SKIPPED.has(name)) {
    // `\left.` and `\right.` are invisible delimiters.
    if ((name === 'left' || name === 'right') && s[j] === '.') j++;
    if (name === 'phantom') {
      const close = s[skipSpace(s, j)] === '{' ? matchBrace(s, skipSpace(s, j)) : -1;
      if (close > 0) j = close + 1;
    }
    return j;
  }
  if (TEXT_COMMANDS.has(name)) {
    const open = skipSpace(s, j);
    if (s[open] === '{') {
      const close = matchBrace(s, open);
      if (close < 0) throw new ParseError(`unbalanced \\${name}{`);
      out.push({ k: 'text', v: s.slice(open + 1, close), cmd: name });
      return close + 1;
    }
    if (/[a-zA-Z0-9]/.test(s[open] ?? '')) {
      out.push({ k: 'text', v: s[open] ?? '', cmd: name });
      return open + 1;
    }
    throw new ParseError(`\\${name} without an argument`);
  }
  if (name === 'begin' || name === 'end') {
    const open = skipSpace(s, j);
    const close = s[open] === '{' ? matchBrace(s, open) : -1;
    if (close < 0) throw new ParseError(`malformed \\${name}`);
    const env = s.slice(open + 1, close).trim();
    out.push({ k: name, v: env });
    let after = close + 1;
    // `\begin{array}{cc}`: the column specification is layout only.
    if (name === 'begin' && env === 'array' && s[skipSpace(s, after)] === '{') {
      const specEnd = matchBrace(s, skipSpace(s, after));
      if (specEnd > 0) after = specEnd + 1;
    }
    return after;
  }
  out.push({ k: 'cmd', v: name });
  return j;
}

function skipSpace(s: string, i: number): number {
  let j = i;
  while (s[j] === ' ') j++;
  return j;
}
