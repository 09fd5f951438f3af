import type { Policy } from '../../operators/mcts/policy.js';
import { STEP_DELIMITER } from '../../operators/mcts/policy.js';
import { AppError } from '../../operators/common/errors.js';
import { countdownTokens } from '../../domains/countdown/tokenizer.js';
import { parseCountdownPrompt } from './countdownPromptParser.js';

/** The fields of a completions request the engine reads. */
export interface EngineRequest {
  readonly prompt: string;
  readonly n: number;
  readonly max_tokens?: number | undefined;
  readonly temperature?: number | undefined;
  readonly top_p?: number | undefined;
  readonly seed?: number | undefined;
  readonly stop?: readonly string[] | undefined;
  readonly logprobs?: number | null | undefined;
}

/** One choice in OpenAI's legacy completions format. */
export interface EngineChoice {
  readonly index: number;
  readonly text: string;
  readonly finish_reason: 'stop' | 'length';
  readonly logprobs: { readonly tokens: string[]; readonly token_logprobs: number[] } | null;
}

export interface EngineResult {
  readonly choices: EngineChoice[];
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number };
}

/** Tokens of a text as this server counts them (usage, `max_tokens`, `/tokenize`): the Countdown domain's tokenizer. */
export const serverTokens = (text: string): number => countdownTokens(text).length;

/**
 * Answers a completions request with the built-in Countdown policy. A request whose `stop`
 * contains the step delimiter samples `n` next steps (each a whole step, with the network's prior
 * as the step's one log-probability); otherwise it plays `n` rollouts to an answer. `max_tokens`
 * cuts long rollouts (`finish_reason: length`). Tokens are the Countdown domain's
 * (domains/countdown/tokenizer.ts). A prompt that is not a Countdown prompt is a 400.
 */
export async function completeWithPolicy(policy: Policy, body: EngineRequest, fallbackSeed: number): Promise<EngineResult> {
  const parsed = parseCountdownPrompt(body.prompt);
  if (parsed === null) throw new AppError('schema', 'prompt is not a Countdown prompt (needs "over the original numbers (...)" and "When a remaining number equals N")');
  const options = { seed: body.seed ?? fallbackSeed, temperature: body.temperature ?? 1, topP: body.top_p ?? 1 };
  const state = { problem: parsed.problem, steps: parsed.steps };
  const maxTokens = body.max_tokens ?? Number.POSITIVE_INFINITY;
  const stepMode = (body.stop ?? []).includes(STEP_DELIMITER);
  const texts: { text: string; finish: 'stop' | 'length'; logprob: number | null }[] = [];
  if (stepMode) {
    const [proposals = []] = await policy.proposeSteps([state], body.n, options);
    for (const p of proposals) texts.push({ text: p.text, finish: 'stop', logprob: p.prior === undefined ? null : Math.log(Math.max(p.prior, 1e-12)) });
  } else {
    const [rollouts = []] = await policy.rollout([state], body.n, options);
    for (const r of rollouts) texts.push({ text: r.text, finish: r.truncated ? 'length' : 'stop', logprob: null });
  }
  // A finished game (or an unreadable step) has nothing to add: the model "stops" at once.
  while (texts.length < body.n) texts.push({ text: '', finish: 'stop', logprob: null });
  const choices = texts.map((t, index): EngineChoice => {
    const tokens = countdownTokens(t.text);
    const cut = tokens.length > maxTokens;
    const text = cut ? tokens.slice(0, Math.max(0, maxTokens)).join('') : t.text;
    const wantLogprobs = body.logprobs !== undefined && body.logprobs !== null && t.logprob !== null;
    return { index, text, finish_reason: cut ? 'length' : t.finish, logprobs: wantLogprobs ? { tokens: [text], token_logprobs: [t.logprob ?? 0] } : null };
  });
  const promptTokens = serverTokens(body.prompt);
  const completionTokens = choices.reduce((s, c) => s + serverTokens(c.text), 0);
  return { choices, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } };
}
