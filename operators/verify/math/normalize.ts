import { matchBrace, replaceCommandArg } from './latex.js';

/**
 * MATH-style answer normalization (after Hendrycks et al.'s `strip_string`, extended): removes
 * presentation-only LaTeX so that equal answers usually become equal strings before any parsing.
 * Every step is a linear regex or scan; callers cap the input length first.
 */
export function normalizeAnswer(raw: string): string {
  let s = raw.replace(/[\u2212\u2013]/g, '-').replace(/\u03c0/g, '\\pi ').replace(/\u00b7/g, '\\cdot ').replace(/\u00b0/g, '');
  // `\\` (matrix row break) must survive the removal of `\ ` spacing.
  s = s.replace(/\\\\/g, '\u0002');
  // `,\!` is MATH's thousands separator (`11,\! 111,\! 100`): never a list comma.
  s = s.replace(/(\d)\s*,\s*\\!\s*(?=\d{3}(?!\d))/g, '$1');
  s = s.replace(/\\!/g, '').replace(/\\displaystyle|\\[,;:]|\\quad|\\qquad|\\ |~/g, ' ').replace(/\s+/g, ' ').trim();
  s = s.replace(/\\\$|\$/g, '');
  // \left( → (, \left. / \right. vanish; \big-family sizing likewise.
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![a-zA-Z])\s*\.?/g, '');
  s = s.replace(/\\[dtc]frac(?![a-zA-Z])/g, '\\frac');
  s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree/g, '');
  s = s.replace(/\\%|%/g, '');
  s = s.replace(/\\(?:varnothing|O)(?![a-zA-Z])|\\\{\s*\\\}/g, '\\emptyset');
  s = s.replace(/\\mathrm\s*\{\s*i\s*\}/g, 'i');
  s = stripText(s);
  s = s.replace(/,?\s*\\(?:dots|ldots|cdots|dotsc|dotsb)(?![a-zA-Z])/g, '');
  // Thousands separators before spaces go: `1,000` is a number, `1, 2` is a list.
  // Only a whole answer is read this way: inside tuples and intervals `(2,12)` is two numbers.
  s = s.replace(/\{,\}/g, '');
  if (/^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  s = s.replace(/^[a-zA-Z]\s*\\in\s*/, '');
  s = s.replace(/^(-?[\d.]+)\s+[a-zA-Z]{2,}(?:\s+[a-zA-Z]+)*$/, '$1');
  s = braceShorthand(s);
  s = collapseSpaces(s).replace(/\u0002/g, '\\\\');
  s = s.replace(/\.+$/, '').replace(/^\.(\d)/, '0.$1').replace(/([^\d])\.(\d)/g, '$10.$2');
  s = s.replace(/^\{([^{}]*)\}$/, '$1');
  return s;
}

// `\text{...}` and friends: a unit after a quantity is dropped (`5\text{ cm}^2` → `5`), text that
// is the whole answer is kept (`\text{Evelyn}` → `Evelyn`, `\textbf{(B)}` → `(B)`).
function stripText(s: string): string {
  const names = ['text', 'textbf', 'textit', 'textrm', 'mathrm', 'mathbf', 'mbox', 'hbox', 'textnormal', 'mathit'];
  if (!/\\(?:text|mathrm|mathbf|mbox|hbox|mathit)/.test(s)) return s;
  const withoutText = replaceCommandArg(s, names, () => '').replace(/\^\s*\{?\d\}?/g, '').trim();
  const hasMath = /[\d\\]/.test(withoutText) && withoutText.replace(/[\s.,;:]/g, '').length > 0;
  if (hasMath) {
    return replaceCommandArg(s, names, (arg) => (/^\s*[a-zA-Z][a-zA-Z\s.]*$/.test(arg) ? '\u0001' : arg))
      .replace(/\u0001\s*\^\s*\{?\d\}?/g, '')
      .replace(/\u0001/g, '')
      .trim();
  }
  return replaceCommandArg(s, names, (arg) => arg.trim()).trim();
}

// `\frac12` → `\frac{1}{2}`, `\frac{\sqrt3}2` → `\frac{\sqrt{3}}{2}`, `\sqrt3` → `\sqrt{3}`.
function braceShorthand(s: string): string {
  if (!/\\(?:frac|sqrt)/.test(s)) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const m = /^\\(frac|sqrt)(?![a-zA-Z])/.exec(s.slice(i, i + 6));
    if (m === null) {
      out += s[i];
      i++;
      continue;
    }
    const cmd = m[1] ?? '';
    i += cmd.length + 1;
    let optional = '';
    if (cmd === 'sqrt' && s[skipSpaces(s, i)] === '[') {
      const j = s.indexOf(']', i);
      if (j < 0) return out + s.slice(i - cmd.length - 1);
      optional = s.slice(skipSpaces(s, i), j + 1);
      i = j + 1;
    }
    const arity = cmd === 'frac' ? 2 : 1;
    let args = '';
    for (let k = 0; k < arity; k++) {
      const arg = readArg(s, i);
      if (arg === null) break;
      args += `{${braceShorthand(arg.body)}}`;
      i = arg.end;
    }
    out += `\\${cmd}${optional}${args}`;
  }
  return out;
}

function skipSpaces(s: string, i: number): number {
  let j = i;
  while (s[j] === ' ') j++;
  return j;
}

function readArg(s: string, from: number): { body: string; end: number } | null {
  const i = skipSpaces(s, from);
  const c = s[i];
  if (c === undefined) return null;
  if (c === '{') {
    const close = matchBrace(s, i);
    return close < 0 ? null : { body: s.slice(i + 1, close), end: close + 1 };
  }
  if (c === '\\') {
    const m = /^\\[a-zA-Z]+/.exec(s.slice(i, i + 40));
    if (m === null) return null;
    return { body: m[0], end: i + m[0].length };
  }
  if (/[0-9a-zA-Z]/.test(c)) return { body: c, end: i + 1 };
  return null;
}

// Spaces carry no meaning except between a command and a following letter (`\cot x`).
function collapseSpaces(s: string): string {
  return s
    .replace(/(\\[a-zA-Z]+) +(?=[a-zA-Z])/g, '$1\u0000')
    .replace(/\s+/g, '')
    .replace(/\u0000/g, ' ');
}
