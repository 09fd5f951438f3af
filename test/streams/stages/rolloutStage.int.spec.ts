import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { domainOf } from '../../../domains/registry.js';
import { PolicyValueNet } from '../../../models/policyValueNet.js';
import { initialCountdownModelPath } from '../../../models/paths.js';
import { InMemoryMetrics, silentLogger } from '../../../operators/common/metrics.js';
import { countdownStartOf, rolloutSequences } from '../../../operators/rl/rolloutSequences.js';
import { PROBLEMS_TOPIC, ProblemCodec } from '../../../schemas/problem.js';
import { RolloutGroupCodec, ROLLOUTS_TOPIC, type RolloutGroup } from '../../../schemas/rolloutGroup.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { createCountdownNetPolicy } from '../../../streams/policies/onnxPolicy.js';
import { rolloutStageSpec } from '../../../streams/stages/rolloutStage.js';
import { startStage, type RunningStage } from '../../../streams/stages/stageRuntime.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { Producer, Transport } from '../../../streams/transport/transport.js';
import { waitFor } from '../../helpers/waitFor.js';

describe('rollout stage', () => {
  let transport: Transport;
  let producer: Producer;
  let stage: RunningStage;
  let net: PolicyValueNet;

  beforeEach(async () => {
    transport = createMemoryTransport();
    await transport.createTopics(allTopicSpecs({ partitions: 2 }));
    producer = await transport.producer();
    net = await PolicyValueNet.load(initialCountdownModelPath());
  });
  afterEach(async () => {
    await stage?.stop();
    await net.close();
    await producer.close();
    await transport.close();
  });

  it('emits one verified, rewarded group of G completions per problem, stamped with the policy version', async () => {
    const metrics = new InMemoryMetrics();
    const policy = createCountdownNetPolicy(net);
    stage = await startStage(rolloutStageSpec({ groupSize: 4, concurrency: 2, seed: 3 }, { policy: () => ({ version: 0, net, policy }), domainOf, clock: () => 42, metrics }), {
      transport,
      producer,
      logger: silentLogger,
      metrics,
      clock: () => 42,
    });
    // Easy 3-number problems so some completions are right and some wrong.
    const problems = generateCountdownProblems({ count: 30, seed: 5, numbers: 3 });
    await producer.send(PROBLEMS_TOPIC, problems.map((p) => ({ key: p.id, value: ProblemCodec.encode(p) })));
    const groups: RolloutGroup[] = [];
    const reader = await transport.consumer({ groupId: 'read', topics: [ROLLOUTS_TOPIC] });
    const sub = reader.records.subscribe((r) => {
      const d = RolloutGroupCodec.decode(r.value);
      if (d.ok) groups.push(d.value);
    });
    await waitFor(() => groups.length === problems.length, { timeoutMs: 20_000 });
    sub.unsubscribe();
    await reader.close();

    const verifier = domainOf('countdown').verifier;
    for (const g of groups) {
      expect(g.samples).toHaveLength(4);
      expect(g.policy_version).toBe(policy.version);
      const problem = problems.find((p) => p.id === g.problem_id);
      expect(problem).toBeDefined();
      expect(g.ground_truth).toBe(problem?.answer);
      for (const s of g.samples) {
        // Rewards come from the one verifier: +1 correct, −1 otherwise.
        const verdict = await verifier.verify(problem!, s.completion);
        expect(s.correct).toBe(verdict.correct && !s.truncated);
        expect(s.reward).toBe(s.correct ? 1 : -1);
        expect(s.logprob).toBeLessThanOrEqual(0);
        expect(s.actions?.length).toBeGreaterThan(0);
      }
      // The trainer can replay every sample from the prompt alone.
      expect(rolloutSequences(g, countdownStartOf).unreplayable).toBe(0);
    }
    const rewards = groups.flatMap((g) => g.samples.map((s) => s.reward));
    expect(rewards).toContain(1);
    expect(rewards).toContain(-1);
    expect(metrics.counter('rollout.groups')).toBe(problems.length);
  });
});
