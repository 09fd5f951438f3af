const MARKER = '\\boxed{';

/**
 * The content of the LAST `\boxed{...}` in `text` (the one opening latest), with nested braces
 * handled; null when there is none or none is ever closed. One linear pass, so adversarial text
 * (thousands of unclosed `\boxed{`) cannot make it quadratic.
 */
export function extractLastBoxed(text: string): string | null {
  // Content start of each open brace; -1 for a plain brace that is not a \boxed{.
  const open: number[] = [];
  let bestStart = -1;
  let bestEnd = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && text.startsWith(MARKER, i)) {
      open.push(i + MARKER.length);
      i += MARKER.length - 1;
    } else if (ch === '{') {
      open.push(-1);
    } else if (ch === '}' && open.length > 0) {
      const start = open.pop() ?? -1;
      if (start > bestStart) {
        bestStart = start;
        bestEnd = i;
      }
    }
  }
  return bestStart < 0 ? null : text.slice(bestStart, bestEnd);
}
