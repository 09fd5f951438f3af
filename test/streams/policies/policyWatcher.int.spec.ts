import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_COUNT, FEATURE_COUNT } from '../../../domains/countdown/actions.js';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { createCountdownVerifier } from '../../../domains/countdown/verifier.js';
import { initPolicyValueWeights } from '../../../models/countdown/initWeights.js';
import { buildPolicyValueModel } from '../../../models/onnxGraph.js';
import { PolicyValueNet } from '../../../models/policyValueNet.js';
import { sha256Hex } from '../../../operators/common/hash.js';
import { InMemoryMetrics, silentLogger } from '../../../operators/common/metrics.js';
import { DEFAULT_SEARCH_CONFIG } from '../../../operators/mcts/searchConfig.js';
import { POLICY_TOPIC, PolicyVersionCodec, type PolicyVersion } from '../../../schemas/policyVersion.js';
import { PROBLEMS_TOPIC, ProblemCodec } from '../../../schemas/problem.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../../../schemas/searchTree.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { createCountdownNetPolicy } from '../../../streams/policies/onnxPolicy.js';
import { startPolicyWatcher, type PolicyWatcher } from '../../../streams/policies/policyWatcher.js';
import { searchStageSpec } from '../../../streams/stages/searchStage.js';
import { startStage, type RunningStage } from '../../../streams/stages/stageRuntime.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { Producer, Transport } from '../../../streams/transport/transport.js';
import { waitFor } from '../../helpers/waitFor.js';

const weights = (seed: number) => initPolicyValueWeights({ featureCount: FEATURE_COUNT, actionCount: ACTION_COUNT, hidden: [16], seed });

describe('policy watcher: hot swap of a running search stage', () => {
  let transport: Transport;
  let producer: Producer;
  let dir: string;
  let watcher: PolicyWatcher;
  let stage: RunningStage;
  const metrics = new InMemoryMetrics();

  beforeEach(async () => {
    transport = createMemoryTransport();
    await transport.createTopics(allTopicSpecs({ partitions: 1 }));
    producer = await transport.producer();
    dir = await mkdtemp(join(tmpdir(), 'astro-watch-'));
  });
  afterEach(async () => {
    await stage?.stop();
    await watcher?.stop();
    await producer.close();
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function publishVersion(version: number, seed: number, overrides: Partial<PolicyVersion> = {}): Promise<PolicyVersion> {
    const bytes = buildPolicyValueModel(weights(seed));
    const sha256 = sha256Hex(bytes);
    const path = join(dir, `${sha256}.onnx`);
    await writeFile(path, bytes);
    const record: PolicyVersion = { policy: 'countdown-mlp', version, path, sha256, step: version * 10, metrics: [], created_at: version, ...overrides };
    await producer.send(POLICY_TOPIC, [{ key: 'countdown-mlp', value: PolicyVersionCodec.encode(record) }]);
    return record;
  }

  it('switches versions between problems without a restart; trees before and after carry the right versions', async () => {
    const initialNet = await PolicyValueNet.fromWeights(weights(1));
    const initialPolicy = createCountdownNetPolicy(initialNet);
    watcher = await startPolicyWatcher({ policyName: 'countdown-mlp', groupId: 'watch-test' }, { transport, logger: silentLogger, metrics, initial: { version: 0, net: initialNet, policy: initialPolicy } });
    const search = { ...DEFAULT_SEARCH_CONFIG, iterations: 3, k: 2, rollouts: 1 };
    stage = await startStage(searchStageSpec({ search, concurrency: 1 }, { policy: () => watcher.current(), verifier: createCountdownVerifier(), clock: () => 0, metrics }), {
      transport,
      producer,
      logger: silentLogger,
      metrics,
      clock: () => 0,
    });
    const trees: SearchTree[] = [];
    const reader = await transport.consumer({ groupId: 'read-trees', topics: [TREES_TOPIC] });
    const sub = reader.records.subscribe((r) => {
      const d = SearchTreeCodec.decode(r.value);
      if (d.ok) trees.push(d.value);
    });
    const problems = generateCountdownProblems({ count: 6, seed: 11, numbers: 4 });
    await producer.send(PROBLEMS_TOPIC, problems.slice(0, 3).map((p) => ({ key: p.id, value: ProblemCodec.encode(p) })));
    await waitFor(() => trees.length === 3, { timeoutMs: 20_000, message: 'trees before the swap' });

    // A stale record (lower version) and a record whose file does not match its sha are ignored.
    const v2 = await publishVersion(2, 2);
    await publishVersion(1, 3);
    await publishVersion(3, 4, { sha256: 'f'.repeat(64) });
    await watcher.waitForVersion(2);
    await producer.send(PROBLEMS_TOPIC, problems.slice(3).map((p) => ({ key: p.id, value: ProblemCodec.encode(p) })));
    await waitFor(() => trees.length === 6, { timeoutMs: 20_000, message: 'trees after the swap' });
    await waitFor(() => metrics.counter('policy_watcher.load_failures') === 1, { message: 'sha mismatch rejected' });
    sub.unsubscribe();
    await reader.close();

    const versions = trees.map((t) => t.policy_version);
    expect(versions.slice(0, 3)).toEqual([initialPolicy.version, initialPolicy.version, initialPolicy.version]);
    expect(versions.slice(3)).toEqual(Array(3).fill(`countdown-mlp@v2.${v2.sha256.slice(0, 12)}`));
    expect(watcher.swaps()).toBe(1);
    expect(watcher.currentLoaded().version).toBe(2);
    expect(stage.stats().deadLettered).toBe(0);
    await initialNet.close();
  });
});
