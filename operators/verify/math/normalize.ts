import { undoubleEscapes } from './escapes.js';
import { matchBrace } from './latex.js';

/**
 * MATH-style answer normalization (after Hendrycks et al.'s `strip_string`, extended to the forms
 * model answers take): removes presentation-only LaTeX so that equal answers usually become equal
 * strings before any parsing, and rewrites what the parser reads differently (units after a
 * quantity, `and`/`or` between items, `percent`, thousands separators). Every step is a linear
 * regex or scan; callers cap the input length first.
 */
export function normalizeAnswer(raw: string): string {
  let s = undoubleEscapes(raw);
  s = s
    .replace(/[\u2212\u2013\u2014]/g, '-')
    .replace(/\u03c0/g, '\\pi ')
    .replace(/[\u00b7\u22c5]/g, '\\cdot ')
    .replace(/\u00d7/g, '\\times ')
    .replace(/\u00f7/g, '\\div ')
    .replace(/\u2264/g, '\\le ')
    .replace(/\u2265/g, '\\ge ')
    .replace(/\u2260/g, '\\ne ')
    .replace(/\u221e/g, '\\infty ')
    .replace(/\u221a/g, '\\sqrt ')
    .replace(/\u00b0/g, '^\\circ ')
    .replace(/[\u00b2]/g, '^2')
    .replace(/[\u00b3]/g, '^3')
    .replace(/[€£¥₹]/g, '');
  // `\\` (matrix row break) must survive the removal of `\ ` spacing.
  s = s.replace(/\\\\/g, '\u0002');
  // `,\!` and `{,}` are MATH's thousands separators (`11,\! 111`, `14{,}916`): never a list comma.
  s = s.replace(/(\d)\s*(?:,\s*\\!|\{\s*,\s*\})\s*(?=\d{3}(?!\d))/g, '$1');
  s = s
    .replace(/\\(?:boxed|fbox)\s*\{/g, '{')
    .replace(/\\!|\\(?:displaystyle|textstyle|limits)(?![a-zA-Z])/g, '')
    .replace(/\\(?:q?quad)|\\[,;:> ]|~/g, ' ')
    .replace(/\\\$|\$/g, '')
    .replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![a-zA-Z])\s*\.?/g, '')
    .replace(/\\[dtc]frac(?![a-zA-Z])/g, '\\frac')
    .replace(/\\[dt]binom(?![a-zA-Z])/g, '\\binom')
    .replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree/g, '^\\circ')
    .replace(/\\%/g, '%')
    .replace(/\\(?:varnothing)(?![a-zA-Z])|\\\{\s*\\\}/g, '\\emptyset')
    .replace(/\\(?:mathrm|mathbf|mathit|text|textrm|textbf|textit|textnormal|mbox)\s*\{\s*([a-zA-Z])\s*\}/g, '$1')
    .replace(/\\(?:dots|ldots|cdots|dotsc|dotsb)(?![a-zA-Z])/g, '\u0003')
    .replace(/\*\*/g, '^')
    .replace(/\s+/g, ' ')
    .trim();
  s = s.replace(/,?\s*\u0003\s*,?/g, ',').replace(/^,|,$/g, '');
  // `1.5e3` written as in a program is scientific notation.
  s = s.replace(/^(-?\d+(?:\.\d+)?)[eE]([+-]?\d{1,3})$/, '$1\\times10^{$2}');
  // `1 1/2` in prose is a mixed number (the parser reads `1\frac{1}{2}` as 1.5).
  s = s.replace(/^(-?\d+) +(\d+)\/(\d+)$/, '$1\\frac{$2}{$3}');
  s = clockTime(s);
  s = words(s);
  s = units(s);
  s = s.replace(/(?<![a-zA-Z\\])(?:infinity|inf)(?![a-zA-Z])/g, '\\infty').replace(/(?<![a-zA-Z\\])(sqrt|pi)(?![a-zA-Z])/g, '\\$1');
  s = textOnly(s);
  s = collapseSpaces(s).replace(/\u0002/g, '\\\\');
  // A sentence's final period, a stray trailing backslash (`185\`), a leading decimal point.
  s = s.replace(/[.\\]+$/, '').replace(/^\.(?=\d)/, '0.').replace(/([^\d\w}])\.(?=\d)/g, '$10.');
  // `{...}` wrapping the whole answer is LaTeX grouping, unless it holds a list (`{1,2}`).
  if (/^\{[^{}]*\}$/.test(s) && !s.includes(',')) s = s.slice(1, -1);
  return s;
}

/**
 * A clock time is minutes of the day: `08:34 \text{P.M.}` is 20:34 and `20:34:00` is 20:34. Only an
 * answer that is exactly such a time (hours ≤ 23, minutes and seconds ≤ 59); ratios keep their form.
 */
function clockTime(s: string): string {
  const m = /^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?\s*(?:\\(?:text|mathrm)\s*\{\s*)?(?:([AaPp])\.?\s*[Mm]\.?)?\s*\}?$/.exec(s);
  if (m === null || (m[3] === undefined && m[4] === undefined)) return s;
  let hours = Number(m[1]);
  if (hours > 23 || (m[3] !== undefined && m[3] !== '00')) return s;
  if (m[4] !== undefined) {
    if (hours < 1 || hours > 12) return s;
    hours = (hours % 12) + (/[Pp]/.test(m[4]) ? 12 : 0);
  }
  return `${String(hours).padStart(2, '0')}:${m[2] ?? '00'}`;
}

// `and` / `or` between items are list separators; `percent` after a number is `%`.
function words(s: string): string {
  return s
    .replace(/,?\s*\\text\s*\{\s*,?\s*(?:and|or)\s*\}\s*/g, ',')
    .replace(/(?<![a-zA-Z\\])\s*,?\s*(?:and|or)(?![a-zA-Z])\s*/g, ',')
    .replace(/\\text\s*\{\s*(?:percent|percentage|pct)\s*\}/g, '%')
    .replace(/(?<=[\d}])\s*(?:percentage|percent|pct)(?![a-zA-Z])/g, '%');
}

// Words that are mathematics, not units, when they follow a number.
const MATH_WORDS = /^(?:sin|cos|tan|sec|csc|cot|ln|log|exp|pi|sqrt|inf|infty|infinity|and|or|mod|i|e)$/;

/**
 * Drops units after a quantity, as math-verify does: `15\mbox{ cm}^2` and `125 miles` are 15 and
 * 125. A unit is a `\text{...}`-like group of words, or plain words after a space; letters glued
 * to a number are a unit only from three letters on (`10weeks`), since `2ab` is a product.
 */
function units(s: string): string {
  const textUnit = /\\(?:text|textnormal|textrm|textit|textbf|mbox|mathrm|hbox)\s*\{\s*([^{}]*)\}(\s*\^\s*\{?\s*[23]\s*\}?)?/g;
  let out = s.replace(textUnit, (m: string, word: string, _power: string | undefined, offset: number) => {
    const before = s.slice(0, offset).trimEnd();
    if (!/^[a-zA-Z][a-zA-Z .'/-]*$/.test(word.trim()) || MATH_WORDS.test(word.trim())) return m;
    return /[\d})\]%]$/.test(before) || /[a-zA-Z]$/.test(before) ? '' : m;
  });
  // Plain words at the end after a number (and after a space, or glued when 3+ letters long).
  out = out.replace(/(\d|\})(\s+|(?=[a-zA-Z]{3}))([a-zA-Z]{2,}(?:\s*[/^]\s*\{?[a-zA-Z0-9]+\}?)*(?:\s+[a-zA-Z]{2,}(?:\s*\^\s*\d)?)*)\s*$/, (m: string, head: string, _gap: string, tail: string) =>
    tail.split(/[\s/^]+/).some((w) => MATH_WORDS.test(w)) ? m : head,
  );
  return out.trim();
}

// An answer that is only a `\text{...}` (`\text{Evelyn}`, `\textbf{(B)}`) is its content.
function textOnly(s: string): string {
  const m = /^\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mbox)\s*\{/.exec(s);
  if (m === null) return s;
  const close = matchBrace(s, m[0].length - 1);
  return close === s.length - 1 ? s.slice(m[0].length, close).trim() : s;
}

// Spaces carry no meaning in LaTeX math except between a command and a following letter (`\cot x`)
// and between two letters or digits (words of text; `2^6 3^5` is a product, not 2^{63}); a space
// after a comma tells a list `32, 349` from the number `32,349`.
function collapseSpaces(s: string): string {
  return s
    .replace(/(\\[a-zA-Z]+|[a-zA-Z0-9,]) +(?=[a-zA-Z0-9])/g, '$1\u0000')
    .replace(/\s+/g, '')
    .replace(/\u0000/g, ' ');
}
