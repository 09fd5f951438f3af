import { STEP_DELIMITER } from '../../operators/mcts/policy.js';
import type { Problem } from '../../schemas/problem.js';
import { LLAMA3_ASSISTANT_MARKER } from '../policies/openai/promptTemplate.js';

/** A Countdown search state recovered from a completion prompt. */
export interface ParsedCountdownPrompt {
  readonly problem: Problem;
  readonly steps: readonly string[];
}

const NUMBERS_RE = /over the original numbers \(([\d,\s]+)\)/;
const TARGET_RE = /When a remaining number equals (-?\d+)/;
const QUESTION_RE = /Using the numbers ([\d,\s]+), make (-?\d+)\./;

/**
 * Reads the Countdown problem and the steps so far out of a prompt rendered from the Countdown
 * domain prompt (domains/countdown) in the Llama-3 template: numbers and target from the prompt's
 * fixed sentences, steps from the assistant turn split at the step delimiter. Returns null when
 * the prompt is not a Countdown prompt.
 */
export function parseCountdownPrompt(prompt: string): ParsedCountdownPrompt | null {
  const at = prompt.lastIndexOf(LLAMA3_ASSISTANT_MARKER);
  const head = at < 0 ? prompt : prompt.slice(0, at);
  const numbersText = NUMBERS_RE.exec(head)?.[1] ?? QUESTION_RE.exec(head)?.[1];
  const targetText = TARGET_RE.exec(head)?.[1] ?? QUESTION_RE.exec(head)?.[2];
  if (numbersText === undefined || targetText === undefined) return null;
  const numbers = numbersText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const target = Number(targetText);
  if (numbers.length === 0 || numbers.some((n) => !Number.isSafeInteger(n)) || !Number.isSafeInteger(target)) return null;
  const tail = at < 0 ? '' : prompt.slice(at + LLAMA3_ASSISTANT_MARKER.length);
  const steps = tail.split(STEP_DELIMITER).map((s) => s.trim()).filter((s) => s.length > 0);
  return {
    problem: { id: 'served', domain: 'countdown', source: 'serve-policy', question: head, answer: String(target), numbers, target },
    steps,
  };
}
