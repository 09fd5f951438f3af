import type { Node } from './ast.js';
import { parseLatex } from './parse.js';
import { ParseError } from './tokens.js';

/**
 * The ways a normalized answer can be read, most likely first; empty when it does not parse.
 * Number formats are where readings differ: `7,425,000` is one number in any context; `1000,99`
 * and `2,74` written in prose are decimals with a comma (math-verify reads prose numbers that
 * way) but may also be a list; in LaTeX `-2,1` is a list of two roots. `0,111` is a decimal.
 */
export function readAnswer(normalized: string, plain: boolean): Node[] {
  const read = candidates(normalized, plain).flatMap(tryParse);
  if (read.length > 0) return read;
  // A chain `1 = \zzz = x = 0` with an unreadable link still states its last value (math-verify).
  const parts = normalized.split(/(?<![<>!\\])=/);
  return parts.length > 2 && !/[,;]/.test(normalized) ? tryParse(parts[parts.length - 1] ?? '') : [];
}

function tryParse(text: string): Node[] {
  try {
    return [parseLatex(text)];
  } catch (error) {
    // Deep nesting can exhaust the stack before MAX_DEPTH: that is a refusal too.
    if (error instanceof ParseError || error instanceof RangeError) return [];
    throw error;
  }
}

function candidates(s: string, plain: boolean): string[] {
  if (/^-?[1-9]\d{0,2}(?:(?:,\d{3})+|(?: \d{3})+)(?:\.\d+)?$/.test(s)) return [s.replace(/[, ]/g, '')];
  const decimalComma = /^(-?\d+),(\d+)$/.exec(s);
  if (decimalComma !== null) {
    const asDecimal = `${decimalComma[1] ?? ''}.${decimalComma[2] ?? ''}`;
    if (/^-?0$/.test(decimalComma[1] ?? '')) return [asDecimal];
    // One digit after the comma in prose is a list more often than a decimal (`2,3`).
    if (plain && (decimalComma[2] ?? '').length >= 2) return [asDecimal, s];
  }
  return [s];
}
