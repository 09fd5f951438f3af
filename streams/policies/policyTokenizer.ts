import type { Domain } from '../../domains/domain.js';
import { ESTIMATED_TOKENS, type TokenCounter } from '../../operators/linearize/tokenCount.js';
import type { PolicySettings } from './factory.js';
import { probeServerTokenizer } from './openai/tokenizeClient.js';

/**
 * The tokenizer that caps a run's traces (`linearize.maxTraceTokens`): an `openai` policy's
 * server tokenizer when it offers `POST /tokenize` (llama.cpp, vLLM, serve-policy), else an
 * estimate (an LLM's tokens are not the domain's); the built-in network and the dry-run policy
 * take the domain's tokenizer when it has one, else the estimate. The choice is recorded in the
 * manifest, and counts say how many traces were counted exactly or estimated.
 */
export async function tokenizerFor(settings: PolicySettings, domain: Pick<Domain, 'tokenizer'>, deps: { readonly apiKey?: string } = {}): Promise<TokenCounter> {
  if (settings.kind !== 'openai' || settings.baseUrl === undefined) return domain.tokenizer ?? ESTIMATED_TOKENS;
  const server = await probeServerTokenizer({
    baseUrl: settings.baseUrl,
    timeoutMs: settings.timeoutMs,
    ...(settings.model === undefined ? {} : { model: settings.model }),
    ...(deps.apiKey === undefined ? {} : { apiKey: deps.apiKey }),
  });
  return server ?? ESTIMATED_TOKENS;
}
