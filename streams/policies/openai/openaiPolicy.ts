import { AppError, isProgrammerError, toAppError } from '../../../operators/common/errors.js';
import { noopMetrics, type Logger, type Metrics } from '../../../operators/common/metrics.js';
import { deriveSeed } from '../../../operators/common/rng.js';
import { backoffDelayMs, DEFAULT_RETRY, type RetryConfig } from '../../../operators/common/retry.js';
import { isTerminalStep, STEP_DELIMITER, type Policy, type PolicyUsage, type Rollout, type SampleOptions, type SearchState, type StepProposal } from '../../../operators/mcts/policy.js';
import type { Problem } from '../../../schemas/problem.js';
import { partSeed, nCapFromError, splitN } from './choiceSplit.js';
import { createCircuitBreaker, DEFAULT_CIRCUIT_BREAKER, type CircuitBreaker, type CircuitBreakerConfig } from './circuitBreaker.js';
import { countedCompletionTokens, type CompletionChoice, type CompletionResponse } from './completionResponse.js';
import { createCompletionsClient, HttpStatusError, ServerUnavailableError, type ChatMessage, type CompletionRequest, type CompletionsClient } from './completionsClient.js';
import { createInFlightLimiter, type InFlightLimiter } from './inFlightLimiter.js';
import { lengthNormalizedLogprob } from './priors.js';
import { LLAMA3_STOPS, LLAMA3_TEMPLATE, renderPrompt } from './promptTemplate.js';

/** Which OpenAI endpoint carries the requests. */
export type OpenAiEndpoint = 'completions' | 'chat';

/** How to reach the model server and how hard to try. */
export interface OpenAiPolicyConfig {
  /** Base URL including `/v1`. */
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey?: string;
  /**
   * `completions` (default): our prompt template over `/v1/completions`. `chat`:
   * `/v1/chat/completions` with the server's own chat template, the steps so far as a final
   * assistant message that the server continues (for servers that only offer chat).
   */
  readonly endpoint: OpenAiEndpoint;
  /** Prompt template with `{{prompt}}` and `{{steps}}` (completions endpoint; default: Llama-3 chat, {@link LLAMA3_TEMPLATE}). */
  readonly template: string;
  /** Extra stop strings that end the assistant turn (default: Llama-3's). Steps also stop at the step delimiter. */
  readonly endStops: readonly string[];
  /** Token limit of one step sample. */
  readonly maxStepTokens: number;
  /** Token limit of one rollout (a rollout cut by it without an answer is truncated). */
  readonly maxRolloutTokens: number;
  /** Ask for log-probabilities (priors); servers that ignore it give uniform priors. */
  readonly logprobs: boolean;
  /** Largest `n` one request may ask for (default: unbounded until the server says otherwise). */
  readonly maxN?: number;
  /**
   * Ask the server what it is before the first request (`GET /props`): llama.cpp's `llama-server`
   * tells its slots (the largest `n`) and is known to report the usage of the first choice only.
   */
  readonly probeServer: boolean;
  /**
   * Exact token accounting: a server whose `usage` covers one choice of an `n`-request (llama.cpp)
   * gets one choice per request. Off: `n` stays, and tokens are counted from the returned
   * log-probabilities (stop-string tokens left out by the server are then missing).
   */
  readonly exactUsage: boolean;
  /** One HTTP attempt's time limit (ms). */
  readonly timeoutMs: number;
  readonly retry: RetryConfig;
  /** Global bound on requests in flight from this process. */
  readonly maxInFlight: number;
  readonly breaker: CircuitBreakerConfig;
  /** Overrides the recorded `openai@<model>` policy version. */
  readonly version?: string;
  /**
   * Record, per problem, the model each response names (its `model` field) as the versions that
   * answered (`takeUsage(...).versions`): for a server whose model is swapped during the run, so
   * every tree names the model(s) that produced it. Off: trees record `version`.
   */
  readonly recordAnsweringModel?: boolean;
}

/** Defaults for everything but the server and the model. */
export const DEFAULT_OPENAI_POLICY_CONFIG: Omit<OpenAiPolicyConfig, 'baseUrl' | 'model'> = {
  endpoint: 'completions',
  template: LLAMA3_TEMPLATE,
  endStops: LLAMA3_STOPS,
  maxStepTokens: 512,
  maxRolloutTokens: 4096,
  logprobs: true,
  probeServer: true,
  exactUsage: true,
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

/** A sampling request before it is rendered for an endpoint: the user turn and the steps that start the assistant turn. */
export interface PromptRequest extends Omit<CompletionRequest, 'model' | 'prompt' | 'messages'> {
  readonly user: string;
  readonly steps: readonly string[];
}

/** What the policy has learned about the server (for logs, tests and benchmarks). */
export interface ServerTraits {
  /** Largest `n` per request (Infinity until known). */
  readonly nCap: number;
  /** The server's `usage` covers one choice of an `n`-request. */
  readonly usageOneChoice: boolean;
}

/** An LLM {@link Policy} with its transport state exposed for monitoring. */
export interface OpenAiPolicy extends Policy {
  /** Usage of one problem since the last take, then forgotten (per-problem accounting in the tree). */
  takeUsage(problemId: string): PolicyUsage;
  readonly limiter: InFlightLimiter;
  readonly breaker: CircuitBreaker;
  /**
   * One sampling request through the same retries, breaker, in-flight bound and `n` splitting,
   * its usage accounted to `accountTo` (judges and rewriters of the linearizer use it).
   */
  completeRaw(accountTo: string, request: PromptRequest): Promise<CompletionResponse>;
  /** The configured prompt template and end-of-turn stops, for callers building their own prompts. */
  readonly template: string;
  readonly endStops: readonly string[];
  traits(): ServerTraits;
}

type MutableUsage = { promptTokens: number; completionTokens: number; calls: number; versions?: string[] };

// Label objects of the request histograms, built once (requests are a hot path of LLM searches).
const PROMPT_TOKENS = { kind: 'prompt' } as const;
const COMPLETION_TOKENS = { kind: 'completion' } as const;
const REQUEST_OK = { outcome: 'ok' } as const;
const REQUEST_FAILED = { outcome: 'failed' } as const;

/**
 * A Policy over any OpenAI-compatible server (vLLM, SGLang, llama.cpp, hosted), on
 * `/v1/completions` or `/v1/chat/completions`. One sampling request per state: `n = k` step
 * samples with `stop` at the step delimiter, or `n = M` rollouts to the end of the answer; the
 * states of one call go out concurrently. A server that caps `n` (a 400 saying so, `/props`, or
 * fewer choices than asked) gets the rest in further requests. Every HTTP attempt passes the
 * circuit breaker and the global in-flight bound. Failures of a request (5xx, timeouts, truncated
 * bodies, `choices: []`) are retried with backoff and jitter up to `retry.attempts`; an
 * unavailable server (refused, reset, 502–504, 429) costs no attempts: the breaker holds every
 * request until it is back, for up to `breaker.outageMs`. A `Retry-After` (seconds or HTTP-date)
 * on such an answer is honoured: no request goes out before it has passed, capped at
 * `retry.maxDelayMs` and never past the outage limit. A request that gives up fails the search
 * with a non-retriable `policy` error naming the cause (the retries already happened here: the
 * stage sends the problem to the DLQ instead of redoing the search).
 * Priors: each step's length-normalized log-probability (softmax over siblings in the search).
 */
export function createOpenAiPolicy(config: OpenAiPolicyConfig, deps: OpenAiPolicyDeps): OpenAiPolicy {
  const metrics = deps.metrics ?? noopMetrics;
  const client = deps.client ?? createCompletionsClient({ baseUrl: config.baseUrl, ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }), timeoutMs: config.timeoutMs, maxSockets: config.maxInFlight }, { clock: deps.clock });
  const limiter = createInFlightLimiter(config.maxInFlight);
  const breaker = createCircuitBreaker(config.breaker, { clock: deps.clock, sleep: deps.sleep });
  const total: MutableUsage = { promptTokens: 0, completionTokens: 0, calls: 0 };
  const perProblem = new Map<string, MutableUsage>();
  let nCap = config.maxN ?? Number.POSITIVE_INFINITY;
  let usageOneChoice = false;

  const learnCap = (cap: number, why: string): void => {
    if (cap >= nCap) return;
    nCap = cap;
    deps.logger?.info(`policy: the server takes at most n = ${cap} per request (${why}); larger n is split`);
  };
  const learnUsageOneChoice = (why: string): void => {
    if (usageOneChoice) return;
    usageOneChoice = true;
    deps.logger?.info(`policy: the server reports usage for one choice of an n-request (${why})${config.exactUsage ? '; one choice per request from now on' : '; counting tokens from log-probabilities'}`);
  };

  // llama.cpp's /props: total_slots bounds n; its usage of an n-request is the first choice's
  // (server-context.cpp keeps arr[0]'s usage when it merges the choices).
  const probed: Promise<void> = !config.probeServer || client.getJson === undefined
    ? Promise.resolve()
    : client.getJson('/props').then((props) => {
        const slots = (props as { total_slots?: unknown } | undefined)?.total_slots;
        if (typeof slots !== 'number' || !Number.isInteger(slots) || slots < 1) return;
        learnCap(slots, `llama.cpp /props: total_slots ${slots}`);
        learnUsageOneChoice('llama.cpp');
        // More in flight than twice the slots only queues in the server (and times out there)
        // without adding throughput: the slots are full and one batch of work waits behind them.
        const bound = Math.min(config.maxInFlight, IN_FLIGHT_PER_SLOT * slots);
        if (bound < limiter.max()) {
          limiter.resize(bound);
          deps.logger?.info(`policy: at most ${bound} requests in flight (${IN_FLIGHT_PER_SLOT} per slot of the server)`);
        }
      });

  const account = (problemId: string, body: CompletionRequest, response: CompletionResponse): void => {
    const prompt = response.usage?.prompt_tokens ?? 0;
    const reported = response.usage?.completion_tokens;
    const counted = countedCompletionTokens(response);
    if (body.n > 1 && reported !== undefined && counted !== undefined && reported < counted) {
      learnUsageOneChoice(`usage.completion_tokens ${reported} < ${counted} tokens returned in ${response.choices.length} choices`);
    }
    const completion = reported === undefined || (counted !== undefined && counted > reported) ? (counted ?? 0) : reported;
    const u = perProblem.get(problemId) ?? { promptTokens: 0, completionTokens: 0, calls: 0 };
    for (const target of [u, total]) {
      target.promptTokens += prompt;
      target.completionTokens += completion;
      target.calls += 1;
    }
    if (config.recordAnsweringModel === true && response.model !== undefined) {
      u.versions ??= [];
      if (!u.versions.includes(response.model)) u.versions.push(response.model);
    }
    perProblem.set(problemId, u);
    metrics.increment('policy.prompt_tokens', prompt);
    metrics.increment('policy.completion_tokens', completion);
    metrics.observe('policy.request_tokens', prompt, PROMPT_TOKENS);
    metrics.observe('policy.request_tokens', completion, COMPLETION_TOKENS);
  };

  /** The server's Retry-After (ms), capped at the retry backoff's longest delay; undefined when it sent none. */
  const retryAfterOf = (e: AppError): number | undefined => (e instanceof ServerUnavailableError && e.retryAfterMs !== undefined ? Math.min(e.retryAfterMs, config.retry.maxDelayMs) : undefined);

  const attemptOnce = (body: CompletionRequest): Promise<CompletionResponse> =>
    limiter.run(async () => {
      await breaker.admit();
      metrics.increment('policy.requests');
      const started = performance.now();
      let response: CompletionResponse;
      try {
        response = await client.complete(body);
      } catch (error) {
        const e = toAppError(error, 'policy');
        // Backend trouble counts against the breaker; a 400 for one prompt means the server is up.
        // A Retry-After pause holds every request, not only this one (within the backoff cap).
        if (e.retriable) breaker.failure(retryAfterOf(e));
        else breaker.success();
        metrics.increment('policy.request_failures');
        metrics.observe('policy.request_ms', performance.now() - started, REQUEST_FAILED);
        throw e;
      }
      metrics.observe('policy.request_ms', performance.now() - started, REQUEST_OK);
      breaker.success();
      if (response.choices.length === 0) {
        metrics.increment('policy.request_failures');
        throw new AppError('policy', `the server returned no choices (choices: []) for n = ${body.n}`, { retriable: true });
      }
      return response;
    });

  /** One HTTP request with its retries; attempts are spent on request failures, not on outages. */
  const call = async (problemId: string, body: CompletionRequest): Promise<CompletionResponse> => {
    let attempts = 0;
    let waits = 0;
    for (;;) {
      try {
        const response = await attemptOnce(body);
        account(problemId, body, response);
        return response;
      } catch (error) {
        if (isProgrammerError(error)) throw error;
        const e = toAppError(error, 'policy');
        const cap = e instanceof HttpStatusError && e.status === 400 && body.n > 1 ? nCapFromError(e.body) : undefined;
        if (cap !== undefined && cap < body.n) {
          learnCap(cap, `HTTP 400: ${e.message}`);
          throw new NCapLowered();
        }
        const outage = e instanceof ServerUnavailableError;
        if (!outage) attempts += 1;
        // An outage past its limit ends this request too (it may have been the probe, which the breaker always lets through).
        const downMs = breaker.failingForMs();
        const outageOver = outage && downMs >= config.breaker.outageMs;
        if (!e.retriable || attempts >= config.retry.attempts || outageOver) {
          metrics.increment('policy.calls_failed');
          const gaveUp = outageOver ? ` (server unavailable for ${downMs} ms; the outage limit is ${config.breaker.outageMs} ms, --outage-ms)` : e.retriable && attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
          throw new AppError('policy', `completion request failed: ${e.message}${gaveUp}`, { retriable: false, cause: e });
        }
        // Outage retries back off up to the breaker's cooldown, which then paces the probes; a
        // Retry-After is waited out (capped like any backoff, and never past the outage limit).
        const backoff = outage ? Math.min(backoffDelayMs(config.retry, ++waits, deps.random), config.breaker.cooldownMs) : backoffDelayMs(config.retry, attempts, deps.random);
        const asked = retryAfterOf(e);
        const delay = asked === undefined ? backoff : Math.max(backoff, Math.min(asked, Math.max(0, config.breaker.outageMs - downMs)));
        if (asked !== undefined) metrics.increment('policy.retry_after_waits');
        metrics.increment(outage ? 'policy.outage_retries' : 'policy.retries');
        deps.logger?.warn(outage ? `policy: server unavailable, retry in ${delay} ms` : `policy: retry ${attempts} in ${delay} ms`, { kind: e.kind, reason: e.message });
        await deps.sleep(delay);
      }
    }
  };

  /** `n` choices for one prompt, in as many requests as the server's cap needs; usage merged. */
  const sample = async (problemId: string, body: CompletionRequest): Promise<CompletionResponse> => {
    await probed;
    const cap = usageOneChoice && config.exactUsage ? 1 : nCap;
    if (body.n > cap) {
      const parts = await Promise.all(splitN(body.n, cap).map((n, i) => sample(problemId, { ...body, n, ...withSeed(partSeed(body.seed, i)) })));
      return merge(parts);
    }
    let response: CompletionResponse;
    try {
      response = await call(problemId, body);
    } catch (error) {
      if (error instanceof NCapLowered) return sample(problemId, body);
      throw error;
    }
    const got = response.choices.length;
    if (got >= body.n) return response;
    // Fewer choices than asked and no error: the server caps n silently (or ignores it); ask for the rest.
    learnCap(got, `asked for n = ${body.n}, got ${got} choices`);
    const rest = await sample(problemId, { ...body, n: body.n - got, ...withSeed(deriveSeed(body.seed ?? 0, 'rest', got)) });
    return merge([response, rest]);
  };

  const render = (request: PromptRequest): CompletionRequest => {
    const { user, steps, ...sampling } = request;
    if (config.endpoint === 'completions') return { model: config.model, prompt: renderPrompt(config.template, user, steps), ...sampling };
    const messages: ChatMessage[] = [{ role: 'user', content: user }];
    if (steps.length > 0) messages.push({ role: 'assistant', content: steps.map((s) => `${s}${STEP_DELIMITER}`).join('') });
    return { model: config.model, messages, ...sampling };
  };

  const request = (state: SearchState, n: number, opts: SampleOptions, seed: number, step: boolean): PromptRequest => ({
    user: deps.promptOf(state.problem),
    steps: state.steps,
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
    traits: () => ({ nCap, usageOneChoice }),
    completeRaw: (accountTo, req) => sample(accountTo, render(req)),

    proposeSteps(states: readonly SearchState[], n: number, opts: SampleOptions): Promise<StepProposal[][]> {
      return Promise.all(
        states.map(async (state, index) => {
          if (n <= 0) return [];
          const response = await sample(state.problem.id, render(request(state, n, opts, deriveSeed(opts.seed, index), true)));
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
          const response = await sample(state.problem.id, render(request(state, n, opts, deriveSeed(opts.seed, index, 'rollout'), false)));
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

/** Requests in flight per server slot once the slots are known: the slots busy and as many waiting. */
const IN_FLIGHT_PER_SLOT = 2;

/** Thrown by one request when a 400 taught a smaller `n` cap: the caller splits and asks again. */
class NCapLowered extends Error {}

function withSeed(seed: number | undefined): { seed?: number } {
  return seed === undefined ? {} : { seed };
}

/** The choices of several responses as one (usage was already accounted per response). */
function merge(parts: readonly CompletionResponse[]): CompletionResponse {
  const choices: CompletionChoice[] = parts.flatMap((p) => p.choices).map((c, index) => ({ ...c, index }));
  const usage = parts.reduce((u, p) => ({ prompt_tokens: u.prompt_tokens + (p.usage?.prompt_tokens ?? 0), completion_tokens: u.completion_tokens + (p.usage?.completion_tokens ?? 0) }), { prompt_tokens: 0, completion_tokens: 0 });
  return { ...(parts[0]?.model === undefined ? {} : { model: parts[0].model }), choices, usage };
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
