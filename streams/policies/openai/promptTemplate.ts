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

/** A completion prompt format and the strings that end its assistant turn. */
export interface PromptFamily {
  /** `{{prompt}}` is the user turn, `{{steps}}` the start of the assistant turn. */
  readonly template: string;
  readonly stops: readonly string[];
}

/**
 * Completion prompt formats by model family, for `/v1/completions` (the chat endpoint uses the
 * server's own template instead). `plain` has no chat markup, for base models.
 */
export const PROMPT_FAMILIES = {
  llama3: { template: LLAMA3_TEMPLATE, stops: LLAMA3_STOPS },
  // Qwen 1.5–3, Yi, many fine-tunes.
  chatml: { template: '<|im_start|>user\n{{prompt}}<|im_end|>\n<|im_start|>assistant\n{{steps}}', stops: ['<|im_end|>', '<|endoftext|>'] },
  mistral: { template: '<s>[INST] {{prompt}} [/INST]{{steps}}', stops: ['</s>'] },
  gemma: { template: '<bos><start_of_turn>user\n{{prompt}}<end_of_turn>\n<start_of_turn>model\n{{steps}}', stops: ['<end_of_turn>', '<eos>'] },
  phi3: { template: '<|user|>\n{{prompt}}<|end|>\n<|assistant|>\n{{steps}}', stops: ['<|end|>', '<|endoftext|>'] },
  plain: { template: '{{prompt}}\n\n{{steps}}', stops: [] },
} as const satisfies Record<string, PromptFamily>;

export type PromptFamilyName = keyof typeof PROMPT_FAMILIES;

export const PROMPT_FAMILY_NAMES = Object.keys(PROMPT_FAMILIES) as PromptFamilyName[];

// Checked in order: "qwen2-llama3-distill" is a Qwen model.
const FAMILY_PATTERNS: readonly (readonly [RegExp, PromptFamilyName])[] = [
  [/qwen|(^|[^a-z])yi-|chatml|hermes|openchat/i, 'chatml'],
  [/gemma/i, 'gemma'],
  [/phi-?[34]/i, 'phi3'],
  [/mistral|mixtral|ministral/i, 'mistral'],
  [/llama-?3|llama3/i, 'llama3'],
];

/** The family a model id suggests (`Qwen/Qwen2.5-7B-Instruct` → chatml), or llama3 when the id says nothing. */
export function promptFamilyOf(modelId: string): PromptFamilyName {
  return FAMILY_PATTERNS.find(([pattern]) => pattern.test(modelId))?.[1] ?? 'llama3';
}

/**
 * Renders a completion prompt: `{{prompt}}` becomes the user prompt, `{{steps}}` the steps so far
 * (each followed by the step delimiter). A template without `{{steps}}` gets them appended.
 */
export function renderPrompt(template: string, userPrompt: string, steps: readonly string[]): string {
  const done = steps.map((s) => `${s}${STEP_DELIMITER}`).join('');
  const withPrompt = template.split('{{prompt}}').join(userPrompt);
  return withPrompt.includes('{{steps}}') ? withPrompt.split('{{steps}}').join(done) : `${withPrompt}${done}`;
}
