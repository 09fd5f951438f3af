/** The OpenAI-compatible LLM policy: client, prompt template, priors, breaker, in-flight bound. */
export { createOpenAiPolicy, DEFAULT_OPENAI_POLICY_CONFIG, toRollout, type OpenAiPolicy, type OpenAiPolicyConfig, type OpenAiPolicyDeps } from './openaiPolicy.js';
export { createCompletionsClient, CompletionResponse, type CompletionChoice, type CompletionRequest, type CompletionsClient, type CompletionsClientConfig } from './completionsClient.js';
export { createCircuitBreaker, DEFAULT_CIRCUIT_BREAKER, type CircuitBreaker, type CircuitBreakerConfig, type CircuitState } from './circuitBreaker.js';
export { createInFlightLimiter, type InFlightLimiter } from './inFlightLimiter.js';
export { lengthNormalizedLogprob, type ChoiceLogprobs } from './priors.js';
export { LLAMA3_ASSISTANT_MARKER, LLAMA3_STOPS, LLAMA3_TEMPLATE, renderPrompt } from './promptTemplate.js';
export { createLlmJudge, judgePrompt } from './llmJudge.js';
export { createLlmRewriter } from './llmRewriter.js';
