import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countdownDomain } from '../../../domains/countdown/index.js';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { startLlamaServer, TINY_MODEL_ALIAS, type RunningLlamaServer } from '../../../streams/llm/index.js';
import { createOpenAiPolicy, DEFAULT_OPENAI_POLICY_CONFIG, type OpenAiPolicyConfig } from '../../../streams/policies/openai/index.js';
import { LLAMA_BUILD_TIMEOUT_MS, llamaMetric, llamaServerAndTinyModel } from '../../helpers/llamaServer.js';

const SLOTS = 3;
const [problem] = generateCountdownProblems({ count: 1, seed: 3, numbers: 3 });
const opts = { seed: 11, temperature: 1, topP: 1 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// A few generations on a tiny model each: seconds idle, minutes with the machine busy (60 s failed under load).
describe("openai policy against llama.cpp's llama-server (tiny model)", () => {
  let server: RunningLlamaServer;
  const dir = mkdtempSync(join(tmpdir(), 'astro-llama-policy-'));
  const policyOf = (overrides: Partial<OpenAiPolicyConfig> = {}, metrics = new InMemoryMetrics()) =>
    createOpenAiPolicy(
      { ...DEFAULT_OPENAI_POLICY_CONFIG, baseUrl: server.baseUrl, model: TINY_MODEL_ALIAS, maxStepTokens: 48, maxRolloutTokens: 160, timeoutMs: 60_000, ...overrides },
      { promptOf: countdownDomain.prompt, clock: Date.now, sleep, random: Math.random, metrics },
    );

  beforeAll(async () => {
    const { server: binary, model } = await llamaServerAndTinyModel();
    server = await startLlamaServer({ server: binary, model, dir, slots: SLOTS, ctxPerSlot: 1024, alias: TINY_MODEL_ALIAS });
  }, LLAMA_BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes priors from the log-probabilities llama-server returns (chat-style layout), on both endpoints', async () => {
    for (const endpoint of ['completions', 'chat'] as const) {
      const policy = policyOf({ endpoint });
      try {
        const [proposals = []] = await policy.proposeSteps([{ problem: problem!, steps: [] }], 3, opts);
        expect(proposals).toHaveLength(3);
        const logprobs = proposals.map((p) => p.logprob);
        for (const l of logprobs) expect(Number.isFinite(l) && (l ?? 0) < 0).toBe(true);
        expect(new Set(logprobs).size).toBeGreaterThan(1);
      } finally {
        await policy.close?.();
      }
    }
  }, 300_000);

  it('learns the slot limit from the 400 when it cannot ask /props, and splits n instead of failing', async () => {
    const metrics = new InMemoryMetrics();
    const logs: string[] = [];
    const policy = createOpenAiPolicy(
      { ...DEFAULT_OPENAI_POLICY_CONFIG, baseUrl: server.baseUrl, model: TINY_MODEL_ALIAS, maxStepTokens: 32, probeServer: false, exactUsage: false },
      { promptOf: countdownDomain.prompt, clock: Date.now, sleep, random: Math.random, metrics, logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) } },
    );
    try {
      const [proposals = []] = await policy.proposeSteps([{ problem: problem!, steps: [] }], 2 * SLOTS + 1, opts);
      expect(proposals).toHaveLength(2 * SLOTS + 1);
      expect(policy.traits().nCap).toBe(SLOTS);
      expect(logs.join('\n')).toMatch(new RegExp(`at most n = ${SLOTS} .*HTTP 400`));
      expect(metrics.counter('policy.calls_failed')).toBe(0);
      // It also noticed that this server's usage covers only the first choice.
      expect(policy.traits().usageOneChoice).toBe(true);
    } finally {
      await policy.close?.();
    }
  }, 300_000);

  it('counts exactly the tokens the server generated (its /metrics), n above the slots included', async () => {
    const policy = policyOf();
    try {
      const before = await llamaMetric(server.port, 'tokens_predicted_total');
      const states = [{ problem: problem!, steps: [] }, { problem: problem!, steps: ['Step 1: 1 + 2 = 3. Remaining: 3.'] }];
      const rollouts = await policy.rollout(states, 2 * SLOTS, opts);
      const steps = await policy.proposeSteps(states, SLOTS + 1, opts);
      expect(rollouts.map((r) => r.length)).toEqual([2 * SLOTS, 2 * SLOTS]);
      expect(steps.map((s) => s.length)).toEqual([SLOTS + 1, SLOTS + 1]);
      const after = await llamaMetric(server.port, 'tokens_predicted_total');
      expect(policy.traits()).toEqual({ nCap: SLOTS, usageOneChoice: true });
      expect(policy.usage().completionTokens).toBe(after - before);
      expect(policy.usage().completionTokens).toBeGreaterThan(0);
    } finally {
      await policy.close?.();
    }
  }, 300_000);

  it('chat endpoint: continues the steps so far (an assistant message) instead of starting over', async () => {
    const policy = policyOf({ endpoint: 'chat' });
    try {
      const [proposals = []] = await policy.proposeSteps([{ problem: problem!, steps: ['Step 1: 4 - 1 = 3. Remaining: 3, 7.'] }], 3, opts);
      // Continuing after a blank line, the model's next step is text; a template that dropped the
      // trailing blank line would make it emit the delimiter first and stop with nothing.
      expect(proposals.filter((p) => p.text.length > 0).length).toBeGreaterThanOrEqual(2);
    } finally {
      await policy.close?.();
    }
  }, 300_000);
});
