import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countdownPrompt, countdownTokens } from '../../../domains/countdown/index.js';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import type { Policy } from '../../../operators/mcts/policy.js';
import { createOnnxCountdownPolicy } from '../../../streams/policies/onnxPolicy.js';
import { LLAMA3_TEMPLATE, renderPrompt } from '../../../streams/policies/openai/index.js';
import { probeServerTokenizer, tokenizeUrl } from '../../../streams/policies/openai/tokenizeClient.js';
import { NO_FAILURES, parseCountdownPrompt, startPolicyServer, type RunningPolicyServer } from '../../../streams/server/index.js';

const problem = generateCountdownProblems({ count: 1, seed: 3 })[0]!;
const promptFor = (steps: readonly string[]): string => renderPrompt(LLAMA3_TEMPLATE, countdownPrompt(problem), steps);

async function post(server: RunningPolicyServer, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.baseUrl}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('serve-policy server (node:http, ONNX Countdown policy)', () => {
  let policy: Policy;
  let server: RunningPolicyServer;

  beforeAll(async () => {
    policy = await createOnnxCountdownPolicy();
    server = await startPolicyServer({ host: '127.0.0.1', port: 0, model: 'countdown-mlp', latencyMs: 0, maxConcurrency: 8, failures: NO_FAILURES }, { policy, clock: Date.now });
  });
  afterAll(async () => {
    await server.close();
    await policy.close?.();
  });

  it('parses the Countdown problem and the steps so far out of a rendered prompt', () => {
    const parsed = parseCountdownPrompt(promptFor(['Step 1: a', 'Step 2: b']));
    expect(parsed?.problem.numbers).toEqual(problem.numbers);
    expect(parsed?.problem.target).toBe(problem.target);
    expect(parsed?.steps).toEqual(['Step 1: a', 'Step 2: b']);
    expect(parseCountdownPrompt('What is 2+2?')).toBeNull();
  });

  it('tokenizes at POST /tokenize (llama.cpp and vLLM bodies) with the tokenizer its usage counts, which the probe client finds', async () => {
    const text = promptFor(['Step 1: 75 - 25 = 50. Remaining: 50, 8, 3.']);
    for (const body of [{ content: text }, { model: 'countdown-mlp', prompt: text }]) {
      const res = await fetch(server.baseUrl.replace(/\/v1$/, '/tokenize'), { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ count: countdownTokens(text).length, tokenizer: 'countdown-pretokens@1' });
    }
    const bad = await fetch(server.baseUrl.replace(/\/v1$/, '/tokenize'), { method: 'POST', body: JSON.stringify({ text }) });
    expect(bad.status).toBe(400);
    const counter = await probeServerTokenizer({ baseUrl: server.baseUrl, timeoutMs: 10_000 });
    expect(counter?.exact).toBe(true);
    expect(await counter?.count(text)).toBe(countdownTokens(text).length);
    const { json } = await post(server, { model: 'countdown-mlp', prompt: text, n: 1, stop: ['\n\n'], seed: 1 });
    expect((json.usage as { prompt_tokens: number }).prompt_tokens).toBe(countdownTokens(text).length);
  });

  it('has no server tokenizer to offer when the server has no /tokenize', async () => {
    const plain = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((done) => plain.listen(0, '127.0.0.1', done));
    try {
      const port = (plain.address() as AddressInfo).port;
      expect(await probeServerTokenizer({ baseUrl: `http://127.0.0.1:${port}/v1`, timeoutMs: 10_000 })).toBeNull();
      expect(tokenizeUrl(`http://127.0.0.1:${port}/v1`).href).toBe(`http://127.0.0.1:${port}/tokenize`);
    } finally {
      await new Promise<void>((done) => plain.close(() => done()));
    }
  });

  it('lists its model at /v1/models', async () => {
    const res = await fetch(`${server.baseUrl}/models`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ object: 'list', data: [{ id: 'countdown-mlp', object: 'model' }] });
  });

  it('samples n steps with stop=\\n\\n, with log-probabilities and usage', async () => {
    const { status, json } = await post(server, { model: 'countdown-mlp', prompt: promptFor([]), n: 5, stop: ['\n\n'], logprobs: 1, seed: 1, temperature: 1, top_p: 1, max_tokens: 64 });
    expect(status).toBe(200);
    const choices = json.choices as { text: string; finish_reason: string; logprobs: { token_logprobs: number[] } }[];
    expect(choices).toHaveLength(5);
    for (const c of choices) {
      expect(c.text).toMatch(/^Step 1: /);
      expect(c.text).not.toContain('\n\n');
      expect(c.logprobs.token_logprobs[0]).toBeLessThanOrEqual(0);
    }
    expect((json.usage as { prompt_tokens: number }).prompt_tokens).toBeGreaterThan(0);
  });

  it('plays n rollouts to an answer without the step stop; the same seed gives the same text', async () => {
    const body = { prompt: promptFor([]), n: 4, seed: 9, max_tokens: 4096 };
    const a = await post(server, body);
    const b = await post(server, body);
    const texts = (a.json.choices as { text: string }[]).map((c) => c.text);
    expect(texts).toHaveLength(4);
    expect(texts.every((t) => t.includes('\\boxed{'))).toBe(true);
    expect((b.json.choices as { text: string }[]).map((c) => c.text)).toEqual(texts);
  });

  it('rejects a prompt that is not a Countdown prompt with a 400, and unknown routes with a 404', async () => {
    expect((await post(server, { prompt: 'What is 2+2?', n: 1 })).status).toBe(400);
    expect((await post(server, { n: 1 })).status).toBe(400);
    expect((await fetch(`${server.baseUrl}/chat`)).status).toBe(404);
  });
});

describe('serve-policy concurrency cap, queue and failure modes', () => {
  let policy: Policy;
  beforeAll(async () => {
    policy = await createOnnxCountdownPolicy();
  });
  afterAll(async () => {
    await policy.close?.();
  });

  it('never runs more than C requests at once; the rest wait in the queue (GET /stats)', async () => {
    const server = await startPolicyServer({ host: '127.0.0.1', port: 0, model: 'm', latencyMs: 100, maxConcurrency: 2, failures: NO_FAILURES }, { policy, clock: Date.now });
    try {
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => post(server, { prompt: promptFor([]), n: 1, stop: ['\n\n'], seed: i })));
      const elapsed = Date.now() - started;
      expect(results.every((r) => r.status === 200)).toBe(true);
      // 6 requests, 2 at a time, 100 ms each: at least 3 rounds.
      expect(elapsed).toBeGreaterThanOrEqual(290);
      const stats = (await (await fetch(`http://127.0.0.1:${server.port}/stats`)).json()) as Record<string, number>;
      expect(stats.requests).toBe(6);
      expect(stats.served).toBe(6);
      expect(stats.peak_concurrency).toBe(2);
      expect(stats.queue_ms_max).toBeGreaterThanOrEqual(150);
      expect(stats.queue_ms_total).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('answers every Nth request with a 500, a slow answer or a truncated body', async () => {
    const server = await startPolicyServer(
      { host: '127.0.0.1', port: 0, model: 'm', latencyMs: 0, maxConcurrency: 4, failures: { errorEvery: 2, slowEvery: 3, slowMs: 300, truncateEvery: 5 } },
      { policy, clock: Date.now },
    );
    try {
      const body = { prompt: promptFor([]), n: 2, stop: ['\n\n'], seed: 1 };
      const outcomes: string[] = [];
      for (let i = 1; i <= 5; i++) {
        const t0 = Date.now();
        try {
          const res = await fetch(`${server.baseUrl}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          const text = await res.text();
          JSON.parse(text);
          outcomes.push(`${res.status}${Date.now() - t0 >= 280 ? ' slow' : ''}`);
        } catch {
          outcomes.push('truncated');
        }
      }
      expect(outcomes).toEqual(['200', '500', '200 slow', '500', 'truncated']);
      expect(server.stats().injected).toEqual({ errors: 2, slow: 1, truncated: 1 });
    } finally {
      await server.close();
    }
  });
});
