import { describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { computePriors } from '../../../operators/mcts/candidates.js';
import { STEP_DELIMITER } from '../../../operators/mcts/policy.js';
import type { Problem } from '../../../schemas/problem.js';
import {
  countedCompletionTokens,
  createOpenAiPolicy,
  DEFAULT_OPENAI_POLICY_CONFIG,
  HttpStatusError,
  nCapFromError,
  parseCompletionResponse,
  promptFamilyOf,
  PROMPT_FAMILIES,
  renderPrompt,
  ServerUnavailableError,
  splitN,
  type CompletionRequest,
  type CompletionResponse,
  type CompletionsClient,
  type OpenAiPolicyConfig,
} from '../../../streams/policies/openai/index.js';

const problem: Problem = { id: 'p1', domain: 'math', source: 't', question: 'What is 1+1?', answer: '2' };
const config: OpenAiPolicyConfig = {
  ...DEFAULT_OPENAI_POLICY_CONFIG,
  baseUrl: 'http://unused/v1',
  model: 'm',
  retry: { attempts: 3, initialDelayMs: 10, factor: 2, jitter: 0, maxDelayMs: 1000 },
  breaker: { failureThreshold: 3, cooldownMs: 100, outageMs: 5_000 },
};
const opts = { seed: 1, temperature: 1, topP: 1 };

/** A fake clock that sleeping moves forward, so outage tests run in no real time. */
function fakeTime() {
  let now = 0;
  return { clock: () => now, sleep: async (ms: number) => void (now += ms), now: () => now };
}

/** A server stand-in that answers each request with `respond` (a response, or an error to throw). */
function client(respond: (body: CompletionRequest, call: number) => CompletionResponse | AppError, props?: unknown): CompletionsClient & { bodies: CompletionRequest[] } {
  const bodies: CompletionRequest[] = [];
  return {
    bodies,
    complete: async (body) => {
      bodies.push(body);
      const out = respond(body, bodies.length);
      if (out instanceof AppError) throw out;
      return out;
    },
    ...(props === undefined ? {} : { getJson: async (path: string) => (path === '/props' ? props : undefined) }),
    close: () => undefined,
  };
}

/** llama.cpp's shape: chat-style logprobs on /v1/completions, usage of the first choice only. */
function llamaCppResponse(body: CompletionRequest, tokensPerChoice = 3): CompletionResponse {
  const parsed = parseCompletionResponse({
    choices: Array.from({ length: body.n }, (_, i) => ({
      index: i,
      text: `step ${i}`,
      finish_reason: 'stop',
      logprobs: { content: Array.from({ length: tokensPerChoice }, (_, t) => ({ token: `t${t}`, logprob: -0.1 * (i + 1), bytes: [116], top_logprobs: [] })) },
    })),
    usage: { prompt_tokens: 20, completion_tokens: tokensPerChoice },
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

const deps = (c: CompletionsClient, time = fakeTime(), metrics = new InMemoryMetrics()) => ({ promptOf: (p: Problem) => p.question, clock: time.clock, sleep: time.sleep, random: () => 0.5, metrics, client: c });

describe('response layouts', () => {
  it('reads legacy {tokens, token_logprobs} and chat-style {content: [{token, logprob}]} the same way', () => {
    const legacy = parseCompletionResponse({ choices: [{ text: 'a', logprobs: { tokens: ['x', 'y'], token_logprobs: [-1, -2] } }] });
    const chatStyle = parseCompletionResponse({ choices: [{ text: 'a', logprobs: { content: [{ token: 'x', logprob: -1, bytes: [120], top_logprobs: [] }, { token: 'y', logprob: -2 }] } }] });
    expect(legacy.ok && chatStyle.ok).toBe(true);
    if (!legacy.ok || !chatStyle.ok) return;
    expect(chatStyle.value.choices[0]?.logprobs).toEqual(legacy.value.choices[0]?.logprobs);
    expect(countedCompletionTokens(chatStyle.value)).toBe(2);
  });

  it('reads chat completions: message.content is the text, null content is an empty text', () => {
    const r = parseCompletionResponse({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }, { index: 1, message: { role: 'assistant', content: null }, finish_reason: 'length' }] });
    expect(r.ok && r.value.choices.map((c) => c.text)).toEqual(['hi', '']);
  });

  it('names the bad field of a body of the wrong shape', () => {
    const r = parseCompletionResponse({ choices: [{ index: 0 }] });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/choices\.0/);
  });
});

describe('priors from a llama.cpp-style server', () => {
  it('takes priors from chat-style log-probabilities (not uniform)', async () => {
    const c = client((b) => llamaCppResponse(b));
    const policy = createOpenAiPolicy({ ...config, probeServer: false, exactUsage: false }, deps(c));
    const [proposals = []] = await policy.proposeSteps([{ problem, steps: [] }], 3, opts);
    expect(proposals.map((p) => p.logprob)).toEqual([expect.closeTo(-0.1, 12), expect.closeTo(-0.2, 12), expect.closeTo(-0.3, 12)]);
    const priors = computePriors(proposals);
    expect(priors[0]).toBeGreaterThan(priors[2] ?? 1);
  });
});

describe('n above what the server takes', () => {
  it('learns the cap from llama.cpp\'s 400 and splits, with distinct seeds, instead of failing', async () => {
    const metrics = new InMemoryMetrics();
    const c = client((b) => (b.n > 2 ? new HttpStatusError(400, 'http://x/v1/completions', `{"error":{"code":400,"message":"Field 'n': Value must be between 1 <= value <= 2, but got ${b.n}","type":"invalid_request_error"}}`) : llamaCppResponse(b)));
    const policy = createOpenAiPolicy({ ...config, probeServer: false, exactUsage: false }, deps(c, fakeTime(), metrics));
    const [proposals = []] = await policy.proposeSteps([{ problem, steps: [] }], 5, opts);
    expect(proposals).toHaveLength(5);
    expect(policy.traits().nCap).toBe(2);
    const sent = c.bodies.filter((b) => b.n <= 2);
    expect(sent.map((b) => b.n).sort()).toEqual([1, 2, 2]);
    expect(new Set(sent.map((b) => b.seed)).size).toBe(3);
    // The refused request cost no attempt and no retry; later requests are split from the start.
    expect(metrics.counter('policy.retries')).toBe(0);
    await policy.proposeSteps([{ problem, steps: ['s'] }], 4, opts);
    expect(c.bodies.slice(4).map((b) => b.n)).toEqual([2, 2]);
  });

  it('takes the cap from llama.cpp /props (total_slots) before the first request', async () => {
    const c = client((b) => llamaCppResponse(b), { total_slots: 4, build_info: 'b1' });
    const policy = createOpenAiPolicy({ ...config, exactUsage: false }, deps(c));
    await policy.rollout([{ problem, steps: [] }], 10, opts);
    expect(c.bodies.map((b) => b.n)).toEqual([4, 4, 2]);
    // Two requests per slot in flight: the slots busy and as many waiting, no deeper queue in the server.
    expect(policy.limiter.max()).toBe(8);
  });

  it('asks for the rest when a server silently returns fewer choices than n', async () => {
    const c = client((b) => llamaCppResponse({ ...b, n: 1 }));
    const policy = createOpenAiPolicy({ ...config, probeServer: false }, deps(c));
    const [rollouts = []] = await policy.rollout([{ problem, steps: [] }], 3, opts);
    expect(rollouts).toHaveLength(3);
    expect(c.bodies.map((b) => b.n)).toEqual([3, 1, 1]);
  });

  it('splitN and nCapFromError', () => {
    expect(splitN(16, 6)).toEqual([6, 6, 4]);
    expect(splitN(3, Number.POSITIVE_INFINITY)).toEqual([3]);
    expect(nCapFromError(`Field 'n': Value must be between 1 <= value <= 2, but got 8`)).toBe(2);
    expect(nCapFromError('n must be at most 4')).toBe(4);
    expect(nCapFromError('prompt is too long')).toBeUndefined();
  });
});

describe('token usage', () => {
  it('counts returned tokens when the server reports one choice\'s usage, and says so', async () => {
    const c = client((b) => llamaCppResponse(b, 4));
    const logs: string[] = [];
    const policy = createOpenAiPolicy({ ...config, probeServer: false, exactUsage: false }, { ...deps(c), logger: { info: (m) => logs.push(m), warn: () => undefined, error: () => undefined } });
    await policy.proposeSteps([{ problem, steps: [] }], 3, opts);
    expect(policy.takeUsage('p1').completionTokens).toBe(12);
    expect(policy.traits().usageOneChoice).toBe(true);
    expect(logs.join('\n')).toMatch(/usage for one choice/);
  });

  it('with exactUsage, a llama.cpp server gets one choice per request, and usage is the sum of what it reports', async () => {
    const c = client((b) => llamaCppResponse(b, 4), { total_slots: 16 });
    const policy = createOpenAiPolicy(config, deps(c));
    await policy.rollout([{ problem, steps: [] }], 3, opts);
    expect(c.bodies.map((b) => b.n)).toEqual([1, 1, 1]);
    expect(policy.takeUsage('p1')).toEqual({ promptTokens: 60, completionTokens: 12, calls: 3 });
  });

  it('a server whose usage covers every choice is believed', async () => {
    const c = client((b) => ({ choices: Array.from({ length: b.n }, () => ({ text: 'x', logprobs: { token_logprobs: [-1] } })), usage: { prompt_tokens: 5, completion_tokens: 7 * b.n } }));
    const policy = createOpenAiPolicy({ ...config, probeServer: false }, deps(c));
    await policy.proposeSteps([{ problem, steps: [] }], 3, opts);
    expect(policy.takeUsage('p1').completionTokens).toBe(21);
    expect(policy.traits().usageOneChoice).toBe(false);
  });
});

describe('choices: []', () => {
  it('is retried, and once attempts run out the problem fails with the reason', async () => {
    const metrics = new InMemoryMetrics();
    const c = client(() => ({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 0 } }));
    const policy = createOpenAiPolicy({ ...config, probeServer: false }, deps(c, fakeTime(), metrics));
    const error = await policy.proposeSteps([{ problem, steps: [] }], 2, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).retriable).toBe(false);
    expect((error as AppError).message).toMatch(/no choices \(choices: \[\]\).*gave up after 3 attempts/);
    expect(c.bodies).toHaveLength(3);
    expect(metrics.counter('policy.retries')).toBe(2);
  });

  it('a retry that gets choices succeeds', async () => {
    const c = client((b, call) => (call === 1 ? { choices: [] } : llamaCppResponse(b)));
    const policy = createOpenAiPolicy({ ...config, probeServer: false, exactUsage: false }, deps(c));
    const [proposals = []] = await policy.proposeSteps([{ problem, steps: [] }], 2, opts);
    expect(proposals).toHaveLength(2);
  });
});

describe('server outages', () => {
  const down = (): AppError => new ServerUnavailableError('POST http://x/v1/completions failed: connect ECONNREFUSED');

  it('rides out an outage longer than the retry budget: no attempts used, no problem lost', async () => {
    const time = fakeTime();
    const metrics = new InMemoryMetrics();
    // Down for the first 2 s of fake time, then back.
    const c = client((b) => (time.now() < 2_000 ? down() : llamaCppResponse(b)));
    const policy = createOpenAiPolicy({ ...config, probeServer: false, exactUsage: false }, deps(c, time, metrics));
    const out = await policy.proposeSteps(Array.from({ length: 6 }, (_, i) => ({ problem, steps: [`s${i}`] })), 2, opts);
    expect(out.every((p) => p.length === 2)).toBe(true);
    expect(metrics.counter('policy.calls_failed')).toBe(0);
    expect(metrics.counter('policy.retries')).toBe(0);
    expect(metrics.counter('policy.outage_retries')).toBeGreaterThan(config.retry.attempts);
    expect(policy.breaker.opened()).toBeGreaterThanOrEqual(1);
    // While the circuit was open only probes went out: far fewer requests than one per retry per state.
    const failedRequests = c.bodies.length - 6;
    expect(failedRequests).toBeLessThan(6 * (2_000 / config.breaker.cooldownMs));
  });

  it('fails every waiting request with the outage length once --outage-ms is exceeded', async () => {
    const time = fakeTime();
    const c = client(() => down());
    const policy = createOpenAiPolicy({ ...config, probeServer: false, breaker: { ...config.breaker, outageMs: 3_000 } }, deps(c, time));
    const errors = await Promise.all([0, 1, 2].map((i) => policy.rollout([{ problem, steps: [`s${i}`] }], 1, opts).then(() => new AppError('internal', 'succeeded'), (e: unknown) => e as AppError)));
    for (const e of errors) {
      expect(e).toBeInstanceOf(AppError);
      expect(e.retriable).toBe(false);
      expect(e.message).toMatch(/server unavailable for \d+ ms/);
    }
    expect(time.now()).toBeGreaterThanOrEqual(3_000);
    expect(time.now()).toBeLessThan(3_000 + 2 * config.breaker.cooldownMs + 1_000);
  });
});

describe('chat endpoint', () => {
  it('sends the user turn and the steps so far as an assistant message to continue; same priors and rollouts', async () => {
    const c = client((b) => llamaCppResponse(b));
    const policy = createOpenAiPolicy({ ...config, endpoint: 'chat', probeServer: false, exactUsage: false }, deps(c));
    await policy.proposeSteps([{ problem, steps: ['Step 1: a'] }], 2, opts);
    await policy.rollout([{ problem, steps: [] }], 1, opts);
    const [step, rollout] = c.bodies;
    expect(step?.prompt).toBeUndefined();
    expect(step?.messages).toEqual([{ role: 'user', content: 'What is 1+1?' }, { role: 'assistant', content: `Step 1: a${STEP_DELIMITER}` }]);
    expect(step?.stop).toContain(STEP_DELIMITER);
    expect(step?.logprobs).toBe(1);
    expect(rollout?.messages).toEqual([{ role: 'user', content: 'What is 1+1?' }]);
  });
});

describe('prompt families', () => {
  it('guesses the family from the model id', () => {
    expect(promptFamilyOf('meta-llama/Llama-3.1-8B-Instruct')).toBe('llama3');
    expect(promptFamilyOf('Qwen/Qwen2.5-Math-7B-Instruct')).toBe('chatml');
    expect(promptFamilyOf('google/gemma-2-9b-it')).toBe('gemma');
    expect(promptFamilyOf('mistralai/Mistral-7B-Instruct-v0.3')).toBe('mistral');
    expect(promptFamilyOf('microsoft/Phi-3-mini-4k-instruct')).toBe('phi3');
    expect(promptFamilyOf('my-model')).toBe('llama3');
  });

  it('every family puts the steps at the start of the assistant turn', () => {
    for (const family of Object.values(PROMPT_FAMILIES)) {
      expect(renderPrompt(family.template, 'Q?', ['s1']).endsWith(`s1${STEP_DELIMITER}`)).toBe(true);
      expect(renderPrompt(family.template, 'Q?', [])).toContain('Q?');
    }
  });
});
