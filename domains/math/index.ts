import type { Domain } from '../domain.js';
import type { Problem } from '../../schemas/problem.js';
import { createMathVerifier } from '../../operators/verify/math/mathVerifier.js';
import { CasPool } from '../../streams/verifier/casPool.js';

/** `## Step k:` prefix of a math step (the format the math prompt asks for). */
export const MATH_STEP_PREFIX_RE = /^\s*(?:#+\s*)?step\s*(\d+)\s*[:.)]\s*/i;

/** Longest quoted excerpt of a step in a backtrack sentence, in characters. */
const EXCERPT_CHARS = 80;

/**
 * The user prompt for a math problem: `## Step k:` steps, one paragraph each, separated by a blank
 * line (the one step delimiter), and a final `\boxed{}` answer (ASTRO-METHOD §1).
 */
export function mathPrompt(problem: Problem): string {
  return [
    'Solve the following math problem step by step.',
    'Write each step as one paragraph that begins with "## Step k:" (k = 1, 2, ...), and separate steps with a blank line.',
    'End with the final answer in \\boxed{}, for example "## Step 3: ... The final answer is \\boxed{42}."',
    '',
    `Problem: ${problem.question.trim()}`,
  ].join('\n');
}

/**
 * What a step did, for `Let's go back to where we ...`: `reached step 2 ("We have that r = 3")`,
 * quoting the step's first sentence (boxes unwrapped, cut at 80 characters), or `reached this
 * step (...)` when it has no number.
 */
export function describeMathStep(step: string): string {
  const text = step.trim();
  const number = MATH_STEP_PREFIX_RE.exec(text)?.[1];
  const body = text.replace(MATH_STEP_PREFIX_RE, '').replace(/\\boxed\{/g, '{').replace(/\s+/g, ' ').trim();
  const sentence = /^(.+?[.!?])(\s|$)/.exec(body)?.[1] ?? body;
  const excerpt = sentence.length > EXCERPT_CHARS ? `${sentence.slice(0, EXCERPT_CHARS - 1).trimEnd()}…` : sentence.replace(/[.\s]+$/, '');
  return `${number === undefined ? 'reached this step' : `reached step ${number}`} ("${excerpt}")`;
}

/**
 * The CAS worker pool of the math domain's verifier. Its workers start on the first pair the
 * inline checks cannot settle and are unref'd, so a process that never needs the CAS never starts
 * one and an idle pool never keeps a process alive.
 */
export const mathCasPool = new CasPool();

/** The math domain (MATH-500, AIME, AMC, GSM8K files): no generator; the math answer verifier. */
export const mathDomain: Domain = {
  name: 'math',
  verifier: createMathVerifier({}, { cas: mathCasPool }),
  prompt: mathPrompt,
  describeStep: describeMathStep,
};
