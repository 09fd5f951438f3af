import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_COUNT, FEATURE_COUNT } from '../../../domains/countdown/actions.js';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { domainOf } from '../../../domains/registry.js';
import { initPolicyValueWeights } from '../../../models/countdown/initWeights.js';
import { PolicyValueNet } from '../../../models/policyValueNet.js';
import { InMemoryMetrics, silentLogger } from '../../../operators/common/metrics.js';
import { PROBLEMS_TOPIC, ProblemCodec } from '../../../schemas/problem.js';
import { RolloutGroupCodec, ROLLOUTS_TOPIC } from '../../../schemas/rolloutGroup.js';
import { allTopicSpecs, STALE_ROLLOUTS_TOPIC } from '../../../schemas/topics.js';
import { createCountdownNetPolicy } from '../../../streams/policies/onnxPolicy.js';
import { startPolicyWatcher, type PolicyWatcher } from '../../../streams/policies/policyWatcher.js';
import { rolloutStageSpec } from '../../../streams/stages/rolloutStage.js';
import { startStage, type RunningStage, type StageDeps } from '../../../streams/stages/stageRuntime.js';
import { trainerRolloutsStageSpec } from '../../../streams/stages/trainerStage.js';
import { createOnlineTrainer, type StepTrainer } from '../../../streams/trainer/onlineTrainer.js';
import { createStalenessGate, gateStage } from '../../../streams/trainer/stalenessGate.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { ConsumedRecord, Producer, Transport } from '../../../streams/transport/transport.js';
import { waitFor } from '../../helpers/waitFor.js';
import { smallTree } from '../../operators/rl/fixtures.js';

const weights = initPolicyValueWeights({ featureCount: FEATURE_COUNT, actionCount: ACTION_COUNT, hidden: [16], seed: 9 });
// The optimizer itself is not under test here: a trainer that "steps" instantly and keeps its weights.
const stubTrainer: StepTrainer = { train: async (b) => ({ loss: 1, az: 1, value: 0, pg: 0, size: b.size }), exportWeights: async () => weights };

async function collect(transport: Transport, topic: string, groupId: string, into: ConsumedRecord[]): Promise<() => Promise<void>> {
  const c = await transport.consumer({ groupId, topics: [topic] });
  const sub = c.records.subscribe((r) => into.push(r));
  return async () => {
    sub.unsubscribe();
    await c.close();
  };
}

describe('staleness control with a stalled trainer', () => {
  let transport: Transport;
  let producer: Producer;
  let dir: string;
  const running: RunningStage[] = [];
  let watcher: PolicyWatcher | undefined;

  beforeEach(async () => {
    transport = createMemoryTransport();
    await transport.createTopics(allTopicSpecs({ partitions: 1 }));
    producer = await transport.producer();
    dir = await mkdtemp(join(tmpdir(), 'astro-stale-'));
  });
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop({ abandonAfterMs: 1000 });
    await watcher?.stop();
    await producer.close();
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('producers pause at the lag bound; stale groups are routed to astro.rollouts.stale.v1 and counted', async () => {
    const metrics = new InMemoryMetrics();
    const clock = (): number => performance.now();
    const deps: StageDeps = { transport, producer, logger: silentLogger, metrics, clock };
    const staleness = { maxPolicyLag: 2, maxRecordsPerVersion: 3 };
    const trainer = createOnlineTrainer(
      { policyName: 'countdown-mlp', policiesDir: join(dir, 'policies'), batchSize: 4, maxSequencesPerStep: 8, exportEverySteps: 1, replayCapacity: 100, newRowsPerStep: 1, minReplayRows: 1, staleness, seed: 1 },
      { trainer: stubTrainer, producer, logger: silentLogger, metrics, clock },
    );
    trainer.pause(); // stalled: takes data, publishes nothing
    const loop = trainer.run();

    const net0 = await PolicyValueNet.fromWeights(weights);
    const policy0 = { version: 0, net: net0, policy: createCountdownNetPolicy(net0) };
    const gate = createStalenessGate('rollout', staleness, { metrics, clock });
    gate.onVersion(0);
    watcher = await startPolicyWatcher({ policyName: 'countdown-mlp', groupId: 'watch' }, { transport, logger: silentLogger, metrics, initial: policy0, onSwap: (l) => gate.onVersion(l.version) });
    const w = watcher;
    const rollout = await startStage(gateStage(rolloutStageSpec({ groupSize: 4, concurrency: 1, seed: 1 }, { policy: () => w.currentLoaded(), domainOf, clock, metrics }), gate), deps);
    running.push(rollout, await startStage(trainerRolloutsStageSpec(trainer), deps));
    const rolloutsSeen: ConsumedRecord[] = [];
    const stopRollouts = await collect(transport, ROLLOUTS_TOPIC, 'seen', rolloutsSeen);

    const problems = generateCountdownProblems({ count: 12, seed: 21, numbers: 3 });
    await producer.send(PROBLEMS_TOPIC, problems.map((p) => ({ key: p.id, value: ProblemCodec.encode(p) })));

    // 1. The trainer is stalled at v0: the producer publishes exactly its budget and pauses.
    await waitFor(() => rolloutsSeen.length === 3 && gate.blocked(), { message: 'producer at the bound' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(rolloutsSeen).toHaveLength(3);
    expect(gate.blocked()).toBe(true);
    expect(rollout.stats().inFlight).toBeGreaterThan(0);
    expect(metrics.counter('rollout.staleness_pauses')).toBeGreaterThanOrEqual(1);
    expect(trainer.version()).toBe(0);
    await waitFor(() => metrics.counter('trainer.rollout_groups') === 3);

    // 2. The trainer resumes and moves ahead (4 versions from one tree's rows); a lagging producer
    //    still on v0 (no watcher: e.g. a searcher that missed the updates) sends more groups.
    trainer.resume();
    trainer.addTree(smallTree().tree);
    await waitFor(() => trainer.version() >= 4, { message: 'trainer ahead' });
    const lagging = await startStage(
      rolloutStageSpec({ groupSize: 4, concurrency: 2, seed: 2, groupId: 'astro.rollouts.lagging' }, { policy: () => policy0, domainOf, clock, metrics }),
      deps,
    );
    running.push(lagging);
    const stale: ConsumedRecord[] = [];
    const stopStale = await collect(transport, STALE_ROLLOUTS_TOPIC, 'stale-reader', stale);
    await waitFor(() => metrics.counter('rollout.groups') >= 3 + problems.length, { timeoutMs: 20_000, message: 'lagging producer done' });
    await waitFor(() => stale.length === problems.length, { timeoutMs: 20_000, message: 'stale groups routed' });

    // Routed unchanged (decodable, still v0), with the lag in a header, and counted.
    const first = stale[0];
    // Lag past the bound of 2 (the trainer kept stepping on fresh groups meanwhile, so it may have grown).
    expect(Number(first?.headers['x-astro-policy-lag'])).toBeGreaterThan(staleness.maxPolicyLag);
    const decoded = first ? RolloutGroupCodec.decode(first.value) : undefined;
    expect(decoded?.ok && decoded.value.policy_version).toBe(policy0.policy.version);
    expect(metrics.counter('trainer.stale_rollouts')).toBe(problems.length);
    // The gated producer followed the new versions: its budget reset, it resumed, nothing it sent was stale.
    await waitFor(() => (watcher?.currentLoaded().version ?? 0) >= 4, { message: 'watcher caught up' });
    await waitFor(() => rolloutsSeen.length === 2 * problems.length, { timeoutMs: 20_000, message: 'all groups' });
    expect(metrics.counter('trainer.rollout_groups') + metrics.counter('trainer.stale_rollouts')).toBe(2 * problems.length);
    expect(gate.waitedMs()).toBeGreaterThan(250);

    await stopRollouts();
    await stopStale();
    await trainer.stop({ publishFinal: false });
    await loop;
    await net0.close();
  });
});
