import type { Domain, GenerateConfig } from '../domain.js';
import type { Problem } from '../../schemas/problem.js';
import { extractLastBoxed } from './boxed.js';
import { evaluateExpression, formatRational } from './expression.js';
import { generateCountdownProblems } from './generator.js';
import { countdownTokenizer } from './tokenizer.js';
import { createCountdownVerifier } from './verifier.js';

export { ACTION_COUNT, ANSWER_OFFSET, FEATURE_COUNT, MAX_NUMBERS, OPS, applyAction, canAnswer, encodeState, initialState, isLegalAction, legalMask, replaySteps, stepToAction } from './actions.js';
export type { AppliedAction, CountdownState, Op } from './actions.js';
export { evaluateExpression } from './expression.js';
export type { Evaluation, Rational } from './expression.js';
export { extractLastBoxed } from './boxed.js';
export { COUNTDOWN_POOL, generateCountdownProblems } from './generator.js';
export type { CountdownGeneratorConfig } from './generator.js';
export { createCountdownVerifier, judgeCountdown } from './verifier.js';
export { countdownTokenizer, countdownTokens } from './tokenizer.js';

const COMBINE_RE = /(\d+)\s*([-+*/x×X·∗÷−–—])\s*(\d+)\s*=\s*(\d+)/;
const OP_ASCII: Readonly<Record<string, string>> = { '×': '*', '·': '*', '∗': '*', x: '*', X: '*', '÷': '/', '−': '-', '–': '-', '—': '-' };

/** The user prompt: the question plus the exact step format the actions module renders and replays. */
export function countdownPrompt(problem: Problem): string {
  const numbers = (problem.numbers ?? []).join(', ');
  const target = problem.target ?? problem.answer;
  return [
    problem.question,
    `Combine two of the remaining numbers per step, one step per paragraph (separate paragraphs with a blank line), written exactly like:`,
    `Step 1: 75 - 25 = 50. Remaining: 50, 8, 3.`,
    `Every intermediate result must be a positive integer. When a remaining number equals ${target}, finish with a step that gives the whole expression over the original numbers (${numbers}) in \\boxed{}, like:`,
    `Step 3: 100 = (75-25)*2. The answer is \\boxed{(75-25)*2}.`,
    `Box an expression only when it makes ${target}, or when a single number is left and nothing remains to combine: then box its whole expression as your attempt.`,
  ].join('\n\n');
}

/**
 * What a step did, for `Let's go back to where we ...`: `computed 75 - 25 = 50` for a combine,
 * `answered (75-25)*2` for a final step, otherwise the step text without its `Step k:` prefix.
 */
export function describeCountdownStep(step: string): string {
  const boxed = extractLastBoxed(step);
  // Steps are short; the cap keeps the unanchored patterns below cheap on runaway policy output.
  const text = step.trim().slice(0, 400);
  if (boxed !== null) return `answered ${boxed.trim()}`;
  const m = COMBINE_RE.exec(text);
  if (m !== null) {
    const op = OP_ASCII[m[2] ?? ''] ?? m[2] ?? '';
    return `computed ${m[1]} ${op} ${m[3]} = ${m[4]}`;
  }
  return text.replace(/^(?:#+\s*)?step\s*\d+\s*[:.)]\s*/i, '').replace(/[.\s]+$/, '');
}

/** The built-in Countdown domain: generator, verifier, prompt and backtrack descriptions. */
export const countdownDomain: Domain = {
  name: 'countdown',
  verifier: createCountdownVerifier(),
  /** `difficulty` is how many numbers (3–6, default 4). */
  generate: (config: GenerateConfig): Problem[] =>
    generateCountdownProblems({ count: config.count, seed: config.seed, ...(config.difficulty === undefined ? {} : { numbers: config.difficulty }) }),
  prompt: countdownPrompt,
  describeStep: describeCountdownStep,
  tokenizer: countdownTokenizer,
  /** An expression's value: every expression that makes the target is the same claim. */
  voteKey: (answer: string): string => {
    const value = evaluateExpression(answer.trim(), { maxLength: 200, maxDepth: 32 });
    return value.ok ? formatRational(value.value) : answer.replace(/\s+/g, '');
  },
};
