import { undoubleEscapes } from './escapes.js';
import { findBoxes, joinBoxes } from './boxes.js';
import { findMath, type MathSpan } from './mathSpans.js';

/**
 * Answer extraction: finds the final answer inside a solution text, the way MATH, GSM8K and
 * math-verify graders do. Linear scans and bounded regexes only, so hostile input cannot make it
 * hang. `extractAnswers` lists candidates best first; the comparison uses the first that parses.
 */

/** Where an extracted answer came from; recorded in verdicts for debugging. */
export type ExtractionMethod = 'boxed' | 'gsm8k' | 'final-answer' | 'whole' | 'math' | 'last-number';

/** An extracted answer and how it was found. */
export interface Extraction {
  readonly answer: string;
  readonly method: ExtractionMethod;
  /** Found in prose outside LaTeX (a decimal comma may be meant). */
  readonly plain: boolean;
}

// Longest answer sentence read after "the answer is".
const SENTENCE_CHARS = 300;

/**
 * Candidates for the final answer, best first: the stated ones (`statedAnswers`), then the last
 * math segment or number of the prose (`proseAnswers`). Empty when nothing answer-like is found.
 */
export function extractAnswers(raw: string): Extraction[] {
  const text = undoubleEscapes(raw);
  return dedupe([...statedAnswers(text), ...proseAnswers(text)]);
}

/**
 * The answers a text states, best first: the last `\boxed{}` (with the boxes just before it when
 * they read as one answer: `\boxed{1}, \boxed{2}`), GSM8K's `#### n`, what follows the last
 * "answer is"/"answer:", the whole text when it is a bare answer (no prose). `text` has its
 * escapes undone (`undoubleEscapes`).
 */
export function statedAnswers(text: string): Extraction[] {
  const out: Extraction[] = [];
  const boxes = findBoxes(text);
  const boxed = joinBoxes(text, boxes);
  const marked = afterAnswerMarker(text);
  // The last statement of the answer wins: "The final answer is $10,455$" after intermediate
  // boxes outranks them; a box after "the answer is" outranks the phrase.
  const lastBoxEnd = boxes[boxes.length - 1]?.end ?? -1;
  // Words alone after the phrase ("so our answer is correct") do not outrank a box.
  if (marked !== null && marked.at > lastBoxEnd && (boxed === null || /[\d\\]/.test(marked.extraction.answer))) out.push(marked.extraction);
  if (boxed !== null) out.push({ answer: boxed, method: 'boxed', plain: false });
  const hash = text.lastIndexOf('####');
  if (hash >= 0) {
    const line = text.slice(hash + 4).split('\n')[0]?.trim() ?? '';
    if (line.length > 0) out.push({ answer: line, method: 'gsm8k', plain: !/[\\$]/.test(line) });
  }
  if (marked !== null) out.push(marked.extraction);
  const trimmed = text.trim();
  if (trimmed.length > 0 && isBareAnswer(trimmed)) out.push({ answer: trimmed, method: 'whole', plain: !/[\\$]/.test(trimmed) });
  return dedupe(out);
}

/** The rightmost math segment and number of a text's prose, rightmost first (fallbacks). */
export function proseAnswers(text: string): Extraction[] {
  return lastInProse(text, 0, text.length);
}

/** The best candidate, or null. */
export function extractAnswer(text: string): Extraction | null {
  return extractAnswers(text)[0] ?? null;
}

function dedupe(list: readonly Extraction[]): Extraction[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    if (seen.has(e.answer)) return false;
    seen.add(e.answer);
    return true;
  });
}

// "The final answer is $28\%$. I hope it is correct.", "Final Answer: The largest $n$ is 34."
function afterAnswerMarker(text: string): { extraction: Extraction; at: number } | null {
  const re = /\banswer\b\s*(?:is\b|:)?/gi;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) last = m;
  if (last === null) return null;
  const start = last.index + last[0].length;
  const end = sentenceEnd(text, start);
  const found = lastInProse(text, start, end)[0];
  if (found !== undefined) return { extraction: { ...found, method: 'final-answer' }, at: last.index };
  const sentence = text.slice(start, end).replace(/^\s*(?:is\b|:)\s*/i, '').trim();
  return sentence.length > 0 && isBareAnswer(sentence) ? { extraction: { answer: sentence, method: 'final-answer', plain: !/[\\$]/.test(sentence) }, at: last.index } : null;
}

// The first sentence end (a period or line break outside math) after `from`, within SENTENCE_CHARS.
function sentenceEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + SENTENCE_CHARS);
  const spans = findMath(text.slice(from, limit));
  let k = 0;
  for (let i = from; i < limit; i++) {
    const span = spans[k];
    if (span !== undefined && i - from >= span.start) {
      if (i - from < span.end) continue;
      k++;
    }
    const c = text[i];
    if (c === '\n' || (c === '.' && !/\d/.test(text[i + 1] ?? '') && i > from)) return i;
  }
  return limit;
}

/**
 * The rightmost math segments (joined when only `,`/`and`/`or` separate them: `$1$ and $2$`)
 * and the rightmost plain numbers of text[from, to), rightmost first.
 */
function lastInProse(text: string, from: number, to: number): Extraction[] {
  const region = text.slice(from, to);
  const spans = findMath(region);
  const candidates: { end: number; e: Extraction }[] = [];
  const joined = joinSpans(region, spans);
  if (joined !== null) candidates.push({ end: joined.end, e: { answer: joined.text, method: 'math', plain: false } });
  let cursor = 0;
  let lastNumber: { end: number; text: string } | null = null;
  for (const span of [...spans, { start: region.length, end: region.length, inner: '' }]) {
    const prose = region.slice(cursor, span.start);
    const re = /(?<![\w.\d,])(-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+)(?:\/\d+)?)(\s*(?:%|percent(?:age)?\b|pct\b))?/g;
    for (let m = re.exec(prose); m !== null; m = re.exec(prose)) lastNumber = { end: cursor + m.index + m[0].length, text: (m[1] ?? '') + (m[2] === undefined ? '' : '%') };
    cursor = span.end;
  }
  if (lastNumber !== null) candidates.push({ end: lastNumber.end, e: { answer: lastNumber.text, method: 'last-number', plain: true } });
  return candidates.sort((a, b) => b.end - a.end).map((c) => c.e);
}

function joinSpans(region: string, spans: readonly MathSpan[]): { text: string; end: number } | null {
  const last = spans[spans.length - 1];
  if (last === undefined) return null;
  const parts = [last.inner];
  for (let k = spans.length - 2; k >= 0 && parts.length < 6; k--) {
    const prev = spans[k] as MathSpan;
    const between = region.slice(prev.end, (spans[k + 1] as MathSpan).start);
    if (!/^\s*(?:,|,?\s*(?:and|or)|,\s*(?:and|or))\s*$/i.test(between)) break;
    parts.unshift(prev.inner);
  }
  return { text: parts.map((p) => p.trim()).join(', '), end: last.end };
}

/**
 * A text that is an answer rather than prose: no words outside LaTeX, or only unit words after the
 * last digit (`10 square units`, `28 percent`), or a few words and nothing else (`Evelyn`, `odd`).
 */
function isBareAnswer(s: string): boolean {
  if (s.length > 4000 || !/[a-zA-Z0-9]|\\\{/.test(s)) return false;
  // Three words in a row are a sentence: no need to look further into a long solution.
  if (s.length > 200 && /[a-zA-Z]{2,}[ ,]+[a-zA-Z]{2,}[ ,]+[a-zA-Z]{2,}/.test(s)) return false;
  const plain = s.replace(/\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mbox|operatorname|begin|end)\s*\{[^{}]*\}/g, ' ').replace(/\\[a-zA-Z]+/g, ' ');
  // A word stands between spaces or punctuation: `2ab` and `ba^2` are products of variables.
  const words = [...plain.matchAll(/(?<=^|[\s"'(])[a-zA-Z]{2,}(?=$|[\s.,;:!?"')])/g)];
  if (words.length === 0) return !/[.?!]\s+[A-Z]/.test(s);
  if (/^[a-zA-Z\s'-]+$/.test(plain.trim()) && words.length <= 3) return true;
  // Units after the quantity: every word comes after its first digit.
  const firstDigit = plain.search(/\d/);
  return firstDigit >= 0 && words.every((w) => (w.index ?? 0) > firstDigit) && words.length <= 3;
}
