import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_COUNT, FEATURE_COUNT } from '../../../domains/countdown/actions.js';
import { initPolicyValueWeights } from '../../../models/countdown/initWeights.js';
import { readPolicyValueWeights } from '../../../models/onnxGraph.js';
import { InMemoryMetrics, silentLogger } from '../../../operators/common/metrics.js';
import type { TrainingBatch } from '../../../operators/rl/packBatch.js';
import { POLICY_TOPIC, PolicyVersionCodec, type PolicyVersion } from '../../../schemas/policyVersion.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { createOnlineTrainer, type OnlineTrainerConfig } from '../../../streams/trainer/onlineTrainer.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { Producer, Transport } from '../../../streams/transport/transport.js';
import { waitFor } from '../../helpers/waitFor.js';
import { smallTree } from '../../operators/rl/fixtures.js';

const weights = initPolicyValueWeights({ featureCount: FEATURE_COUNT, actionCount: ACTION_COUNT, hidden: [8], seed: 2 });

describe('online trainer', () => {
  let transport: Transport;
  let producer: Producer;
  let dir: string;
  beforeEach(async () => {
    transport = createMemoryTransport();
    await transport.createTopics(allTopicSpecs({ partitions: 1 }));
    producer = await transport.producer();
    dir = await mkdtemp(join(tmpdir(), 'astro-ot-'));
  });
  afterEach(async () => {
    await producer.close();
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('steps only as new data arrives, publishes every K steps, content-addressed, and refuses stale records', async () => {
    const batches: TrainingBatch[] = [];
    const metrics = new InMemoryMetrics();
    const config: OnlineTrainerConfig = {
      policyName: 'countdown-mlp',
      policiesDir: join(dir, 'policies'),
      batchSize: 8,
      maxSequencesPerStep: 4,
      exportEverySteps: 2,
      replayCapacity: 6,
      newRowsPerStep: 2,
      minReplayRows: 4,
      staleness: { maxPolicyLag: 1, maxRecordsPerVersion: 10 },
      seed: 3,
    };
    const trainer = createOnlineTrainer(config, {
      trainer: { train: async (b) => (batches.push(b), { loss: 0.5, az: 0.4, value: 0.1, pg: 0, size: b.size }), exportWeights: async () => weights },
      producer,
      logger: silentLogger,
      metrics,
      clock: () => 1234,
    });
    const loop = trainer.run();
    const { tree } = smallTree(); // 4 rows (v3 stamp: fresh while the trainer is at v0..v4)
    expect(trainer.addTree(tree)).toEqual({ fresh: true });
    // 4 new rows at 2 per step: exactly 2 steps, then the trainer waits for data.
    await waitFor(() => trainer.stats().steps === 2 && trainer.version() === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(trainer.stats().steps).toBe(2);
    expect(batches[0]?.size).toBe(8);
    trainer.addTree(tree);
    trainer.addTree(tree);
    await waitFor(() => trainer.version() === 3);
    expect(trainer.stats().bufferRows).toBe(6); // capacity bounds the replay buffer
    // Trainer at v3: a v3 tree is fresh, a v1 tree (lag 2 > 1) is stale and counted.
    expect(trainer.addTree({ ...tree, policy_version: 'countdown-mlp@v1.aaaaaaaaaaaa' })).toEqual({ fresh: false, lag: 2 });
    expect(metrics.counter('trainer.stale_trees')).toBe(1);
    await trainer.stop();
    await loop;

    const published: PolicyVersion[] = [];
    const c = await transport.consumer({ groupId: 'r', topics: [POLICY_TOPIC] });
    const sub = c.records.subscribe((r) => {
      const d = PolicyVersionCodec.decode(r.value);
      if (d.ok) published.push(d.value);
    });
    // The policy topic is compacted by policy name: a late reader sees the newest version.
    await waitFor(() => published.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(published.map((p) => p.version)).toEqual([3]);
    sub.unsubscribe();
    await c.close();
    const all = trainer.stats().published;
    expect(all.map((p) => p.version)).toEqual([1, 2, 3]);
    expect(published[0]).toEqual(all[2]);
    for (const p of all) {
      const bytes = await readFile(p.path);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.sha256);
      expect(p.path).toBe(join(dir, 'policies', `${p.sha256}.onnx`));
      expect(readPolicyValueWeights(new Uint8Array(bytes)).trunk[0]?.weight).toEqual(weights.trunk[0]?.weight);
      expect(p.metrics.find((m) => m.name === 'loss')?.value).toBe(0.5);
    }
    expect(all[1]?.step).toBe(4);
  });
});
