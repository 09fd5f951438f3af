import { AppError, toAppError } from '../../../operators/common/errors.js';
import { noopMetrics, type Logger, type Metrics } from '../../../operators/common/metrics.js';
import { deriveSeed } from '../../../operators/common/rng.js';
import { DEFAULT_RETRY, withRetry, type RetryConfig } from '../../../operators/common/retry.js';
import { isTerminalStep, STEP_DELIMITER, type Policy, type PolicyUsage, type Rollout, type SampleOptions, type SearchState, type StepProposal } from '../../../operators/mcts/policy.js';
import type { Problem } from '../../../schemas/problem.js';
import { createCircuitBreaker, DEFAULT_CIRCUIT_BREAKER, type CircuitBreaker, type CircuitBreakerConfig } from './circuitBreaker.js';
import { createCompletionsClient, type CompletionRequest, type CompletionResponse, type CompletionsClient } from './completionsClient.js';
import { createInFlightLimiter, type InFlightLimiter } from './inFlightLimiter.js';
import { lengthNormalizedLogprob } from './priors.js';
import { LLAMA3_STOPS, LLAMA3_TEMPLATE, renderPrompt } from './promptTemplate.js';

/** How to reach the model server and how hard to try. */
export interface OpenAiPolicyConfig {
  /** Base URL including `/v1`. */
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey?: string;
  /** Prompt template with `{{prompt}}` and `{{steps}}` (default: Llama-3 chat, {@link LLAMA3_TEMPLATE}). */
  readonly template: string;
  /** Extra stop strings that end the assistant turn (default: Llama-3's). Steps also stop at the step delimiter. */
  readonly endStops: readonly string[];
  /** Token limit of one step sample. */
  readonly maxStepTokens: number;
  /** Token limit of one rollout (a rollout cut by it without an answer is truncated). */
  readonly maxRolloutTokens: number;
  /** Ask for log-probabilities (priors); servers that ignore it give uniform priors. */
  readonly logprobs: boolean;
  /** One HTTP attempt's time limit (ms). */
  readonly timeoutMs: number;
  readonly retry: RetryConfig;
  /** Global bound on requests in flight from this process. */
  readonly maxInFlight: number;
  readonly breaker: CircuitBreakerConfig;
  /** Overrides the recorded `openai@<model>` policy version. */
  readonly version?: string;
}

/** Defaults for everything but the server and the model. */
export const DEFAULT_OPENAI_POLICY_CONFIG: Omit<OpenAiPolicyConfig, 'baseUrl' | 'model'> = {
  template: LLAMA3_TEMPLATE,
  endStops: LLAMA3_STOPS,
  maxStepTokens: 512,
  maxRolloutTokens: 4096,
  logprobs: true,
  timeoutMs: 120_000,
  retry: DEFAULT_RETRY,
  maxInFlight: 64,
  breaker: DEFAULT_CIRCUIT_BREAKER,
};

/** Capabilities the policy needs (STYLE.md: injected, never reached for). */
export interface OpenAiPolicyDeps {
  /** The user prompt of a problem (its domain's `prompt`). */
  readonly promptOf: (problem: Problem) => string;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Backoff jitter source, uniform [0, 1). */
  readonly random: () => number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** Replaces the HTTP client (tests). */
  readonly client?: CompletionsClient;
}

/** An LLM {@link Policy} with its transport state exposed for monitoring. */
export interface OpenAiPolicy extends Policy {
  /** Usage of one problem since the last take, then forgotten (per-problem accounting in the tree). */
  takeUsage(problemId: string): PolicyUsage;
  readonly limiter: InFlightLimiter;
  readonly breaker: CircuitBreaker;
  /**
   * One completions request through the same retries, breaker and in-flight bound, its usage
   * accounted to `accountTo` (judges and rewriters of the linearizer use it).
   */
  completeRaw(accountTo: string, body: Omit<CompletionRequest, 'model'>): Promise<CompletionResponse>;
  /** The configured prompt template and end-of-turn stops, for callers building their own prompts. */
  readonly template: string;
  readonly endStops: readonly string[];
}

type MutableUsage = { promptTokens: number; completionTokens: number; calls: number };

// Label objects of the request histograms, built once (requests are a hot path of LLM searches).
const PROMPT_TOKENS = { kind: 'prompt' } as const;
const COMPLETION_TOKENS = { kind: 'completion' } as const;
const REQUEST_OK = { outcome: 'ok' } as const;
const REQUEST_FAILED = { outcome: 'failed' } as const;

/**
 * A Policy over any OpenAI-compatible `/v1/completions` server (vLLM, SGLang, llama.cpp, hosted).
 * One request per state: `n = k` step samples with `stop` at the step delimiter, or `n = M`
 * rollouts to the end of the answer; the states of one call go out concurrently. Every HTTP
 * attempt passes the circuit breaker and the global in-flight bound; retriable failures are
 * retried with backoff and jitter, and a request that exhausts its retries fails the search with a
 * non-retriable `policy` error naming the last cause (the retries already happened here: the
 * stage must not redo the whole search, it sends the problem to the DLQ).
 * Priors: each step's length-normalized log-probability (softmax over siblings in the search).
 */
export function createOpenAiPolicy(config: OpenAiPolicyConfig, deps: OpenAiPolicyDeps): OpenAiPolicy {
  const metrics = deps.metrics ?? noopMetrics;
  const client = deps.client ?? createCompletionsClient({ baseUrl: config.baseUrl, ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }), timeoutMs: config.timeoutMs, maxSockets: config.maxInFlight });
  const limiter = createInFlightLimiter(config.maxInFlight);
  const breaker = createCircuitBreaker(config.breaker, deps.clock);
  const total: MutableUsage = { promptTokens: 0, completionTokens: 0, calls: 0 };
  const perProblem = new Map<string, MutableUsage>();

  const account = (problemId: string, response: CompletionResponse): void => {
    const prompt = response.usage?.prompt_tokens ?? 0;
    const completion = response.usage?.completion_tokens ?? 0;
    const u = perProblem.get(problemId) ?? { promptTokens: 0, completionTokens: 0, calls: 0 };
    for (const target of [u, total]) {
      target.promptTokens += prompt;
      target.completionTokens += completion;
      target.calls += 1;
    }
    perProblem.set(problemId, u);
    metrics.increment('policy.prompt_tokens', prompt);
    metrics.increment('policy.completion_tokens', completion);
    metrics.observe('policy.request_tokens', prompt, PROMPT_TOKENS);
    metrics.observe('policy.request_tokens', completion, COMPLETION_TOKENS);
  };

  const attemptOnce = (body: CompletionRequest): Promise<CompletionResponse> =>
    limiter.run(async () => {
      breaker.check();
      metrics.increment('policy.requests');
      const started = performance.now();
      try {
        const response = await client.complete(body);
        metrics.observe('policy.request_ms', performance.now() - started, REQUEST_OK);
        breaker.success();
        return response;
      } catch (error) {
        const e = toAppError(error, 'policy');
        // Only backend trouble counts against the breaker; a 400 for one prompt says nothing about the server.
        if (e.retriable) breaker.failure();
        metrics.increment('policy.request_failures');
        metrics.observe('policy.request_ms', performance.now() - started, REQUEST_FAILED);
        throw e;
      }
    });

  const call = async (problemId: string, body: CompletionRequest): Promise<CompletionResponse> => {
    try {
      const response = await withRetry(() => attemptOnce(body), config.retry, {
        sleep: deps.sleep,
        random: deps.random,
        onRetry: (error, attempt, delayMs) => {
          metrics.increment('policy.retries');
          deps.logger?.warn(`policy: retry ${attempt} in ${delayMs} ms`, { kind: error.kind, reason: error.message });
        },
      });
      account(problemId, response);
      return response;
    } catch (error) {
      const e = toAppError(error, 'policy');
      metrics.increment('policy.calls_failed');
      throw new AppError('policy', `completion request failed: ${e.message}`, { retriable: false, cause: e });
    }
  };

  const request = (state: SearchState, n: number, opts: SampleOptions, seed: number, step: boolean): CompletionRequest => ({
    model: config.model,
    prompt: renderPrompt(config.template, deps.promptOf(state.problem), state.steps),
    n,
    max_tokens: step ? config.maxStepTokens : config.maxRolloutTokens,
    temperature: opts.temperature,
    top_p: opts.topP,
    seed,
    stop: step ? [STEP_DELIMITER, ...config.endStops] : [...config.endStops],
    ...(config.logprobs && step ? { logprobs: 1 } : {}),
  });

  return {
    version: config.version ?? `openai@${config.model}`,
    limiter,
    breaker,
    template: config.template,
    endStops: config.endStops,
    completeRaw: (accountTo, body) => call(accountTo, { ...body, model: config.model }),

    proposeSteps(states: readonly SearchState[], n: number, opts: SampleOptions): Promise<StepProposal[][]> {
      return Promise.all(
        states.map(async (state, index) => {
          if (n <= 0) return [];
          const response = await call(state.problem.id, request(state, n, opts, deriveSeed(opts.seed, index), true));
          return response.choices.map((c): StepProposal => {
            const logprob = lengthNormalizedLogprob(c.logprobs);
            return logprob === undefined ? { text: c.text.trim() } : { text: c.text.trim(), logprob };
          });
        }),
      );
    },

    rollout(states: readonly SearchState[], n: number, opts: SampleOptions): Promise<Rollout[][]> {
      return Promise.all(
        states.map(async (state, index) => {
          if (n <= 0) return [];
          const response = await call(state.problem.id, request(state, n, opts, deriveSeed(opts.seed, index, 'rollout'), false));
          return response.choices.map((c) => toRollout(c.text, c.finish_reason ?? null, opts.maxSteps));
        }),
      );
    },

    usage: (): PolicyUsage => ({ ...total }),

    takeUsage(problemId: string): PolicyUsage {
      const u = perProblem.get(problemId) ?? { promptTokens: 0, completionTokens: 0, calls: 0 };
      perProblem.delete(problemId);
      return u;
    },

    close(): Promise<void> {
      client.close();
      return Promise.resolve();
    },
  };
}

/**
 * A rollout from a completion: its steps (blank-line separated), cut at the first step with an
 * answer, or at `maxSteps`; truncated when no answer was reached (length limit or step cap).
 */
export function toRollout(text: string, finishReason: string | null, maxSteps?: number): Rollout {
  const steps = text.split(STEP_DELIMITER).map((s) => s.trim()).filter((s) => s.length > 0);
  const cap = maxSteps ?? Number.POSITIVE_INFINITY;
  const kept: string[] = [];
  for (const step of steps) {
    if (kept.length >= cap) break;
    kept.push(step);
    if (isTerminalStep(step)) return { text: kept.join(STEP_DELIMITER), truncated: false };
  }
  // No answer: cut by the server's length limit or by our step cap is truncated; a rollout that
  // simply ended without one is an (unparseable, so wrong) answer for the verifier to judge.
  return { text: kept.join(STEP_DELIMITER), truncated: finishReason === 'length' || steps.length > kept.length };
}
