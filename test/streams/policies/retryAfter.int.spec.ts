import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { countdownDomain } from '../../../domains/countdown/index.js';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { createOpenAiPolicy, DEFAULT_OPENAI_POLICY_CONFIG, type OpenAiPolicy, type OpenAiPolicyConfig } from '../../../streams/policies/openai/index.js';
import { parseRetryAfterMs } from '../../../streams/policies/openai/retryAfter.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const OK_BODY = JSON.stringify({ id: 'c', choices: [{ index: 0, text: 'step', finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1 } });
const REQUEST = { user: 'Use 1, 2 to make 3.', steps: [], n: 1, max_tokens: 8, temperature: 1, top_p: 1 };

/** A real HTTP server whose answer to the i-th completion request (0-based) is chosen by `answer`; it records when each arrived. */
async function startServer(answer: (i: number, res: ServerResponse) => void): Promise<{ server: Server; baseUrl: string; arrivals: number[] }> {
  const arrivals: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const i = arrivals.length;
      arrivals.push(performance.now());
      answer(i, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, arrivals };
}

const ok = (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(OK_BODY);
};
const busy = (res: ServerResponse, status: number, headers: Record<string, string>): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end('{"error":{"message":"busy"}}');
};

describe('openai policy: Retry-After on 429/503 (real node:http server)', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  const policyFor = (baseUrl: string, metrics: InMemoryMetrics, overrides: Partial<OpenAiPolicyConfig> = {}): OpenAiPolicy => {
    // Backoff and breaker cooldown of a few ms: any wait of a second or more can only be the server's Retry-After.
    const policy = createOpenAiPolicy(
      { ...DEFAULT_OPENAI_POLICY_CONFIG, baseUrl, model: 'm', probeServer: false, timeoutMs: 10_000, retry: { attempts: 5, initialDelayMs: 5, factor: 2, jitter: 0, maxDelayMs: 30_000 }, breaker: { failureThreshold: 50, cooldownMs: 10, outageMs: 60_000 }, ...overrides },
      { promptOf: countdownDomain.prompt, clock: Date.now, sleep, random: () => 0.5, metrics },
    );
    closers.push(async () => policy.close?.());
    return policy;
  };
  const serve = async (answer: (i: number, res: ServerResponse) => void) => {
    const s = await startServer(answer);
    closers.push(() => new Promise<void>((resolve) => s.server.close(() => resolve())));
    return s;
  };

  it('waits the seconds a 429 asks for before trying again', async () => {
    const { baseUrl, arrivals } = await serve((i, res) => (i === 0 ? busy(res, 429, { 'retry-after': '1' }) : ok(res)));
    const metrics = new InMemoryMetrics();
    const response = await policyFor(baseUrl, metrics).completeRaw('p', REQUEST);
    expect(response.choices[0]?.text).toBe('step');
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(990);
    expect(metrics.counter('policy.retry_after_waits')).toBe(1);
  }, 30_000);

  it('reads an HTTP-date on a 503 against the server\'s own Date header (a skewed clock does not matter)', async () => {
    // The server's clock is 20 years behind ours; its Retry-After is 2 s after its own Date.
    const serverNow = Date.parse('Mon, 03 Dec 2006 10:00:00 GMT');
    const { baseUrl, arrivals } = await serve((i, res) =>
      i === 0 ? busy(res, 503, { date: new Date(serverNow).toUTCString(), 'retry-after': new Date(serverNow + 2_000).toUTCString() }) : ok(res),
    );
    await policyFor(baseUrl, new InMemoryMetrics()).completeRaw('p', REQUEST);
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(1_990);
    // Measured against our clock the date is long past: the wait would have been ~0.
    expect(parseRetryAfterMs(new Date(serverNow + 2_000).toUTCString(), Date.now())).toBe(0);
  }, 30_000);

  it('holds other requests too: none reaches the server before the pause is over', async () => {
    const { baseUrl, arrivals } = await serve((i, res) => (i === 0 ? busy(res, 429, { 'retry-after': '1' }) : ok(res)));
    const policy = policyFor(baseUrl, new InMemoryMetrics());
    const first = policy.completeRaw('a', REQUEST);
    // The second request starts after the 429 was answered, well inside the one-second pause.
    while (policy.breaker.failingForMs() === 0) await sleep(5);
    const second = policy.completeRaw('b', REQUEST);
    await Promise.all([first, second]);
    expect(arrivals).toHaveLength(3);
    for (const at of arrivals.slice(1)) expect(at - arrivals[0]!).toBeGreaterThanOrEqual(990);
  }, 30_000);

  it('caps a long Retry-After at the backoff\'s longest delay', async () => {
    const { baseUrl, arrivals } = await serve((i, res) => (i === 0 ? busy(res, 429, { 'retry-after': '3600' }) : ok(res)));
    const started = performance.now();
    await policyFor(baseUrl, new InMemoryMetrics(), { retry: { attempts: 5, initialDelayMs: 5, factor: 2, jitter: 0, maxDelayMs: 400 } }).completeRaw('p', REQUEST);
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(390);
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('never waits past the outage limit: a server that keeps asking for an hour fails the request into the DLQ path', async () => {
    const { baseUrl } = await serve((_, res) => busy(res, 429, { 'retry-after': '3600' }));
    const started = performance.now();
    const error = await policyFor(baseUrl, new InMemoryMetrics(), { breaker: { failureThreshold: 50, cooldownMs: 10, outageMs: 1_500 } })
      .completeRaw('p', REQUEST)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).retriable).toBe(false);
    expect((error as AppError).message).toMatch(/server unavailable for \d+ ms.*outage limit is 1500 ms/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(performance.now() - started).toBeLessThan(25_000);
  }, 30_000);
});

describe('parseRetryAfterMs', () => {
  it('reads delay-seconds and HTTP-dates, and nothing else', () => {
    expect(parseRetryAfterMs('0', 5)).toBe(0);
    expect(parseRetryAfterMs(' 7 ', 5)).toBe(7_000);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:03 GMT', now)).toBe(3_000);
    expect(parseRetryAfterMs('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
    expect(parseRetryAfterMs('-3', now)).toBeUndefined();
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs('1.5', now)).toBeUndefined();
  });
});
