import { STEP_DELIMITER } from '../../../operators/mcts/policy.js';

/**
 * Llama-3 chat format: the domain prompt as the user turn, the steps so far as the start of the
 * assistant turn. Steps are joined by the one step delimiter and, when there are any, followed by
 * it, so the model's next tokens begin the next step (ASTRO-METHOD §1).
 */
export const LLAMA3_TEMPLATE =
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{{prompt}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{{steps}}';

/** Marks where the assistant turn begins in {@link LLAMA3_TEMPLATE}; the server splits prompts there. */
export const LLAMA3_ASSISTANT_MARKER = '<|start_header_id|>assistant<|end_header_id|>\n\n';

/** Stop strings that end a Llama-3 assistant turn. */
export const LLAMA3_STOPS: readonly string[] = ['<|eot_id|>', '<|end_of_text|>'];

/**
 * Renders a completion prompt: `{{prompt}}` becomes the user prompt, `{{steps}}` the steps so far
 * (each followed by the step delimiter). A template without `{{steps}}` gets them appended.
 */
export function renderPrompt(template: string, userPrompt: string, steps: readonly string[]): string {
  const done = steps.map((s) => `${s}${STEP_DELIMITER}`).join('');
  const withPrompt = template.split('{{prompt}}').join(userPrompt);
  return withPrompt.includes('{{steps}}') ? withPrompt.split('{{steps}}').join(done) : `${withPrompt}${done}`;
}
