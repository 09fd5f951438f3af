/**
 * Answer extraction: finds the final answer inside a solution text the way MATH and GSM8K
 * graders do. Pure string scanning, linear in the input, so it cannot hang on hostile input.
 */

/** Where an extracted answer came from; recorded in verdicts for debugging. */
export type ExtractionMethod = 'boxed' | 'gsm8k' | 'final-answer' | 'last-math' | 'last-number' | 'whole';

/** An extracted answer and how it was found. */
export interface Extraction {
  readonly answer: string;
  readonly method: ExtractionMethod;
}

// Bare responses up to this length are taken whole when no marker is found; longer prose is
// searched for its last math segment or number instead.
const WHOLE_MAX_CHARS = 120;

/**
 * Returns the content of the last `\boxed{...}` / `\fbox{...}` (nested braces allowed; also the
 * `\boxed 5` form), or null when none is complete. One forward pass with a brace stack, so
 * thousands of unbalanced boxes cost linear time, not quadratic.
 */
export function lastBoxed(text: string): string | null {
  // For each open `{`: the index where a box's content starts, or -1 for a plain group.
  const stack: number[] = [];
  let best: { start: number; end: number } | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \\ */) {
      const box = /^\\(?:boxed|fbox) *\{/.exec(text.slice(i, i + 16));
      if (box !== null) {
        i += box[0].length - 1;
        stack.push(i + 1);
      } else i++; // skip the escaped character: `\{` does not open a group
      continue;
    }
    if (c === 123 /* { */) stack.push(-1);
    else if (c === 125 /* } */) {
      const start = stack.pop();
      if (start !== undefined && start >= 0 && (best === null || start > best.start)) best = { start, end: i };
    }
  }
  const spaced = Math.max(text.lastIndexOf('\\boxed '), text.lastIndexOf('\\fbox '));
  if (spaced >= 0 && (best === null || spaced > best.start)) {
    const m = /^\\(?:boxed|fbox) +([^\s${}]+)/.exec(text.slice(spaced, spaced + 200));
    if (m?.[1] !== undefined) return m[1];
  }
  return best === null ? null : text.slice(best.start, best.end);
}

/**
 * Extracts the final answer: the last `\boxed{}`/`\fbox{}`, else GSM8K's `#### n`, else
 * "final answer is ...", else (for short texts) the whole text, else the last `$...$` math
 * segment or the last number. Null when nothing answer-like is found.
 */
export function extractAnswer(text: string): Extraction | null {
  const boxed = lastBoxed(text);
  if (boxed !== null) return { answer: boxed.trim(), method: 'boxed' };
  const hashIdx = text.lastIndexOf('####');
  if (hashIdx >= 0) {
    const line = text.slice(hashIdx + 4).split('\n')[0]?.trim() ?? '';
    if (line.length > 0) return { answer: line, method: 'gsm8k' };
  }
  // "The final answer is X", "the answer is X", "Answer: X".
  const final = /\banswer(?: is|:)\s*:?\s*([\s\S]{1,300})/gi;
  let lastFinal: string | null = null;
  for (let m = final.exec(text); m !== null; m = final.exec(text)) lastFinal = m[1] ?? null;
  if (lastFinal !== null) {
    const cut = cutSentence(lastFinal);
    if (cut.length > 0) return { answer: cut, method: 'final-answer' };
  }
  const trimmed = text.trim();
  if (trimmed.length === 0) return null;
  if (trimmed.length <= WHOLE_MAX_CHARS && !/[.?!]\s+[A-Z]/.test(trimmed) && proseWords(trimmed) <= 2) return { answer: trimmed, method: 'whole' };
  const maths = [...trimmed.matchAll(/\$\$?([^$]{1,300})\$\$?|\\\[([\s\S]{1,300}?)\\\]/g)];
  const lastMath = maths[maths.length - 1];
  if (lastMath !== undefined) return { answer: (lastMath[1] ?? lastMath[2] ?? '').trim(), method: 'last-math' };
  const nums = [...trimmed.matchAll(/-?\d[\d,]*(?:\.\d+)?/g)];
  const lastNum = nums[nums.length - 1];
  if (lastNum !== undefined) return { answer: lastNum[0], method: 'last-number' };
  return null;
}

// Plain words outside LaTeX commands: `Evelyn` or `5 apples` is an answer, `so we get 5` is prose.
function proseWords(s: string): number {
  return (s.match(/(?<![\\a-zA-Z])[a-zA-Z]{2,}/g) ?? []).length;
}

// "The final answer is $3$. I hope it is correct." → "$3$": stop at the first sentence end that is
// outside math mode (a period inside `$...$` may be a decimal point).
function cutSentence(s: string): string {
  let inMath = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '$') inMath = !inMath;
    else if (!inMath && (c === '\n' || (c === '.' && !/\d/.test(s[i + 1] ?? '')))) return s.slice(0, i).trim();
  }
  return s.trim();
}
