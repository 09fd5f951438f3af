import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../streams/transport/index.js';
import type {
  Assignment,
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  OutgoingRecord,
  Producer,
  Transport,
} from '../../../streams/transport/index.js';
import { quietPeriod, waitFor } from '../../helpers/waitFor.js';

/** Knobs so the same suite runs against memory (fast) and a real broker (rebalances take seconds). */
export interface TransportContractOptions {
  /** Longest wait for any one condition (ms). Default 30 000. */
  readonly timeoutMs?: number;
  /** How long "nothing arrives" is watched, and how long a fresh consumer settles (ms). Default 1 500. */
  readonly quietMs?: number;
}

interface Collected {
  readonly records: ConsumedRecord[];
  /** The latest assignment seen, if any. */
  assignment(): Assignment | undefined;
  /** Distinct `partition:offset` pairs received (topic-qualified when `withTopic`). */
  distinct(withTopic?: boolean): Set<string>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const text = (value: Uint8Array): string => decoder.decode(value);
const partitionsOf = (assignment: Assignment | undefined, topic: string): number[] =>
  (assignment?.partitions ?? [])
    .filter((p) => p.topic === topic)
    .map((p) => p.partition)
    .sort((a, b) => a - b);

/**
 * Registers the transport contract tests: every `Transport` (memory, Kafka) must pass them.
 * Each test uses a fresh random topic and group id, so it can run against a shared broker, and
 * polls with `waitFor` rather than sleeping. Delivery is at-least-once: where a rebalance is
 * involved, assertions are on distinct (partition, offset) pairs, not on counts.
 *
 * @example
 * describeTransportContract('kafka', async () => createKafkaTransport({ brokers }), { timeoutMs: 60_000 });
 */
export function describeTransportContract(
  name: string,
  makeTransport: () => Promise<Transport>,
  options: TransportContractOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const quietMs = options.quietMs ?? 1_500;
  const testTimeoutMs = timeoutMs * 4 + quietMs * 4;

  describe(`transport contract: ${name}`, () => {
    let transport: Transport;
    let cleanups: (() => Promise<void> | void)[] = [];

    beforeEach(async () => {
      transport = await makeTransport();
      cleanups = [];
    });

    afterEach(async () => {
      // Consumers first (they leave their groups), then producers, then the transport.
      for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
      await transport.close();
    });

    const wait = <T>(condition: () => T | Promise<T>, message: string) => waitFor(condition, { timeoutMs, message, intervalMs: 20 });

    const freshTopic = async (partitions: number, prefix = 'contract'): Promise<string> => {
      const topic = `${prefix}-${randomUUID()}`;
      await transport.createTopics([{ name: topic, partitions, retentionMs: -1 }]);
      return topic;
    };
    const freshGroup = (): string => `group-${randomUUID()}`;

    const openProducer = async (): Promise<Producer> => {
      const producer = await transport.producer();
      cleanups.push(() => producer.close());
      return producer;
    };

    /** Opens a consumer and starts collecting its records and assignments at once. */
    const openConsumer = async (consumerOptions: ConsumerOptions): Promise<{ consumer: Consumer; got: Collected; close(): Promise<void> }> => {
      const consumer = await transport.consumer(consumerOptions);
      const records: ConsumedRecord[] = [];
      let latest: Assignment | undefined;
      const subscriptions: Subscription[] = [
        consumer.records.subscribe((record) => records.push(record)),
        consumer.assignments.subscribe((assignment) => {
          latest = assignment;
        }),
      ];
      let closed = false;
      const close = async (): Promise<void> => {
        if (closed) return;
        closed = true;
        await consumer.close();
        for (const subscription of subscriptions) subscription.unsubscribe();
      };
      cleanups.push(close);
      const got: Collected = {
        records,
        assignment: () => latest,
        distinct: (withTopic = false) => new Set(records.map((r) => `${withTopic ? `${r.topic}:` : ''}${r.partition}:${r.offset}`)),
      };
      return { consumer, got, close };
    };

    const waitForAssignment = (got: Collected, topic: string, count: number, who: string) =>
      wait(() => partitionsOf(got.assignment(), topic).length === count, `${who} owns ${count} partition(s) of ${topic}`);

    it('creates topics idempotently and lists them', async () => {
      const a = await freshTopic(3);
      const b = await freshTopic(1);
      await transport.createTopics([{ name: a, partitions: 3, retentionMs: -1 }]);
      const listed = await transport.listTopics();
      expect(listed).toEqual(expect.arrayContaining([a, b]));
      const ends = await transport.endOffsets(a);
      expect([...ends.entries()].sort(([x], [y]) => x - y)).toEqual([
        [0, 0],
        [1, 0],
        [2, 0],
      ]);
    }, testTimeoutMs);

    it('round-trips keys, values, headers and timestamps', async () => {
      const topic = await freshTopic(1);
      const producer = await openProducer();
      const base = Date.now() - 60_000;
      const sent: OutgoingRecord[] = [
        { key: 'alpha', value: bytes('one'), headers: { trace: 't-1', kind: 'a' }, timestamp: base },
        { key: null, value: bytes('two ✓'), timestamp: base + 1 },
        { key: 'gamma', value: Uint8Array.of(0, 255, 7), headers: {}, timestamp: base + 2 },
      ];
      await producer.send(topic, sent);
      const { got } = await openConsumer({ groupId: freshGroup(), topics: [topic] });
      await wait(() => got.records.length >= 3, '3 records');
      const [first, second, third] = got.records;
      expect(first).toMatchObject({ topic, partition: 0, offset: 0, key: 'alpha', headers: { trace: 't-1', kind: 'a' }, timestamp: base });
      expect(text(first!.value)).toBe('one');
      expect(second).toMatchObject({ topic, partition: 0, offset: 1, key: null, timestamp: base + 1 });
      expect(text(second!.value)).toBe('two ✓');
      expect(third).toMatchObject({ offset: 2, key: 'gamma', timestamp: base + 2 });
      expect([...third!.value]).toEqual([0, 255, 7]);
      expect(Object.keys(third!.headers)).toEqual([]);
    }, testTimeoutMs);

    it('keeps per-partition order and places each key on its murmur2 partition', async () => {
      const partitions = 3;
      const topic = await freshTopic(partitions);
      const producer = await openProducer();
      const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
      const total = 600;
      for (let batch = 0; batch < total / 100; batch += 1) {
        const records = Array.from({ length: 100 }, (_, j) => {
          const seq = batch * 100 + j;
          const key = keys[seq % keys.length]!;
          return { key, value: bytes(`${key}|${seq}`) };
        });
        await producer.send(topic, records);
      }
      const { got } = await openConsumer({ groupId: freshGroup(), topics: [topic] });
      await wait(() => got.distinct().size === total, `${total} records`);

      const lastOffset = new Map<number, number>();
      const lastSeq = new Map<string, number>();
      const partitionOfKey = new Map<string, number>();
      for (const record of got.records.slice(0, total)) {
        expect(record.offset).toBeGreaterThan(lastOffset.get(record.partition) ?? -1);
        lastOffset.set(record.partition, record.offset);
        const [key, seq] = text(record.value).split('|');
        expect(record.key).toBe(key);
        expect(Number(seq)).toBeGreaterThan(lastSeq.get(key!) ?? -1);
        lastSeq.set(key!, Number(seq));
        expect(partitionOfKey.get(key!) ?? record.partition).toBe(record.partition);
        partitionOfKey.set(key!, record.partition);
        expect(record.partition).toBe(partitionForKey(key!, partitions));
      }
      const ends = await transport.endOffsets(topic);
      expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(total);
      for (const [partition, end] of ends) expect(lastOffset.get(partition) ?? -1).toBe(end - 1);
    }, testTimeoutMs);

    it('a new member of a group starts at the committed offset', async () => {
      const topic = await freshTopic(1);
      const group = freshGroup();
      const producer = await openProducer();
      await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: bytes(`v${i}`) })));
      const first = await openConsumer({ groupId: group, topics: [topic] });
      await wait(() => first.got.records.length >= 10, 'first member reads 10');
      await first.consumer.commit([{ topic, partition: 0, offset: 6 }]);
      expect(await transport.committedOffsets(group, topic)).toEqual(new Map([[0, 6]]));
      await first.close();

      const second = await openConsumer({ groupId: group, topics: [topic] });
      await wait(() => second.got.records.length >= 4, 'second member reads the rest');
      expect(second.got.records[0]!.offset).toBe(6);
      expect([...second.got.distinct()].sort()).toEqual(['0:6', '0:7', '0:8', '0:9']);
    }, testTimeoutMs);

    it('redelivers uncommitted records after a member closes', async () => {
      const topic = await freshTopic(2);
      const group = freshGroup();
      const producer = await openProducer();
      await producer.send(topic, Array.from({ length: 12 }, (_, i) => ({ key: null, value: bytes(`v${i}`), partition: i % 2 })));
      const first = await openConsumer({ groupId: group, topics: [topic] });
      await wait(() => first.got.distinct().size === 12, 'first member reads 12');
      await first.close();

      const second = await openConsumer({ groupId: group, topics: [topic] });
      await wait(() => second.got.distinct().size === 12, 'all 12 redelivered');
      for (const partition of [0, 1]) {
        expect(second.got.records.find((r) => r.partition === partition)?.offset).toBe(0);
      }
      expect(await transport.committedOffsets(group, topic)).toEqual(new Map());
    }, testTimeoutMs);

    it('isolates consumer groups: each group gets every record', async () => {
      const topic = await freshTopic(2);
      const producer = await openProducer();
      await producer.send(topic, Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: bytes(`v${i}`) })));
      const groupA = freshGroup();
      const groupB = freshGroup();
      const a = await openConsumer({ groupId: groupA, topics: [topic] });
      const b = await openConsumer({ groupId: groupB, topics: [topic] });
      await wait(() => a.got.distinct().size === 20 && b.got.distinct().size === 20, 'both groups read 20');
      await a.consumer.commit([
        { topic, partition: 0, offset: 1 },
        { topic, partition: 1, offset: 1 },
      ]);
      expect(await transport.committedOffsets(groupA, topic)).toEqual(
        new Map([
          [0, 1],
          [1, 1],
        ]),
      );
      expect(await transport.committedOffsets(groupB, topic)).toEqual(new Map());
    }, testTimeoutMs);

    it('splits partitions between members and hands the leaver\'s uncommitted records over', async () => {
      const topic = await freshTopic(4);
      const group = freshGroup();
      const a = await openConsumer({ groupId: group, topics: [topic] });
      await waitForAssignment(a.got, topic, 4, 'the only member');
      const b = await openConsumer({ groupId: group, topics: [topic] });
      await wait(() => {
        const pa = partitionsOf(a.got.assignment(), topic);
        const pb = partitionsOf(b.got.assignment(), topic);
        return pa.length > 0 && pb.length > 0 && [...pa, ...pb].sort().join() === '0,1,2,3';
      }, 'two members split 4 partitions');
      const ownedByA = partitionsOf(a.got.assignment(), topic);
      const ownedByB = partitionsOf(b.got.assignment(), topic);

      const producer = await openProducer();
      await producer.send(topic, Array.from({ length: 40 }, (_, i) => ({ key: null, value: bytes(`v${i}`), partition: i % 4 })));
      await wait(() => a.got.distinct().size + b.got.distinct().size === 40, '40 records across both members');
      expect(a.got.records.every((r) => ownedByA.includes(r.partition))).toBe(true);
      expect(b.got.records.every((r) => ownedByB.includes(r.partition))).toBe(true);
      await a.consumer.commit(ownedByA.map((partition) => ({ topic, partition, offset: 10 })));
      const committed = await transport.committedOffsets(group, topic);
      expect([...committed.keys()].sort()).toEqual(ownedByA);

      await b.close();
      await waitForAssignment(a.got, topic, 4, 'the remaining member');
      const expected = ownedByB.flatMap((partition) => Array.from({ length: 10 }, (_, offset) => `${partition}:${offset}`));
      await wait(() => expected.every((pair) => a.got.distinct().has(pair)), 'the leaver\'s uncommitted records');
      // Committed records are not redelivered: A saw each of its own offsets once.
      for (const partition of ownedByA) expect(a.got.records.filter((r) => r.partition === partition)).toHaveLength(10);
    }, testTimeoutMs);

    it('pause stops delivery and resume restores it', async () => {
      const topic = await freshTopic(1);
      const producer = await openProducer();
      const { consumer, got } = await openConsumer({ groupId: freshGroup(), topics: [topic] });
      await producer.send(topic, Array.from({ length: 5 }, (_, i) => ({ key: null, value: bytes(`a${i}`) })));
      await wait(() => got.records.length >= 5, 'first 5');
      consumer.pause();
      await producer.send(topic, Array.from({ length: 5 }, (_, i) => ({ key: null, value: bytes(`b${i}`) })));
      await quietPeriod(quietMs);
      expect(got.records).toHaveLength(5);
      consumer.resume();
      await wait(() => got.distinct().size === 10, 'all 10 after resume');
      expect(got.records.slice(5).map((r) => text(r.value))).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    }, testTimeoutMs);

    it('subscribes by pattern to every matching topic', async () => {
      const stem = `pattern-${randomUUID()}`;
      const matching = [`${stem}-a`, `${stem}-b`];
      const other = `other-${randomUUID()}`;
      await transport.createTopics([...matching, other].map((topic) => ({ name: topic, partitions: 1, retentionMs: -1 })));
      const producer = await openProducer();
      for (const topic of [...matching, other]) {
        await producer.send(topic, [{ key: null, value: bytes(`${topic}:0`) }, { key: null, value: bytes(`${topic}:1`) }]);
      }
      const { got } = await openConsumer({ groupId: freshGroup(), topics: new RegExp(`^${stem}-`) });
      await wait(() => got.distinct(true).size === 4, '2 records from each matching topic');
      await quietPeriod(quietMs / 3);
      expect(new Set(got.records.map((r) => r.topic))).toEqual(new Set(matching));
      expect(got.records.every((r) => text(r.value) === `${r.topic}:${r.offset}`)).toBe(true);
    }, testTimeoutMs);

    it('picks up a topic created after a pattern subscriber joined, without a restart', async () => {
      const stem = `late-${randomUUID()}`;
      const early = `${stem}-early`;
      await transport.createTopics([{ name: early, partitions: 1, retentionMs: -1 }]);
      const producer = await openProducer();
      await producer.send(early, [{ key: null, value: bytes(`${early}:0`) }]);
      const { consumer, got } = await openConsumer({ groupId: freshGroup(), topics: new RegExp(`^${stem}-`) });
      await wait(() => got.records.length >= 1, 'the record of the topic that existed at join');
      await consumer.commit([{ topic: early, partition: 0, offset: 1 }]);

      const late = `${stem}-late`;
      await transport.createTopics([{ name: late, partitions: 2, retentionMs: -1 }]);
      await producer.send(late, [0, 1, 0].map((partition, i) => ({ key: null, value: bytes(`${late}:${i}`), partition })));
      await wait(() => got.distinct(true).size === 4, 'the 3 records of the topic created later');
      await wait(() => partitionsOf(got.assignment(), late).length === 2, 'both partitions of the late topic assigned');
      // The rejoin that added the topic did not hand the committed record of the early topic out again.
      expect(got.records.filter((r) => r.topic === early)).toHaveLength(1);
      expect(got.records.filter((r) => r.topic === late).map((r) => text(r.value)).sort()).toEqual([`${late}:0`, `${late}:1`, `${late}:2`]);
    }, testTimeoutMs);

    it('reports end offsets and committed offsets per partition', async () => {
      const topic = await freshTopic(3);
      const group = freshGroup();
      const producer = await openProducer();
      await producer.send(topic, [0, 0, 0, 1].map((partition, i) => ({ key: null, value: bytes(`v${i}`), partition })));
      const ends = await transport.endOffsets(topic);
      expect([...ends.entries()].sort(([x], [y]) => x - y)).toEqual([
        [0, 3],
        [1, 1],
        [2, 0],
      ]);
      expect(await transport.committedOffsets(group, topic)).toEqual(new Map());
      const { consumer, got } = await openConsumer({ groupId: group, topics: [topic] });
      await wait(() => got.records.length >= 4, '4 records');
      await consumer.commit([{ topic, partition: 0, offset: 2 }]);
      expect(await transport.committedOffsets(group, topic)).toEqual(new Map([[0, 2]]));
      await consumer.commit([
        { topic, partition: 0, offset: 3 },
        { topic, partition: 1, offset: 1 },
      ]);
      expect(await transport.committedOffsets(group, topic)).toEqual(
        new Map([
          [0, 3],
          [1, 1],
        ]),
      );
    }, testTimeoutMs);

    it('starts a group without commits at the end when fromBeginning is false', async () => {
      const topic = await freshTopic(1);
      const producer = await openProducer();
      await producer.send(topic, Array.from({ length: 3 }, (_, i) => ({ key: null, value: bytes(`old${i}`) })));
      const { got } = await openConsumer({ groupId: freshGroup(), topics: [topic], fromBeginning: false });
      await waitForAssignment(got, topic, 1, 'the member');
      // A broker resolves "latest" on the first fetch after joining: let it settle.
      await quietPeriod(quietMs);
      await producer.send(topic, [{ key: null, value: bytes('new0') }, { key: null, value: bytes('new1') }]);
      await wait(() => got.records.length >= 2, '2 new records');
      await quietPeriod(quietMs / 3);
      expect(got.records.map((r) => [r.offset, text(r.value)])).toEqual([
        [3, 'new0'],
        [4, 'new1'],
      ]);
    }, testTimeoutMs);

    it('completes the record and assignment streams on close', async () => {
      const topic = await freshTopic(1);
      const consumer = await transport.consumer({ groupId: freshGroup(), topics: [topic] });
      let recordsDone = false;
      let assignmentsDone = false;
      const subscriptions = [
        consumer.records.subscribe({ complete: () => (recordsDone = true) }),
        consumer.assignments.subscribe({ complete: () => (assignmentsDone = true) }),
      ];
      cleanups.push(() => subscriptions.forEach((s) => s.unsubscribe()));
      await wait(async () => (await transport.listTopics()).includes(topic), 'topic listed');
      await consumer.close();
      await wait(() => recordsDone && assignmentsDone, 'both streams complete');
    }, testTimeoutMs);

    it('starts at the first record at or after fromTimestamp', async () => {
      const topic = await freshTopic(1);
      const producer = await openProducer();
      const base = Date.now() - 60_000;
      await producer.send(topic, Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: bytes(`v${i}`), timestamp: base + i * 1000 })));
      const { got } = await openConsumer({ groupId: freshGroup(), topics: [topic], fromTimestamp: base + 2000 });
      await wait(() => got.records.length >= 3, '3 records');
      await quietPeriod(quietMs / 3);
      expect(got.records.map((r) => r.offset)).toEqual([2, 3, 4]);
    }, testTimeoutMs);
  });
}
