/**
 * Recovery when the group coordinator's broker dies, on one 3-node local cluster (RF 3, min ISR
 * 2): a member of the Kafka transport's consumer group has every record of a 4-partition
 * topic in hand, the broker coordinating every group is SIGKILLed, the member commits, and the
 * clock runs until (a) the new coordinator has that commit and (b) a new record on every partition
 * has been delivered. Redeliveries of the finished records are counted (the right number is 0).
 * The killed node is restarted between runs. The kafkajs transport was measured side by side
 * before it was removed (BENCHMARKS.md; commit 81693eb runs both with `--clients kafkajs,platformatic`).
 *
 *   npm run build && node dist/bench/kafkaFailover.js [--rounds 3]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin, FindCoordinatorKeyTypes } from '@platformatic/kafka';
import { silentLogger } from '../operators/common/metrics.js';
import { createKafkaTransport } from '../streams/transport/kafka/kafkaTransport.js';
import { startLocalKafka, type LocalKafka } from '../streams/transport/kafka/localCluster.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });

const poll = async (condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> => {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
};

async function coordinatorNode(brokers: string[]): Promise<number> {
  const admin = new Admin({ clientId: 'bench-coordinator', bootstrapBrokers: brokers });
  try {
    const [found] = await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: ['any-group'] });
    if (found === undefined) throw new Error('no coordinator');
    return found.nodeId;
  } finally {
    await admin.close();
  }
}

/** One kill: seconds from the SIGKILL until the commit landed and every partition delivered again; redeliveries. */
async function oneFailover(cluster: LocalKafka): Promise<{ seconds: number; redelivered: number; killed: number }> {
  const brokers = cluster.bootstrap.split(',');
  const t = createKafkaTransport({ brokers, logger: silentLogger });
  const topic = `failover-${randomUUID()}`;
  const groupId = `g-${randomUUID()}`;
  const partitions = 4;
  await t.createTopics([{ name: topic, partitions, retentionMs: -1, replicationFactor: 3 }]);
  const producer = await t.producer();
  const consumer = await t.consumer({ groupId, topics: [topic] });
  const deliveries = new Map<string, number>();
  const next = new Map<number, number>();
  const markers = new Set<number>();
  const sub = consumer.records.subscribe((r) => {
    const at = `${r.partition}@${r.offset}`;
    deliveries.set(at, (deliveries.get(at) ?? 0) + 1);
    next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1));
    if (new TextDecoder().decode(r.value) === 'marker') markers.add(r.partition);
  });
  const record = (value: string, partition: number): { key: string; value: Uint8Array; partition: number } => ({ key: value, value: new TextEncoder().encode(value), partition });
  try {
    await producer.send(topic, Array.from({ length: 40 }, (_, i) => record(`r${i}`, i % partitions)));
    await poll(() => deliveries.size >= 40, 60_000, 'every record delivered');
    const killed = await coordinatorNode(brokers);
    await cluster.stopNode(killed, 'SIGKILL');
    const started = performance.now();
    await consumer.commit([...next].map(([partition, offset]) => ({ topic, partition, offset })));
    await poll(async () => {
      const [ends, committed] = await Promise.all([t.endOffsets(topic), t.committedOffsets(groupId, topic)]);
      return [...ends].every(([p, end]) => committed.get(p) === end);
    }, 240_000, 'the commit reached the new coordinator');
    await producer.send(topic, Array.from({ length: partitions }, (_, p) => record('marker', p)));
    await poll(() => markers.size === partitions, 240_000, 'a new record delivered on every partition');
    const seconds = (performance.now() - started) / 1000;
    const redelivered = [...deliveries.values()].filter((n) => n > 1).length;
    return { seconds, redelivered, killed };
  } finally {
    sub.unsubscribe();
    await consumer.close();
    await producer.close();
    await t.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'bench-failover-'));
const cluster = await startLocalKafka({ nodes: 3, dir, fresh: true, heapMb: 384 });
const runs: { seconds: number; redelivered: number }[] = [];
try {
  for (let r = 0; r < Number(values.rounds); r += 1) {
    const result = await oneFailover(cluster);
    runs.push(result);
    process.stderr.write(`round ${r + 1}: recovered ${result.seconds.toFixed(1)} s after node ${result.killed} was SIGKILLed, ${result.redelivered} records redelivered\n`);
    await cluster.startNode(result.killed);
  }
  const sorted = runs.map((x) => x.seconds).sort((a, b) => a - b);
  console.log(`coordinator SIGKILL -> commit landed and every partition delivering: ${sorted.map((s) => s.toFixed(1)).join(', ')} s (median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)}); records redelivered: ${runs.map((x) => x.redelivered).join(', ')}`);
} finally {
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
