/** A math segment of prose: `$...$`, `$$...$$`, `\(...\)` or `\[...\]`. */
export interface MathSpan {
  /** [start, end) of the segment with its delimiters. */
  readonly start: number;
  readonly end: number;
  readonly inner: string;
}

/**
 * The math segments of a text, in order. An inline `$` whose partner lies beyond a line break is
 * a currency sign, not a delimiter. Each search for a closing delimiter starts where the last one
 * ended and a delimiter known to be absent is not searched again, so the scan is linear.
 */
export function findMath(text: string): MathSpan[] {
  const spans: MathSpan[] = [];
  const absent = new Set<string>();
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      const next = text[i + 1];
      const closer = next === '[' ? '\\]' : next === '(' ? '\\)' : null;
      if (closer !== null && !absent.has(closer)) {
        const j = text.indexOf(closer, i + 2);
        if (j < 0) absent.add(closer);
        else {
          spans.push({ start: i, end: j + 2, inner: text.slice(i + 2, j) });
          i = j + 2;
          continue;
        }
      }
      i += 2;
      continue;
    }
    if (c === '$') {
      const display = text[i + 1] === '$';
      const closer = display ? '$$' : '$';
      const from = i + closer.length;
      const j = absent.has(closer) ? -1 : unescapedIndex(text, closer, from);
      if (j < 0) absent.add(closer);
      else if (display || !text.slice(from, j).includes('\n')) {
        if (j > from) spans.push({ start: i, end: j + closer.length, inner: text.slice(from, j) });
        i = j + closer.length;
        continue;
      }
      i += closer.length;
      continue;
    }
    i++;
  }
  return spans;
}

// The next `closer` at or after `from` that is not escaped (`\$` is a dollar sign in text).
function unescapedIndex(text: string, closer: string, from: number): number {
  let j = text.indexOf(closer, from);
  while (j > 0 && text[j - 1] === '\\') j = text.indexOf(closer, j + 1);
  return j;
}
