import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countdownPrompt } from '../../../domains/countdown/index.js';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import type { Policy } from '../../../operators/mcts/policy.js';
import { createOnnxCountdownPolicy } from '../../../streams/policies/onnxPolicy.js';
import { LLAMA3_TEMPLATE, renderPrompt } from '../../../streams/policies/openai/index.js';
import { NO_FAILURES, startPolicyServer, type PolicyServerStats, type RunningPolicyServer } from '../../../streams/server/index.js';
import { runCli } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/waitFor.js';

const problem = generateCountdownProblems({ count: 1, seed: 3 })[0]!;
const prompt = renderPrompt(LLAMA3_TEMPLATE, countdownPrompt(problem), []);

let policy: Policy;
beforeAll(async () => {
  policy = await createOnnxCountdownPolicy();
});
afterAll(async () => {
  await policy.close?.();
});

const stats = async (server: RunningPolicyServer): Promise<PolicyServerStats> => (await (await fetch(`http://127.0.0.1:${server.port}/stats`)).json()) as PolicyServerStats;

describe('serve-policy bounds its queue', () => {
  let server: RunningPolicyServer;
  beforeAll(async () => {
    // One slot held 3 s per request, two may wait: a burst of eight cannot all be kept.
    server = await startPolicyServer({ host: '127.0.0.1', port: 0, model: 'm', latencyMs: 3000, maxConcurrency: 1, maxQueue: 2, failures: NO_FAILURES }, { policy, clock: Date.now });
  });
  afterAll(() => server.close());

  it('answers 429 with Retry-After once max-queue requests wait, before reading their (large) bodies', async () => {
    // 1 MB of padding per request: what a queue without a bound would hold in memory.
    const body = JSON.stringify({ prompt, n: 1, seed: 1, padding: 'x'.repeat(1024 * 1024) });
    const responses = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await fetch(`${server.baseUrl}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as { error?: { message: string; type: string } } };
      }),
    );
    const busy = responses.filter((r) => r.status === 429);
    expect(busy.length + responses.filter((r) => r.status === 200).length).toBe(8);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number.isInteger(Number(r.retryAfter))).toBe(true);
      expect(r.json.error?.type).toBe('rate_limit_error');
      expect(r.json.error?.message).toMatch(/--max-queue 2/);
    }
    const s = await stats(server);
    // Held in memory at once: the one generating and the two queued, never more.
    expect(s.peak_admitted).toBeLessThanOrEqual(3);
    expect(s.max_queue).toBe(2);
    expect(s.rejected_queue_full).toBe(busy.length);
  }, 120_000);
});

describe('serve-policy drops requests whose client gave up', () => {
  let server: RunningPolicyServer;
  beforeAll(async () => {
    server = await startPolicyServer({ host: '127.0.0.1', port: 0, model: 'm', latencyMs: 1500, maxConcurrency: 1, failures: NO_FAILURES }, { policy, clock: Date.now });
  });
  afterAll(() => server.close());

  it('does not spend a slot on a request whose connection closed while it waited', async () => {
    const post = (seed: number): Promise<number> =>
      fetch(`${server.baseUrl}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, n: 1, seed }) }).then((r) => r.status);
    const first = post(1);
    await waitFor(async () => (await stats(server)).in_flight === 1, { timeoutMs: 30_000, message: 'the first request holds the slot' });
    // The second client sends its request and then gives up (its socket closes) while it waits.
    const gaveUp = request(`${server.baseUrl}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    gaveUp.on('error', () => undefined);
    gaveUp.end(JSON.stringify({ prompt, n: 1, seed: 2 }));
    await waitFor(async () => (await stats(server)).queued === 1, { timeoutMs: 30_000, message: 'the second request queued' });
    const third = post(3);
    await waitFor(async () => (await stats(server)).queued === 2, { timeoutMs: 30_000, message: 'the third request queued' });
    gaveUp.destroy();
    expect(await first).toBe(200);
    expect(await third).toBe(200);
    const s = await stats(server);
    expect(s.dropped_disconnected).toBe(1);
    expect(s.served).toBe(2);
    expect(s.requests).toBe(3);
  }, 120_000);
});

describe('serve-policy --max-queue', () => {
  it('is documented and validated', async () => {
    const help = await runCli(['serve-policy', '--help']);
    expect(help.stdout).toMatch(/--max-queue <n>/);
    const bad = await runCli(['serve-policy', '--max-queue', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-queue must be >= 0/);
  }, 180_000);
});
