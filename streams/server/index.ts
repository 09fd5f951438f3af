/** The `serve-policy` OpenAI-compatible server. */
export { startPolicyServer, DEFAULT_MAX_QUEUE, NO_FAILURES, type FailureModes, type PolicyServerConfig, type PolicyServerDeps, type PolicyServerStats, type RunningPolicyServer } from './policyServer.js';
export { completeWithPolicy, serverTokens, type EngineChoice, type EngineRequest, type EngineResult } from './completionEngine.js';
export { parseCountdownPrompt, type ParsedCountdownPrompt } from './countdownPromptParser.js';
