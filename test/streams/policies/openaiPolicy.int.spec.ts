import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countdownDomain } from '../../../domains/countdown/index.js';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import type { Policy } from '../../../operators/mcts/policy.js';
import { searchTreeParallel } from '../../../operators/mcts/parallelSearch.js';
import { searchTree } from '../../../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from '../../../operators/mcts/searchConfig.js';
import { checkTreeInvariants } from '../../../operators/mcts/treeInvariants.js';
import { createOnnxCountdownPolicy } from '../../../streams/policies/onnxPolicy.js';
import { createOpenAiPolicy, DEFAULT_OPENAI_POLICY_CONFIG, type OpenAiPolicyConfig } from '../../../streams/policies/openai/index.js';
import { NO_FAILURES, startPolicyServer, type FailureModes, type RunningPolicyServer } from '../../../streams/server/index.js';

// Three numbers: a terminal (a boxed claim) is two combines deep, within reach of 8 iterations.
const problems = generateCountdownProblems({ count: 3, seed: 11, numbers: 3 });
const search: SearchConfig = { ...DEFAULT_SEARCH_CONFIG, iterations: 8, k: 4, rollouts: 4, seed: 5 };
const verifier = countdownDomain.verifier;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('openai policy against a real serve-policy server', () => {
  let onnx: Policy;
  const servers: RunningPolicyServer[] = [];
  const serve = async (failures: FailureModes, latencyMs = 0, maxConcurrency = 16): Promise<RunningPolicyServer> => {
    const server = await startPolicyServer({ host: '127.0.0.1', port: 0, model: 'countdown-mlp', latencyMs, maxConcurrency, failures }, { policy: onnx, clock: Date.now });
    servers.push(server);
    return server;
  };
  const client = (server: RunningPolicyServer, metrics: InMemoryMetrics, overrides: Partial<OpenAiPolicyConfig> = {}) =>
    createOpenAiPolicy(
      { ...DEFAULT_OPENAI_POLICY_CONFIG, baseUrl: server.baseUrl, model: 'countdown-mlp', timeoutMs: 2_000, retry: { attempts: 5, initialDelayMs: 5, factor: 2, jitter: 0.2, maxDelayMs: 100 }, ...overrides },
      { promptOf: countdownDomain.prompt, clock: Date.now, sleep, random: () => 0.5, metrics },
    );

  beforeAll(async () => {
    onnx = await createOnnxCountdownPolicy();
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await onnx.close?.();
  });

  it('searches Countdown problems over HTTP: sound trees with per-tree token accounting', async () => {
    const server = await serve(NO_FAILURES);
    const metrics = new InMemoryMetrics();
    const policy = client(server, metrics);
    try {
      let calls = 0;
      for (const problem of problems) {
        const tree = await searchTree(problem, search, { policy, verifier, clock: () => 0 });
        calls += tree.stats.policy_calls;
        expect(checkTreeInvariants(tree)).toEqual([]);
        expect(tree.policy_version).toBe('openai@countdown-mlp');
        expect(tree.stats.prompt_tokens).toBeGreaterThan(0);
        expect(tree.stats.completion_tokens).toBeGreaterThan(0);
        expect(tree.nodes.some((n) => n.terminal)).toBe(true);
      }
      expect(metrics.counter('policy.retries')).toBe(0);
      expect(server.stats().served).toBe(metrics.counter('policy.requests'));
      // Each tree records the HTTP requests it cost.
      expect(calls).toBe(server.stats().served);
    } finally {
      await policy.close?.();
    }
  });

  it('retries through 500s, slow answers (timeouts) and truncated bodies, and still builds sound trees', async () => {
    const server = await serve({ errorEvery: 4, slowEvery: 7, slowMs: 1_500, truncateEvery: 5 });
    const metrics = new InMemoryMetrics();
    const policy = client(server, metrics, { timeoutMs: 500, breaker: { failureThreshold: 50, cooldownMs: 10, outageMs: 60_000 } });
    try {
      const tree = await searchTreeParallel(problems[0]!, { ...search, parallelIterations: 4 }, { policy, verifier, clock: () => 0 });
      expect(checkTreeInvariants(tree)).toEqual([]);
      const injected = server.stats().injected;
      expect(injected.errors).toBeGreaterThan(0);
      expect(injected.truncated).toBeGreaterThan(0);
      expect(injected.slow).toBeGreaterThan(0);
      expect(metrics.counter('policy.retries')).toBeGreaterThanOrEqual(injected.errors + injected.truncated);
      expect(metrics.counter('policy.calls_failed')).toBe(0);
    } finally {
      await policy.close?.();
    }
  }, 60_000);

  it('fails with a non-retriable policy error naming the cause once retries are exhausted', async () => {
    const server = await serve({ ...NO_FAILURES, errorEvery: 1 });
    const metrics = new InMemoryMetrics();
    const policy = client(server, metrics, { retry: { attempts: 3, initialDelayMs: 1, factor: 2, jitter: 0, maxDelayMs: 10 } });
    try {
      const error = await searchTree(problems[0]!, search, { policy, verifier, clock: () => 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).retriable).toBe(false);
      expect((error as AppError).message).toMatch(/HTTP 500.*injected failure.*gave up after 3 attempts/);
      expect(server.stats().requests).toBe(3);
    } finally {
      await policy.close?.();
    }
  });

  it('keeps the server saturated: many trees and parallel iterations reach the concurrency cap', async () => {
    const server = await serve(NO_FAILURES, 30, 8);
    const metrics = new InMemoryMetrics();
    const policy = client(server, metrics, { maxInFlight: 16 });
    try {
      await Promise.all(problems.map((p) => searchTreeParallel(p, { ...search, parallelIterations: 4 }, { policy, verifier, clock: () => 0 })));
      expect(server.stats().peak_concurrency).toBe(8);
      expect(policy.limiter.peak()).toBeLessThanOrEqual(16);
    } finally {
      await policy.close?.();
    }
  }, 60_000);
});
