import type { SolutionJudge } from '../../../operators/linearize/selfEval.js';
import type { Problem } from '../../../schemas/problem.js';
import type { OpenAiPolicy } from './openaiPolicy.js';

/** The judge's question about one solution (user turn of the policy's template). */
export function judgePrompt(problemPrompt: string, solution: string): string {
  return [problemPrompt, '', 'Here is a proposed solution:', '', solution, '', 'Is this solution correct, with every step sound? Answer with a single word: Yes or No.'].join('\n');
}

/**
 * Self-evaluation over the OpenAI protocol: one request with `n` = N short samples of the
 * question "is this solution sound?"; a judgment approves when the answer starts with "yes". Usage
 * is accounted to `self-eval` (the problem's tree is already written).
 */
export function createLlmJudge(policy: OpenAiPolicy, promptOf: (problem: Problem) => string): SolutionJudge {
  return {
    async judge(problem, solution, n, seed) {
      const response = await policy.completeRaw('self-eval', {
        user: judgePrompt(promptOf(problem), solution),
        steps: [],
        n,
        max_tokens: 4,
        temperature: 1,
        top_p: 1,
        seed,
        stop: ['\n', ...policy.endStops],
      });
      return response.choices.map((c) => /^\W*yes\b/i.test(c.text));
    },
  };
}
