import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { domainOf } from '../../../domains/registry.js';
import { InMemoryMetrics, silentLogger } from '../../../operators/common/metrics.js';
import type { Policy } from '../../../operators/mcts/policy.js';
import { DeadLetterCodec, dlqTopicOf, type DeadLetter } from '../../../schemas/deadLetter.js';
import { PROBLEMS_TOPIC, ProblemCodec, type Problem } from '../../../schemas/problem.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../../../schemas/searchTree.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { parseRunConfig } from '../../../streams/cli/runConfig.js';
import { topologyConfigOf } from '../../../streams/cli/topologyConfig.js';
import { createOnnxCountdownPolicy } from '../../../streams/policies/onnxPolicy.js';
import { policyDomainMismatch } from '../../../streams/policies/factory.js';
import { startNamedStage } from '../../../streams/stages/topology.js';
import type { RunningStage } from '../../../streams/stages/stageRuntime.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { Producer, Transport } from '../../../streams/transport/transport.js';
import { runCli } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/waitFor.js';

const MATH: Problem = { id: 'math-1', domain: 'math', source: 'test', question: 'What is 2 + 3?', answer: '5', solution: '2 + 3 = \\boxed{5}' };

describe('search stage: a policy that cannot serve a problem domain', () => {
  let transport: Transport;
  let producer: Producer;
  let policy: Policy;
  let stages: RunningStage[] = [];

  beforeEach(async () => {
    transport = createMemoryTransport();
    await transport.createTopics(allTopicSpecs({ partitions: 2 }));
    producer = await transport.producer();
    policy = await createOnnxCountdownPolicy();
  });
  afterEach(async () => {
    for (const s of stages) await s.stop();
    stages = [];
    await policy.close?.();
    await producer.close();
    await transport.close();
  });

  it('dead-letters a math problem on a mixed topic, naming its id, domain and the policy, and searches the countdown ones', async () => {
    const metrics = new InMemoryMetrics();
    const started = await startNamedStage(
      'search',
      topologyConfigOf(parseRunConfig({ search: { iterations: 4 } })),
      { transport, producer, policy: () => policy, domainMismatch: (d) => policyDomainMismatch('onnx', d), domainOf, metrics, logger: silentLogger, clock: Date.now },
    );
    stages = started.stages;
    const countdown = generateCountdownProblems({ count: 2, seed: 3, numbers: 3 });
    await producer.send(PROBLEMS_TOPIC, [countdown[0]!, MATH, countdown[1]!].map((p) => ({ key: p.id, value: ProblemCodec.encode(p) })));

    const trees: SearchTree[] = [];
    const letters: DeadLetter[] = [];
    const reader = await transport.consumer({ groupId: 'read', topics: [TREES_TOPIC, dlqTopicOf(PROBLEMS_TOPIC)] });
    const sub = reader.records.subscribe((r) => {
      if (r.topic === TREES_TOPIC) {
        const d = SearchTreeCodec.decode(r.value);
        if (d.ok) trees.push(d.value);
      } else {
        const d = DeadLetterCodec.decode(r.value);
        if (d.ok) letters.push(d.value);
      }
    });
    try {
      await waitFor(() => trees.length === 2 && letters.length === 1, { timeoutMs: 60_000, message: 'two trees and one dead letter' });
    } finally {
      sub.unsubscribe();
      await reader.close();
    }
    expect(trees.map((t) => t.problem_id).sort()).toEqual(countdown.map((p) => p.id).sort());
    const [letter] = letters;
    expect(letter).toMatchObject({ stage: 'search', error_kind: 'config', retriable: false, key: MATH.id });
    expect(letter?.reason).toContain(`problem ${MATH.id}`);
    expect(letter?.reason).toContain('domain math');
    expect(letter?.reason).toContain('onnx policy');
    // The original record, so it can be replayed to a stage with a policy that serves math.
    const original = ProblemCodec.decode(Buffer.from(letter?.value_base64 ?? '', 'base64'));
    expect(original.ok && original.value).toEqual(MATH);
    expect(metrics.counter('search.dead_lettered')).toBe(1);
    expect(metrics.counter('search.trees')).toBe(2);
  }, 120_000);

  it('`stage search` exits 2 at start, before connecting, when the policy cannot serve the configured domain', async () => {
    // No broker listens on port 1: the refusal must come before any connection attempt.
    const result = await runCli(['stage', 'search', '--brokers', '127.0.0.1:1', '--policy', 'onnx', '--domain', 'math'], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('onnx policy');
    expect(lines[0]).toContain('math');
    expect(lines[0]).toContain('--policy openai');
  }, 90_000);
});
