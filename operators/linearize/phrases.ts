/**
 * The exact reflection strings of ASTRO-METHOD §4. They are part of the output contract:
 * downstream analysis counts them, so never reword them without a new linearizer version.
 */

/** Opens every reflection, positive or backtracking. */
export const REFLECTION_OPENING = 'But wait, are we solving the problem correctly so far? Hmm...';

/** Second sentence of a backtrack. */
export const REFLECTION_DOUBT = "I'm not sure if we're solving the problem correctly so far.";

/** Second sentence of a positive reflection. */
export const REFLECTION_CONFIRM = 'Our solution seems to be correct so far.';

/** Prefix of a backtrack to a branching point; completed by {@link goBackSentence}. */
export const GO_BACK_PREFIX = "Let's go back to where we ";

/** Backtrack to the root. */
export const RESTART_SENTENCE = "Let's restart our solution from the beginning.";

/** Prefix of the trace's final line; completed by {@link finalAnswerLine}. */
export const FINAL_ANSWER_PREFIX = 'Therefore, the final answer is ';

/**
 * `Let's go back to where we ${what}.` where `what` is the domain's description of the branching
 * step (a clause without a final period, e.g. `computed 75 - 25 = 50`).
 */
export function goBackSentence(what: string): string {
  // A describer that ends its clause with a period would otherwise produce "..".
  return `${GO_BACK_PREFIX}${what.trim().replace(/[.\s]+$/u, '')}.`;
}

/** The last line of every trace: `Therefore, the final answer is \boxed{X}.` */
export function finalAnswerLine(answer: string): string {
  return `${FINAL_ANSWER_PREFIX}\\boxed{${answer}}.`;
}

/** The full text of a backtrack: opening, doubt, then where we return to (`null` = the root). */
export function backtrackParagraph(what: string | null): string {
  return [REFLECTION_OPENING, REFLECTION_DOUBT, what === null ? RESTART_SENTENCE : goBackSentence(what)].join(' ');
}

/** The full text of a positive reflection. */
export const POSITIVE_REFLECTION = `${REFLECTION_OPENING} ${REFLECTION_CONFIRM}`;

function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count += 1;
  return count;
}

/** Number of backtrack sentences (`Let's go back to where we …` and restarts) in a trace. */
export function countBacktracks(text: string): number {
  return countOccurrences(text, GO_BACK_PREFIX) + countOccurrences(text, RESTART_SENTENCE);
}

/** Number of restarts (backtracks to the root) in a trace. */
export function countRestarts(text: string): number {
  return countOccurrences(text, RESTART_SENTENCE);
}

/** Number of reflections of either kind (each opens with {@link REFLECTION_OPENING}). */
export function countReflections(text: string): number {
  return countOccurrences(text, REFLECTION_OPENING);
}

/** Number of positive reflections (`… Our solution seems to be correct so far.`). */
export function countPositiveReflections(text: string): number {
  return countOccurrences(text, REFLECTION_CONFIRM);
}
