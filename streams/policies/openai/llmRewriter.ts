import type { TextRewriter } from '../../../operators/linearize/rewrite.js';
import { STEP_DELIMITER } from '../../../operators/mcts/policy.js';
import type { OpenAiPolicy } from './openaiPolicy.js';

/**
 * LLM rewriting over the OpenAI protocol: the few-shot prompt as the user turn, one sample that
 * stops at a blank line (a rewrite is one paragraph). Usage is accounted to `rewrite`.
 */
export function createLlmRewriter(policy: OpenAiPolicy, options: { readonly maxTokens?: number; readonly temperature?: number } = {}): TextRewriter {
  return {
    async complete(prompt, seed) {
      const response = await policy.completeRaw('rewrite', {
        user: prompt,
        steps: [],
        n: 1,
        max_tokens: options.maxTokens ?? 512,
        temperature: options.temperature ?? 0.7,
        top_p: 1,
        seed,
        stop: [STEP_DELIMITER, ...policy.endStops],
      });
      return response.choices[0]?.text ?? '';
    },
  };
}
