import { randomUUID } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaTransport } from '../../../streams/transport/kafka/kafkaTransport.js';
import { processRssBytes } from '../../../streams/transport/kafka/localCluster.js';
import { groupCoordinatorNode, startTestKafka } from '../../helpers/kafka.js';
import type { TestKafka } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/waitFor.js';

let kafka: TestKafka;
beforeAll(async () => {
  kafka = await startTestKafka({ nodes: 3 });
  const rss = kafka.cluster.nodes.map((n) => Math.round((processRssBytes(n.pid) ?? 0) / 2 ** 20));
  process.stderr.write(
    `[kafka 3-node] format ${Math.round(kafka.cluster.timings.formatMs)} ms, start ${Math.round(kafka.cluster.timings.startMs)} ms, RSS MiB ${rss.join('/')}\n`,
  );
});
afterAll(async () => {
  await kafka?.stop();
});

describe('3-node local cluster (RF 3, min ISR 2)', () => {
  it('loses and duplicates nothing when a node is SIGKILLed mid-stream, and takes it back', async () => {
    const t = createKafkaTransport({ brokers: kafka.brokers, logLevel: 'nothing' });
    const topic = `ha-${randomUUID()}`;
    // 6 partitions over 3 nodes: every node leads some, so the kill always moves leaders.
    await t.createTopics([{ name: topic, partitions: 6, retentionMs: -1, replicationFactor: 3 }]);
    const producer = await t.producer();
    const consumer = await t.consumer({ groupId: `g-${randomUUID()}`, topics: [topic] });
    const seen = new Map<string, number>();
    const decoder = new TextDecoder();
    consumer.records.subscribe((r) => {
      const v = decoder.decode(r.value);
      seen.set(v, (seen.get(v) ?? 0) + 1);
    });
    const total = 400;
    const expected = Array.from({ length: total }, (_, i) => `r${i}`);
    const send = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += 25) {
        // Multi-partition sends: the case where a client retrying a whole request after a leader move can drop or misroute records.
        await producer.send(topic, Array.from({ length: 25 }, (_, j) => ({ key: `k${i + j}`, value: new TextEncoder().encode(`r${i + j}`) })));
      }
    };
    try {
      await send(0, total / 2);
      await waitFor(() => seen.size >= total / 2, { timeoutMs: 30_000, message: 'first half consumed' });
      // Node 1 is the first voter: killing it usually takes the active controller down too.
      await kafka.cluster.stopNode(1, 'SIGKILL');
      await send(total / 2, total);
      await waitFor(() => seen.size >= total, {
        timeoutMs: 40_000,
        message: `every record consumed after the kill (missing ${expected.filter((v) => !seen.has(v)).slice(0, 10).join(',')})`,
      });
      expect([...seen.keys()].sort()).toEqual([...expected].sort());
      // acks=all + idempotence: retries during fail-over wrote no duplicate into the log.
      const ends = await t.endOffsets(topic);
      expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(total);

      await kafka.cluster.startNode(1);
      const admin = new Admin({ clientId: 'test-cluster', bootstrapBrokers: kafka.brokers });
      const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
      await admin.close();
      expect([...meta.brokers.keys()].sort()).toEqual([1, 2, 3]);
      expect(meta.topics.get(topic)!.partitions.every((p) => p.replicas.length === 3)).toBe(true);
    } finally {
      await consumer.close();
      await producer.close();
      await t.close();
    }
  }, 150_000);

  it('keeps commits made while the group coordinator is dead, lands them once a new coordinator is up, and does not hand out finished records again', async () => {
    const t = createKafkaTransport({ brokers: kafka.brokers, logLevel: 'nothing' });
    const topic = `coord-${randomUUID()}`;
    const groupId = `g-${randomUUID()}`;
    const partitions = 4;
    await t.createTopics([{ name: topic, partitions, retentionMs: -1, replicationFactor: 3 }]);
    const producer = await t.producer();
    const consumer = await t.consumer({ groupId, topics: [topic] });
    const deliveries = new Map<string, number>(); // partition@offset -> times delivered
    const next = new Map<number, number>(); // partition -> position after the last delivered record
    const values = new Set<string>();
    const decoder = new TextDecoder();
    consumer.records.subscribe((r) => {
      const at = `${r.partition}@${r.offset}`;
      deliveries.set(at, (deliveries.get(at) ?? 0) + 1);
      next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1));
      values.add(decoder.decode(r.value));
    });
    const total = 40;
    const record = (value: string, partition: number): { key: string; value: Uint8Array; partition: number } => ({ key: value, value: new TextEncoder().encode(value), partition });
    try {
      await producer.send(topic, Array.from({ length: total }, (_, i) => record(`r${i}`, i % partitions)));
      await waitFor(() => deliveries.size >= total, { timeoutMs: 30_000, message: 'every record delivered' });
      await kafka.cluster.stopNode(await groupCoordinatorNode(kafka), 'SIGKILL');
      // Every record is finished: commit all of it while the coordinator is gone. The commit
      // cannot be acknowledged now; it must not throw, and must not be forgotten either.
      await consumer.commit([...next].map(([partition, offset]) => ({ topic, partition, offset })));
      await waitFor(
        async () => {
          const [ends, committed] = await Promise.all([t.endOffsets(topic), t.committedOffsets(groupId, topic)]);
          return [...ends].every(([p, end]) => committed.get(p) === end);
        },
        { timeoutMs: 60_000, message: 'the commit made while the coordinator was dead reached the new coordinator' },
      );
      // One marker per partition: a partition is delivered in order, so once every marker is in,
      // any redelivery of the finished records (fetching from the stale committed offset) is too.
      await producer.send(topic, Array.from({ length: partitions }, (_, p) => record(`marker${p}`, p)));
      await waitFor(() => Array.from({ length: partitions }, (_, p) => values.has(`marker${p}`)).every(Boolean), { timeoutMs: 30_000, message: 'markers delivered' });
      const again = [...deliveries].filter(([, n]) => n > 1).map(([at]) => at);
      expect(again).toEqual([]);
    } finally {
      await consumer.close();
      await producer.close();
      await t.close();
    }
  }, 240_000);
});
