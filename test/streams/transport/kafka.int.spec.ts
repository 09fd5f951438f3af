import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Admin, ConfigResourceTypes } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { createKafkaTransport } from '../../../streams/transport/kafka/kafkaTransport.js';
import type { Assignment, ConsumedRecord, Transport } from '../../../streams/transport/index.js';
import { startTestKafka } from '../../helpers/kafka.js';
import type { TestKafka } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/waitFor.js';
import { describeTransportContract } from './contract.js';

let kafka: TestKafka;
beforeAll(async () => {
  kafka = await startTestKafka({ nodes: 1 });
});
afterAll(async () => {
  await kafka?.stop();
});

const make = async (): Promise<Transport> => createKafkaTransport({ brokers: kafka.brokers, logLevel: 'error' });

describeTransportContract('kafka (real broker)', make, { timeoutMs: 60_000, quietMs: 1_500 });

describe('kafka transport specifics', () => {
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

  it('creates topics with retention and cleanup policy as topic configs', async () => {
    const t = await make();
    const forever = `cfg-forever-${randomUUID()}`;
    const compacted = `cfg-compact-${randomUUID()}`;
    try {
      await t.createTopics([
        { name: forever, partitions: 2, retentionMs: -1 },
        { name: compacted, partitions: 1, retentionMs: 3_600_000, compacted: true },
      ]);
      const admin = new Admin({ clientId: 'test-configs', bootstrapBrokers: kafka.brokers });
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [forever, compacted].map((name) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configurationKeys: ['retention.ms', 'cleanup.policy'] })),
      });
      await admin.close();
      const cfg = (name: string): Record<string, string | null | undefined> =>
        Object.fromEntries(res.find((r) => r.resourceName === name)!.configs.map((e) => [e.name, e.value]));
      expect(cfg(forever)).toEqual({ 'retention.ms': '-1', 'cleanup.policy': 'delete' });
      expect(cfg(compacted)).toEqual({ 'retention.ms': '3600000', 'cleanup.policy': 'compact' });
      expect((await t.endOffsets(forever)).size).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('raises max.message.bytes where asked: a 5 MB record goes through, a too large one is rejected as too_large', async () => {
    const t = await make();
    const big = `cfg-big-${randomUUID()}`;
    const small = `cfg-small-${randomUUID()}`;
    const producer = await t.producer();
    try {
      await t.createTopics([
        { name: big, partitions: 1, retentionMs: -1, maxMessageBytes: 16 * 1024 * 1024 },
        { name: small, partitions: 1, retentionMs: -1, maxMessageBytes: 100_000 },
      ]);
      await producer.send(big, [{ key: 'a', value: bytes('before') }]);
      await producer.send(big, [{ key: 'k', value: new Uint8Array(5_000_000).fill(7) }]);
      await producer.send(big, [{ key: 'b', value: bytes('after') }]);
      const err = await producer.send(small, [{ key: 'k', value: new Uint8Array(600_000) }]).then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ kind: 'too_large', retriable: false });
      // The consumer reads past a record larger than its per-partition fetch size (1 MiB).
      const consumer = await t.consumer({ groupId: `g-${randomUUID()}`, topics: [big] });
      const got: [number, number][] = [];
      const sub = consumer.records.subscribe((r) => got.push([r.offset, r.value.byteLength]));
      await waitFor(() => got.length === 3, { timeoutMs: 60_000 });
      sub.unsubscribe();
      await consumer.close();
      expect(got).toEqual([
        [0, 6],
        [1, 5_000_000],
        [2, 5],
      ]);
    } finally {
      await producer.close();
      await t.close();
    }
  }, 120_000);

  it('wraps broker failures as transport AppErrors and does not auto-create topics', async () => {
    const t = await make();
    const producer = await t.producer();
    const missing = `missing-${randomUUID()}`;
    try {
      const err = await producer.send(missing, [{ key: null, value: bytes('x') }]).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).kind).toBe('transport');
      expect(await t.listTopics()).not.toContain(missing);
      const err2 = await t.endOffsets(missing).then(() => null, (e: unknown) => e);
      expect((err2 as AppError).kind).toBe('transport');
    } finally {
      await producer.close();
      await t.close();
    }
  }, 120_000);

  it('pausing in the middle of a large batch loses and duplicates nothing', async () => {
    const t = await make();
    const topic = `pause-${randomUUID()}`;
    await t.createTopics([{ name: topic, partitions: 1, retentionMs: -1 }]);
    const producer = await t.producer();
    const total = 2_000;
    for (let i = 0; i < total; i += 500) {
      await producer.send(topic, Array.from({ length: 500 }, (_, j) => ({ key: null, value: bytes(String(i + j)) })));
    }
    const consumer = await t.consumer({ groupId: `g-${randomUUID()}`, topics: [topic] });
    const got: ConsumedRecord[] = [];
    // Backpressure as a stage does it: pause above a high-water mark, resume when drained.
    const sub = consumer.records.subscribe((r) => {
      got.push(r);
      if (got.length % 300 === 0) {
        consumer.pause();
        setTimeout(() => consumer.resume(), 50);
      }
    });
    try {
      await waitFor(() => got.length >= total, { timeoutMs: 60_000, message: `${total} records` });
      await new Promise((ok) => setTimeout(ok, 500));
      expect(got.map((r) => r.offset)).toEqual(Array.from({ length: total }, (_, i) => i));
    } finally {
      sub.unsubscribe();
      await consumer.close();
      await producer.close();
      await t.close();
    }
  }, 120_000);

  it('batches sends made while a request is in flight into the partition\'s next request, in order', async () => {
    // Every request the client writes to a broker is published on this channel; Produce is API key 0.
    let produceRequests = 0;
    const channel = 'tracing:plt:kafka:connections:api:start';
    const count = (message: unknown): void => void ((message as { apiKey?: number }).apiKey === 0 && (produceRequests += 1));
    subscribe(channel, count);
    const t = await make();
    const topic = `coalesce-${randomUUID()}`;
    await t.createTopics([{ name: topic, partitions: 2, retentionMs: -1 }]);
    const producer = await t.producer();
    const total = 200;
    try {
      produceRequests = 0;
      const acks: Promise<void>[] = [];
      // One record per event-loop turn, as a stage finishing records one at a time sends them.
      for (let i = 0; i < total; i += 1) {
        acks.push(producer.send(topic, [{ key: null, partition: i % 2, value: bytes(String(i)) }]));
        await new Promise((ok) => setImmediate(ok));
      }
      await Promise.all(acks);
      // One request per turn would be 200; while one is unacknowledged the others accumulate
      // (how many depends on the broker's round trip: ~75 requests on an idle machine).
      expect(produceRequests).toBeGreaterThan(0);
      expect(produceRequests).toBeLessThan(total * 0.6);
      const consumer = await t.consumer({ groupId: `g-${randomUUID()}`, topics: [topic] });
      const got: ConsumedRecord[] = [];
      const sub = consumer.records.subscribe((r) => got.push(r));
      await waitFor(() => got.length >= total, { timeoutMs: 30_000, message: `${total} records` });
      sub.unsubscribe();
      await consumer.close();
      for (const partition of [0, 1]) {
        const values = got.filter((r) => r.partition === partition).map((r) => Number(new TextDecoder().decode(r.value)));
        expect(values).toEqual(Array.from({ length: total / 2 }, (_, i) => 2 * i + partition));
      }
    } finally {
      unsubscribe(channel, count);
      await producer.close();
      await t.close();
    }
  }, 120_000);

  it('keeps records that arrive while nobody subscribes', async () => {
    const t = await make();
    const topic = `early-${randomUUID()}`;
    await t.createTopics([{ name: topic, partitions: 1, retentionMs: -1 }]);
    const producer = await t.producer();
    await producer.send(topic, Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: bytes(`v${i}`) })));
    const consumer = await t.consumer({ groupId: `g-${randomUUID()}`, topics: [topic] });
    try {
      await new Promise((ok) => setTimeout(ok, 1_500));
      const got: number[] = [];
      const sub = consumer.records.subscribe((r) => got.push(r.offset));
      await waitFor(() => got.length >= 5, { timeoutMs: 30_000 });
      expect(got).toEqual([0, 1, 2, 3, 4]);
      sub.unsubscribe();
      // Between subscriptions nothing is fetched-and-dropped either.
      await producer.send(topic, Array.from({ length: 3 }, (_, i) => ({ key: `k${i}`, value: bytes(`w${i}`) })));
      await new Promise((ok) => setTimeout(ok, 1_500));
      const later: number[] = [];
      const sub2 = consumer.records.subscribe((r) => later.push(r.offset));
      await waitFor(() => later.length >= 3, { timeoutMs: 30_000 });
      expect(later).toEqual([5, 6, 7]);
      sub2.unsubscribe();
    } finally {
      await consumer.close();
      await producer.close();
      await t.close();
    }
  }, 60_000);

  // @platformatic/kafka 2.12.1 keeps fetching with the old assignment until the join answers: a
  // fetch in flight then returns records of the partitions that went to the other member, and moves
  // this member's position on them past records nobody committed.
  it('a partition that comes back without a commit is read again from the start, records produced during the rebalance included', async () => {
    const t = await make();
    const topic = `stale-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    await t.createTopics([{ name: topic, partitions: 4, retentionMs: -1 }]);
    const producer = await t.producer();
    const open = async () => {
      const consumer = await t.consumer({ groupId: group, topics: [topic] });
      const got: ConsumedRecord[] = [];
      let assignment: Assignment | undefined;
      consumer.records.subscribe((r) => got.push(r));
      consumer.assignments.subscribe((a) => void (assignment = a));
      const owned = (): number => assignment?.partitions.length ?? 0;
      const seen = (): Set<string> => new Set(got.map((r) => `${r.partition}:${r.offset}`));
      return { consumer, owned, seen };
    };
    // Records keep arriving on every partition, so A has a fetch in flight when the rebalance lands.
    let producing = true;
    let sent = 0;
    const feed = (async () => {
      while (producing) {
        await producer.send(topic, [0, 1, 2, 3].map((partition) => ({ key: null, partition, value: bytes(String(sent)) })));
        sent += 1;
        await new Promise((ok) => setTimeout(ok, 5));
      }
    })();
    try {
      const a = await open();
      await waitFor(() => a.owned() === 4 && a.seen().size > 0, { timeoutMs: 60_000, message: 'A owns all 4 partitions and reads' });
      const b = await open();
      await waitFor(() => a.owned() === 2 && b.owned() === 2, { timeoutMs: 60_000, message: 'A and B split 4 partitions' });
      const sentAtSplit = sent;
      await waitFor(() => sent >= sentAtSplit + 20, { timeoutMs: 60_000, message: 'records sent after the split' });
      producing = false;
      await feed;
      await waitFor(() => b.seen().size === 2 * sent, { timeoutMs: 60_000, message: 'B reads its partitions' });
      // B leaves without committing: every record of its partitions is A's to do again.
      await b.consumer.close();
      await waitFor(() => a.owned() === 4, { timeoutMs: 60_000, message: 'A owns all 4 again' });
      const expected = [0, 1, 2, 3].flatMap((partition) => Array.from({ length: sent }, (_, offset) => `${partition}:${offset}`));
      await waitFor(() => expected.every((pair) => a.seen().has(pair)), { timeoutMs: 60_000, message: `all ${expected.length} records at A` }).catch((error: unknown) => {
        const seen = a.seen();
        throw new Error(`${String(error)}; missing ${expected.filter((pair) => !seen.has(pair)).join(' ')}`);
      });
      await a.consumer.close();
    } finally {
      producing = false;
      await feed;
      await producer.close();
      await t.close();
    }
  }, 300_000);
});

describe('kafka transport: fromTimestamp', () => {
  it('ignores the offsets the group already committed', async () => {
    const t = await make();
    const topic = `ts-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    await t.createTopics([{ name: topic, partitions: 1, retentionMs: -1 }]);
    const producer = await t.producer();
    const base = Date.now() - 60_000;
    await producer.send(topic, Array.from({ length: 5 }, (_, i) => ({ key: null, value: new Uint8Array([i]), timestamp: base + i * 1000 })));
    try {
      const first = await t.consumer({ groupId: group, topics: [topic] });
      const seen: number[] = [];
      first.records.subscribe((r) => seen.push(r.offset));
      await waitFor(() => seen.length >= 5, { timeoutMs: 30_000 });
      await first.commit([{ topic, partition: 0, offset: 5 }]);
      await first.close();
      const replay = await t.consumer({ groupId: group, topics: [topic], fromTimestamp: base + 1000 });
      const again: number[] = [];
      replay.records.subscribe((r) => again.push(r.offset));
      await waitFor(() => again.length >= 4, { timeoutMs: 30_000 });
      expect(again).toEqual([1, 2, 3, 4]);
      await replay.close();
    } finally {
      await producer.close();
      await t.close();
    }
  }, 90_000);
});
