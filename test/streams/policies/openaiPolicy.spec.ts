import { describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { computePriors } from '../../../operators/mcts/candidates.js';
import { STEP_DELIMITER } from '../../../operators/mcts/policy.js';
import type { Problem } from '../../../schemas/problem.js';
import {
  createCircuitBreaker,
  createLlmJudge,
  createLlmRewriter,
  createInFlightLimiter,
  createOpenAiPolicy,
  DEFAULT_OPENAI_POLICY_CONFIG,
  lengthNormalizedLogprob,
  LLAMA3_TEMPLATE,
  renderPrompt,
  toRollout,
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
  retry: { attempts: 3, initialDelayMs: 10, factor: 2, jitter: 0.2, maxDelayMs: 1000 },
  breaker: { failureThreshold: 100, cooldownMs: 0, outageMs: 60_000 },
};

/** A scripted client: answers each request with the next outcome (a response or an error). */
function scriptedClient(outcomes: ((body: CompletionRequest) => CompletionResponse | AppError)[], onCall?: (body: CompletionRequest) => Promise<void>): CompletionsClient & { bodies: CompletionRequest[] } {
  const bodies: CompletionRequest[] = [];
  return {
    bodies,
    async complete(body) {
      bodies.push(body);
      await onCall?.(body);
      const next = outcomes[Math.min(bodies.length - 1, outcomes.length - 1)];
      if (next === undefined) throw new Error('no outcome');
      const out = next(body);
      if (out instanceof AppError) throw out;
      return out;
    },
    close: () => undefined,
  };
}

const choices = (texts: readonly string[], logprobs?: readonly number[][]): CompletionResponse => ({
  choices: texts.map((text, i) => ({ index: i, text, finish_reason: 'stop', ...(logprobs ? { logprobs: { token_logprobs: [...(logprobs[i] ?? [])] } } : {}) })),
  usage: { prompt_tokens: 10, completion_tokens: 5 },
});

const baseDeps = (client: CompletionsClient, sleeps: number[] = [], metrics = new InMemoryMetrics()) => ({
  promptOf: (p: Problem) => `Solve: ${p.question}`,
  clock: () => 0,
  sleep: async (ms: number) => {
    sleeps.push(ms);
  },
  random: () => 0.5,
  metrics,
  client,
});

describe('prompt template', () => {
  it('renders the Llama-3 chat prompt with steps in the assistant turn, each followed by the delimiter', () => {
    const text = renderPrompt(LLAMA3_TEMPLATE, 'Q?', ['## Step 1: a', '## Step 2: b']);
    expect(text).toBe('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nQ?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n## Step 1: a\n\n## Step 2: b\n\n');
    expect(renderPrompt('P: {{prompt}}\n', 'x', ['s'])).toBe('P: x\ns\n\n');
  });
});

describe('priors from logprobs', () => {
  it('length-normalizes: the mean token logprob, skipping nulls', () => {
    expect(lengthNormalizedLogprob({ token_logprobs: [null, -1, -3] })).toBe(-2);
    expect(lengthNormalizedLogprob({ token_logprobs: [] })).toBeUndefined();
    expect(lengthNormalizedLogprob(null)).toBeUndefined();
  });

  it('a long likely step and a short likely step get the same prior; priors sum to 1 over siblings', async () => {
    const client = scriptedClient([() => choices(['long step', 'short', 'unlikely'], [[-0.1, -0.1, -0.1, -0.1], [-0.1], [-2]])]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    const [proposals = []] = await policy.proposeSteps([{ problem, steps: [] }], 3, { seed: 1, temperature: 1, topP: 0.95 });
    const priors = computePriors(proposals);
    expect(priors[0]).toBeCloseTo(priors[1] ?? 0, 12);
    expect(priors[2]).toBeLessThan(priors[0] ?? 0);
    expect(priors.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('without logprobs the search falls back to uniform priors', async () => {
    const client = scriptedClient([() => choices(['a', 'b'])]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    const [proposals = []] = await policy.proposeSteps([{ problem, steps: [] }], 2, { seed: 1, temperature: 1, topP: 0.95 });
    expect(computePriors(proposals)).toEqual([0.5, 0.5]);
  });
});

describe('requests', () => {
  it('asks for k steps in one request with n, stop at the step delimiter, logprobs, seed, temperature, top_p', async () => {
    const client = scriptedClient([() => choices(['## Step 2: x  '])]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    const [[p] = []] = await policy.proposeSteps([{ problem, steps: ['## Step 1: y'] }], 8, { seed: 42, temperature: 0.7, topP: 0.9 });
    expect(p?.text).toBe('## Step 2: x');
    const body = client.bodies[0];
    expect(body).toMatchObject({ model: 'm', n: 8, temperature: 0.7, top_p: 0.9, logprobs: 1, max_tokens: config.maxStepTokens });
    expect(body?.stop).toContain(STEP_DELIMITER);
    expect(typeof body?.seed).toBe('number');
    expect(body?.prompt?.endsWith('## Step 1: y\n\n')).toBe(true);
  });

  it('asks for M rollouts in one request per state, without the step stop; cuts at the first answer', async () => {
    const client = scriptedClient([(b) => choices(Array.from({ length: b.n }, (_, i) => (i === 0 ? 'a\n\nb \\boxed{2}\n\nextra' : 'a\n\nb')))]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    const out = await policy.rollout([{ problem, steps: [] }, { problem, steps: ['s'] }], 4, { seed: 1, temperature: 1, topP: 1 });
    expect(client.bodies).toHaveLength(2);
    expect(client.bodies.every((b) => b.n === 4 && !(b.stop ?? []).includes(STEP_DELIMITER))).toBe(true);
    expect(out[0]?.[0]).toEqual({ text: 'a\n\nb \\boxed{2}', truncated: false });
    expect(out[0]?.[1]?.truncated).toBe(false);
  });

  it('marks rollouts cut by length or by the step cap as truncated', () => {
    expect(toRollout('a\n\nb', 'length')).toEqual({ text: 'a\n\nb', truncated: true });
    expect(toRollout('a\n\nb\n\nc \\boxed{1}', 'stop', 2)).toEqual({ text: 'a\n\nb', truncated: true });
    expect(toRollout('a \\boxed{1}', 'stop', 2)).toEqual({ text: 'a \\boxed{1}', truncated: false });
  });
});

describe('retries, breaker, in-flight bound, accounting', () => {
  it('retries retriable failures with growing backoff, then succeeds', async () => {
    const sleeps: number[] = [];
    const metrics = new InMemoryMetrics();
    const client = scriptedClient([() => new AppError('policy', 'HTTP 500', { retriable: true }), () => new AppError('timeout', 'slow', { retriable: true }), () => choices(['ok'])]);
    const policy = createOpenAiPolicy(config, baseDeps(client, sleeps, metrics));
    const out = await policy.proposeSteps([{ problem, steps: [] }], 1, { seed: 1, temperature: 1, topP: 1 });
    expect(out[0]?.[0]?.text).toBe('ok');
    expect(sleeps).toEqual([10, 20]);
    expect(metrics.counter('policy.retries')).toBe(2);
    expect(metrics.counter('policy.requests')).toBe(3);
  });

  it('gives up after the configured attempts with a non-retriable policy error naming the cause', async () => {
    const client = scriptedClient([() => new AppError('policy', 'HTTP 500 injected', { retriable: true })]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    const error = await policy.proposeSteps([{ problem, steps: [] }], 1, { seed: 1, temperature: 1, topP: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).kind).toBe('policy');
    expect((error as AppError).retriable).toBe(false);
    expect((error as AppError).message).toMatch(/HTTP 500 injected.*gave up after 3 attempts/);
    expect(client.bodies).toHaveLength(3);
  });

  it('does not retry a non-retriable failure (400)', async () => {
    const client = scriptedClient([() => new AppError('policy', 'HTTP 400 bad prompt')]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    await expect(policy.rollout([{ problem, steps: [] }], 1, { seed: 1, temperature: 1, topP: 1 })).rejects.toThrow(/HTTP 400/);
    expect(client.bodies).toHaveLength(1);
  });

  it('opens the circuit after consecutive failures, holds callers while open, lets one probe through, closes after a good probe', async () => {
    let now = 0;
    const breaker = createCircuitBreaker({ failureThreshold: 2, cooldownMs: 100, outageMs: 10_000 }, { clock: () => now, sleep: async (ms) => void (now += ms) });
    breaker.failure();
    expect(breaker.state()).toBe('closed');
    await breaker.admit(); // closed: at once
    breaker.failure();
    expect(breaker.state()).toBe('open');
    await breaker.admit(); // waits out the cooldown (the fake sleep moves the clock), then is the probe
    expect(now).toBe(100);
    expect(breaker.state()).toBe('half-open');
    let second = false;
    const waiting = breaker.admit().then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false); // only one probe at a time
    breaker.failure(); // the probe failed: open again, the waiter waits for the next probe
    await waiting;
    expect(now).toBeGreaterThanOrEqual(200);
    breaker.success();
    expect(breaker.state()).toBe('closed');
    expect(breaker.opened()).toBe(2);
    expect(breaker.failingForMs()).toBe(0);
  });

  it('gives up holding callers once the server has been failing for outageMs, naming how long', async () => {
    let now = 0;
    const breaker = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 100, outageMs: 1_000 }, { clock: () => now, sleep: async (ms) => void (now += ms) });
    breaker.failure();
    for (let probes = 0; probes < 20; probes++) {
      const admitted = await breaker.admit().then(() => true, (e: unknown) => e);
      if (admitted !== true) {
        expect(admitted).toBeInstanceOf(AppError);
        expect((admitted as AppError).retriable).toBe(false);
        expect((admitted as AppError).message).toMatch(/server unavailable for 1\d{3} ms .*outage limit is 1000 ms/);
        return;
      }
      breaker.failure(); // every probe fails
    }
    throw new Error('the breaker never gave up');
  });

  it('bounds requests in flight globally, across states and calls', async () => {
    let active = 0;
    let peak = 0;
    const client = scriptedClient([(b) => choices(Array.from({ length: b.n }, () => 'x'))], async () => {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active -= 1;
    });
    const policy = createOpenAiPolicy({ ...config, maxInFlight: 3 }, baseDeps(client));
    const states = Array.from({ length: 5 }, (_, i) => ({ problem, steps: [`s${i}`] }));
    await Promise.all([policy.proposeSteps(states, 2, { seed: 1, temperature: 1, topP: 1 }), policy.rollout(states, 2, { seed: 2, temperature: 1, topP: 1 })]);
    expect(client.bodies).toHaveLength(10);
    expect(peak).toBe(3);
    expect(policy.limiter.peak()).toBe(3);
  });

  it('a limiter can be resized: lower takes effect as requests finish, higher at once', async () => {
    const limiter = createInFlightLimiter(4);
    const gates: (() => void)[] = [];
    const job = () => limiter.run(() => new Promise<void>((resolve) => gates.push(resolve)));
    const all = Array.from({ length: 8 }, () => job());
    await Promise.resolve();
    expect(limiter.inFlight()).toBe(4);
    limiter.resize(2);
    gates.shift()?.();
    gates.shift()?.();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(limiter.inFlight()).toBe(2);
    limiter.resize(5);
    expect(limiter.inFlight()).toBe(5);
    while (gates.length > 0) {
      gates.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await Promise.all(all);
    expect(limiter.inFlight()).toBe(0);
  });

  it('a limiter hands slots out first come, first served', async () => {
    const limiter = createInFlightLimiter(1);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => limiter.run(async () => void order.push(i))));
    expect(order).toEqual([1, 2, 3]);
  });

  it('accounts tokens and requests per problem (taken once) and in total', async () => {
    const client = scriptedClient([() => choices(['x'])]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    const other: Problem = { ...problem, id: 'p2' };
    await policy.proposeSteps([{ problem, steps: [] }, { problem: other, steps: [] }, { problem, steps: ['a'] }], 1, { seed: 1, temperature: 1, topP: 1 });
    expect(policy.takeUsage('p1')).toEqual({ promptTokens: 20, completionTokens: 10, calls: 2 });
    expect(policy.takeUsage('p1')).toEqual({ promptTokens: 0, completionTokens: 0, calls: 0 });
    expect(policy.usage()).toEqual({ promptTokens: 30, completionTokens: 15, calls: 3 });
    expect(policy.version).toBe('openai@m');
  });
});

describe('the answering model', () => {
  it('with recordAnsweringModel, takeUsage names per problem each model that answered, in order; without it, none', async () => {
    let model = 'a@v1';
    const client = scriptedClient([() => ({ ...choices(['x']), model })]);
    const policy = createOpenAiPolicy({ ...config, recordAnsweringModel: true }, baseDeps(client));
    const other: Problem = { ...problem, id: 'p2' };
    await policy.proposeSteps([{ problem, steps: [] }, { problem: other, steps: [] }], 1, { seed: 1, temperature: 1, topP: 1 });
    model = 'a@v2';
    await policy.proposeSteps([{ problem, steps: ['s'] }], 1, { seed: 1, temperature: 1, topP: 1 });
    await policy.rollout([{ problem, steps: ['s'] }], 1, { seed: 1, temperature: 1, topP: 1 });
    expect(policy.takeUsage('p1').versions).toEqual(['a@v1', 'a@v2']);
    expect(policy.takeUsage('p2').versions).toEqual(['a@v1']);
    expect(policy.takeUsage('p1').versions).toBeUndefined();
    const plain = createOpenAiPolicy(config, baseDeps(scriptedClient([() => ({ ...choices(['x']), model: 'a@v1' })])));
    await plain.proposeSteps([{ problem, steps: [] }], 1, { seed: 1, temperature: 1, topP: 1 });
    expect(plain.takeUsage('p1').versions).toBeUndefined();
  });
});

describe('LLM judge and rewriter over the same client', () => {
  it('judge: one request with n = N, short answers, "yes" approves', async () => {
    const client = scriptedClient([() => choices([' Yes', 'No.', 'yes, it is', 'Maybe'])]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    const judgments = await createLlmJudge(policy, (p) => p.question).judge(problem, '## Step 1: 1+1 = \\boxed{2}', 4, 7);
    expect(judgments).toEqual([true, false, true, false]);
    expect(client.bodies[0]).toMatchObject({ n: 4, seed: 7, max_tokens: 4 });
    expect(client.bodies[0]?.prompt).toContain('Is this solution correct');
    expect(client.bodies[0]?.prompt).toContain('## Step 1: 1+1');
  });

  it('rewriter: one sample that stops at a blank line', async () => {
    const client = scriptedClient([() => choices(['Next, we add.'])]);
    const policy = createOpenAiPolicy(config, baseDeps(client));
    expect(await createLlmRewriter(policy).complete('Rewrite this', 3)).toBe('Next, we add.');
    expect(client.bodies[0]).toMatchObject({ n: 1, seed: 3 });
    expect(client.bodies[0]?.stop).toContain(STEP_DELIMITER);
  });
});
