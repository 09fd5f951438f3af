/**
 * Small LaTeX scanning helpers shared by normalization and structure parsing. Every helper is a
 * single linear pass: inputs are capped upstream, and nothing here backtracks.
 */

/** Index of the `}` closing the `{` at `open`, or -1 when unbalanced. `\{` / `\}` are skipped. */
export function matchBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/**
 * Replaces every `\cmd{arg}` (for each name in `names`) using `fn(arg)`. Unbalanced groups are
 * left as they are.
 */
export function replaceCommandArg(s: string, names: readonly string[], fn: (arg: string, after: string) => string): string {
  const re = new RegExp(`\\\\(?:${names.join('|')})\\s*\\{`, 'g');
  let out = '';
  let last = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const open = m.index + m[0].length - 1;
    const close = matchBrace(s, open);
    if (close < 0) break;
    out += s.slice(last, m.index) + fn(s.slice(open + 1, close), s.slice(close + 1));
    last = close + 1;
    re.lastIndex = close + 1;
  }
  return out + s.slice(last);
}

const OPENERS: Readonly<Record<string, string>> = { '(': ')', '[': ']', '{': '}' };

/**
 * Splits at `sep` occurring at nesting depth 0 (outside `()`, `[]`, `{}`, `\{\}`). Mixed
 * brackets like `(1,2]` still count as one level, which is what intervals need.
 */
export function splitTopLevel(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '\\') {
      if (s.startsWith('\\{', i)) depth++;
      else if (s.startsWith('\\}', i)) depth--;
      else if (depth === 0 && sep.startsWith('\\') && s.startsWith(sep, i) && !/[a-zA-Z]/.test(s[i + sep.length] ?? '')) {
        parts.push(s.slice(start, i));
        start = i + sep.length;
        i += sep.length - 1;
        continue;
      }
      i++;
      continue;
    }
    if (c in OPENERS) depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(s.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** True when the bracket opening at 0 closes exactly at the last character (any of ( [ ). */
export function wrapsWhole(s: string): boolean {
  if (s.length < 2) return false;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0 && i < s.length - 1) return false;
    }
  }
  return depth === 0;
}
