/**
 * Kafka benchmarks, in one run on one local broker:
 *  1. produce throughput through the transport (records/s, `--records` records of `--record-bytes`);
 *  2. consume throughput through the transport, fresh group, whole topic (records/s);
 *  3. traces/s through linearize → Parquet sink over Kafka vs over the memory transport, same
 *     verified trees (ratio; target >= 0.5);
 *  4. a raw consume of the traces topic (the client alone, no transport) vs the sink stage alone
 *     on it (how close the sink runs to the consume limit).
 *
 * Memory and Kafka runs alternate `--repeat` times (the machine is shared and noisy): each Kafka
 * run is paired with the memory run just before it, and the median pair ratio is the result.
 * The kafkajs transport was measured side by side with this one before it was removed: see
 * BENCHMARKS.md (commit 81693eb has both, `--clients kafkajs,platformatic`).
 *
 *   npm run build && node dist/bench/kafkaSink.js [--problems 300] [--copies 4] [--repeat 3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Consumer as ClientConsumer, MessagesStreamModes } from '@platformatic/kafka';
import { countdownDomain } from '../domains/countdown/index.js';
import { domainOf } from '../domains/registry.js';
import { InMemoryMetrics, silentLogger } from '../operators/common/metrics.js';
import { stableId } from '../operators/common/hash.js';
import { defaultLinearizeConfig } from '../operators/linearize/linearizeConfig.js';
import { searchTree } from '../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG } from '../operators/mcts/searchConfig.js';
import { labelTree } from '../operators/verify/labelTree.js';
import { TRACES_TOPIC } from '../schemas/trace.js';
import { allTopicSpecs } from '../schemas/topics.js';
import { VerifiedTreeCodec, VERIFIED_TREES_TOPIC, type VerifiedTree } from '../schemas/verifiedTree.js';
import { ParquetEncoder } from '../streams/sinks/parquetEncoder.js';
import { createOnnxCountdownPolicy } from '../streams/policies/onnxPolicy.js';
import { waitForDrain } from '../streams/stages/drain.js';
import { STAGE_GROUPS } from '../streams/stages/groups.js';
import { startTopology } from '../streams/stages/topology.js';
import { createKafkaTransport } from '../streams/transport/kafka/kafkaTransport.js';
import { startLocalKafka } from '../streams/transport/kafka/localCluster.js';
import { createMemoryTransport } from '../streams/transport/memoryTransport.js';
import type { Transport } from '../streams/transport/transport.js';

const { values } = parseArgs({
  options: {
    problems: { type: 'string', default: '300' },
    copies: { type: 'string', default: '4' },
    repeat: { type: 'string', default: '3' },
    records: { type: 'string', default: '20000' },
    'record-bytes': { type: 'string', default: '2000' },
  },
});


/** Produce `count` records of `size` bytes to a fresh 4-partition topic, 100 per send, 8 sends in flight; then a fresh group consumes them all. */
async function produceConsume(transport: Transport, count: number, size: number): Promise<{ produce: number; consume: number }> {
  const topic = `bench-pc-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  await transport.createTopics([{ name: topic, partitions: 4, retentionMs: -1 }]);
  const producer = await transport.producer();
  const value = new Uint8Array(size).fill(120);
  const batches = Array.from({ length: Math.ceil(count / 100) }, (_, b) => Array.from({ length: Math.min(100, count - b * 100) }, (_, i) => ({ key: `k${b * 100 + i}`, value })));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < batches.length) await producer.send(topic, batches[next++]!);
  }));
  const produceSeconds = (performance.now() - t0) / 1000;
  await producer.close();
  const t1 = performance.now();
  const consumer = await transport.consumer({ groupId: `${topic}-g`, topics: [topic] });
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    const sub = consumer.records.subscribe({
      next: () => {
        got += 1;
        if (got === count) {
          sub.unsubscribe();
          resolve();
        }
      },
      error: reject,
    });
  });
  const consumeSeconds = (performance.now() - t1) / 1000;
  await consumer.close();
  return { produce: count / produceSeconds, consume: count / consumeSeconds };
}

// Valid trees from a real (small-budget) search; each is published `copies` times under new ids
// so the stream is long enough to time without paying for more search.
async function makeTrees(): Promise<VerifiedTree[]> {
  const policy = await createOnnxCountdownPolicy({ maxBatch: 4096 });
  const problems = countdownDomain.generate?.({ count: Number(values.problems), seed: 5, difficulty: 3 }) ?? [];
  const trees: VerifiedTree[] = [];
  for (const problem of problems) {
    const tree = await searchTree(problem, { ...DEFAULT_SEARCH_CONFIG, iterations: 8, seed: 5 }, { policy, verifier: countdownDomain.verifier, clock: Date.now });
    const verified = await labelTree(tree, countdownDomain.verifier);
    if (verified.valid) trees.push(verified);
  }
  await policy.close?.();
  const copies = Number(values.copies);
  return trees.flatMap((t) => Array.from({ length: copies }, (_, c) => ({ ...t, tree_id: stableId('tree', t.tree_id, c) })));
}

/** linearize + sink stages over `transport`, timed from the first published tree to the last trace written. */
async function linearizeToParquet(transport: Transport, trees: readonly VerifiedTree[]): Promise<{ seconds: number; traces: number }> {
  const out = await mkdtemp(join(tmpdir(), 'bench-sink-'));
  const metrics = new InMemoryMetrics();
  const encoder = ParquetEncoder.create({ workers: 1 });
  await transport.createTopics(allTopicSpecs({ partitions: 4 }));
  const producer = await transport.producer();
  const topology = await startTopology(
    { search: { ...DEFAULT_SEARCH_CONFIG }, linearize: { ...defaultLinearizeConfig, seed: 5 }, searchConcurrency: 1, verifyTimeoutMs: 30_000, out, sink: { maxRecords: 1000, lingerMs: 100 } },
    { transport, producer, policy: () => { throw new TypeError('no search in this benchmark'); }, domainOf, encoder, metrics, logger: silentLogger, clock: Date.now },
    ['linearize', 'sink'],
  );
  const started = performance.now();
  for (let i = 0; i < trees.length; i += 500) {
    await producer.send(VERIFIED_TREES_TOPIC, trees.slice(i, i + 500).map((t) => ({ key: t.problem_id, value: VerifiedTreeCodec.encode(t) })));
  }
  await waitForDrain(transport, [
    { groupId: STAGE_GROUPS.linearize, topic: VERIFIED_TREES_TOPIC },
    { groupId: STAGE_GROUPS.sinkTraces, topic: TRACES_TOPIC },
  ], { pollMs: 20 });
  const seconds = (performance.now() - started) / 1000;
  await topology.stop();
  await producer.close();
  await encoder.close();
  await rm(out, { recursive: true, force: true });
  return { seconds, traces: metrics.counter('traces.written') };
}

/**
 * The sink stage alone on an already-filled traces topic, with a fresh group: records per second
 * from starting the stage until its group has committed every record of the topic.
 */
async function sinkOnly(transport: Transport, expected: number): Promise<number> {
  const out = await mkdtemp(join(tmpdir(), 'bench-sink-only-'));
  const metrics = new InMemoryMetrics();
  const encoder = ParquetEncoder.create({ workers: 1 });
  const producer = await transport.producer();
  const groupId = `bench-sink-${Date.now()}`;
  const started = performance.now();
  const topology = await startTopology(
    { search: { ...DEFAULT_SEARCH_CONFIG }, linearize: { ...defaultLinearizeConfig }, searchConcurrency: 1, verifyTimeoutMs: 30_000, out, sink: { maxRecords: 1000, lingerMs: 100 } },
    { transport, producer, policy: () => { throw new TypeError('unused'); }, domainOf, encoder, metrics, logger: silentLogger, clock: Date.now, groupId },
    ['sink'],
  );
  await waitForDrain(transport, [{ groupId: `${groupId}.traces`, topic: TRACES_TOPIC }], { pollMs: 10 });
  const seconds = (performance.now() - started) / 1000;
  await topology.stop();
  await producer.close();
  await encoder.close();
  await rm(out, { recursive: true, force: true });
  return expected / seconds;
}

/** The client alone (@platformatic/kafka, no transport): a fresh group streams every record of the traces topic, no decoding. */
async function rawConsume(brokers: string[], expected: number): Promise<{ perSecond: number; mbPerSecond: number }> {
  const started = performance.now();
  const consumer = new ClientConsumer({ clientId: 'bench-raw', groupId: `bench-raw-${Date.now()}`, bootstrapBrokers: brokers, maxWaitTime: 500, autocommit: false });
  const stream = await consumer.consume({ topics: [TRACES_TOPIC], mode: MessagesStreamModes.EARLIEST, autocommit: false });
  let count = 0;
  let bytes = 0;
  await new Promise<void>((resolve) => {
    stream.on('data', (m) => {
      bytes += m.value?.byteLength ?? 0;
      count += 1;
      if (count === expected) resolve();
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await consumer.close(true);
  return { perSecond: count / seconds, mbPerSecond: bytes / 1e6 / seconds };
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const trees = await makeTrees();
const dir = await mkdtemp(join(tmpdir(), 'bench-kafka-'));
const cluster = await startLocalKafka({ nodes: 1, dir, fresh: true });
const brokers = cluster.bootstrap.split(',');
const fmt = (x: number): string => x.toFixed(0);
try {
  const transport = createKafkaTransport({ brokers, logger: silentLogger });
  const pairs: { memory: number; kafka: number }[] = [];
  const io: { produce: number; consume: number }[] = [];
  let traces = 0;
  // Pairs alternate memory and Kafka so both see the same background load; the stage groups keep
  // their commits between Kafka runs, so each run consumes just the trees it publishes.
  for (let i = 0; i < Number(values.repeat); i += 1) {
    io.push(await produceConsume(transport, Number(values.records), Number(values['record-bytes'])));
    const memory = await linearizeToParquet(createMemoryTransport(), trees);
    const overKafka = await linearizeToParquet(transport, trees);
    traces = overKafka.traces;
    if (memory.traces !== overKafka.traces) throw new Error(`memory wrote ${memory.traces} traces, Kafka ${overKafka.traces}`);
    pairs.push({ memory: memory.traces / memory.seconds, kafka: overKafka.traces / overKafka.seconds });
  }
  const onTopic = [...(await transport.endOffsets(TRACES_TOPIC)).values()].reduce((a, b) => a + b, 0);
  const sinkRate = await sinkOnly(transport, onTopic);
  await transport.close();
  const raw = await rawConsume(brokers, onTopic);
  const ratios = pairs.map((p) => p.kafka / p.memory);
  console.log(
    [
      `verified trees: ${trees.length} (valid 3-number Countdown trees x ${values.copies} copies), traces per run: ${traces}; produce/consume: ${values.records} records of ${values['record-bytes']} bytes, 4 partitions`,
      `produce ${fmt(median(io.map((x) => x.produce)))} records/s (runs ${io.map((x) => fmt(x.produce)).join(', ')}), consume ${fmt(median(io.map((x) => x.consume)))} records/s (runs ${io.map((x) => fmt(x.consume)).join(', ')})`,
      ...pairs.map((p, i) => `run ${i + 1}: memory ${fmt(p.memory)} traces/s, Kafka (1 local broker) ${fmt(p.kafka)} traces/s, ratio ${(ratios[i] as number).toFixed(2)}`),
      `ratio Kafka / memory (median of ${pairs.length} pairs): ${median(ratios).toFixed(2)} (target >= 0.5)`,
      `raw @platformatic/kafka consume of ${TRACES_TOPIC} (${onTopic} records): ${fmt(raw.perSecond)} records/s (${raw.mbPerSecond.toFixed(1)} MB/s)`,
      `sink stage alone on the same topic (start to all committed): ${fmt(sinkRate)} traces/s = ${(sinkRate / raw.perSecond).toFixed(2)} of the raw consume rate`,
    ].join('\n'),
  );
} finally {
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
