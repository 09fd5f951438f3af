/** The OpenAI-compatible LLM policy: client, prompt templates, priors, breaker, in-flight bound, `n` splitting. */
export { createOpenAiPolicy, DEFAULT_OPENAI_POLICY_CONFIG, toRollout, type OpenAiEndpoint, type OpenAiPolicy, type OpenAiPolicyConfig, type OpenAiPolicyDeps, type PromptRequest, type ServerTraits } from './openaiPolicy.js';
export { createCompletionsClient, HttpStatusError, ServerUnavailableError, type ChatMessage, type CompletionRequest, type CompletionsClient, type CompletionsClientConfig } from './completionsClient.js';
export { countedCompletionTokens, parseCompletionResponse, type ChoiceLogprobs, type CompletionChoice, type CompletionResponse } from './completionResponse.js';
export { nCapFromError, partSeed, splitN } from './choiceSplit.js';
export { createCircuitBreaker, DEFAULT_CIRCUIT_BREAKER, type CircuitBreaker, type CircuitBreakerConfig, type CircuitBreakerDeps, type CircuitState } from './circuitBreaker.js';
export { createInFlightLimiter, type InFlightLimiter } from './inFlightLimiter.js';
export { lengthNormalizedLogprob } from './priors.js';
export { LLAMA3_ASSISTANT_MARKER, LLAMA3_STOPS, LLAMA3_TEMPLATE, PROMPT_FAMILIES, PROMPT_FAMILY_NAMES, promptFamilyOf, renderPrompt, type PromptFamily, type PromptFamilyName } from './promptTemplate.js';
export { createLlmJudge, judgePrompt } from './llmJudge.js';
export { createLlmRewriter } from './llmRewriter.js';
