/**
 * The content of the last `\boxed{…}` in a text, with nested braces matched; null when there is
 * none or it is unclosed. Answer extraction always uses the last box (ASTRO-METHOD §4): wrong
 * branches keep their own boxed answers earlier in a trace.
 */
export function lastBoxed(text: string): string | null {
  const open = '\\boxed{';
  const start = text.lastIndexOf(open);
  if (start === -1) return null;
  let depth = 1;
  for (let i = start + open.length; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '{') depth += 1;
    else if (ch === '}') {
      depth -= 1;
      if (depth === 0) return text.slice(start + open.length, i);
    }
  }
  return null;
}

/** Normal form used to tell wrong answers apart: trimmed, all whitespace removed. */
export function normalizeAnswer(answer: string): string {
  return answer.trim().replace(/\s+/gu, '');
}
