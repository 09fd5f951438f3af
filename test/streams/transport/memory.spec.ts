import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { createRng } from '../../../operators/common/rng.js';
import { createMemoryTransport, OffsetTracker, partitionForKey } from '../../../streams/transport/index.js';
import type { Assignment, ConsumedRecord, Consumer } from '../../../streams/transport/index.js';
import { quietPeriod, waitFor } from '../../helpers/waitFor.js';
import { describeTransportContract } from './contract.js';

describeTransportContract('memory', async () => createMemoryTransport(), { timeoutMs: 5_000, quietMs: 150 });
// Trimming only frees what every reading group has committed past: the contract must still hold.
describeTransportContract('memory (trimConsumed)', async () => createMemoryTransport({ trimConsumed: true }), { timeoutMs: 5_000, quietMs: 150 });

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array): string => new TextDecoder().decode(value);
const spec = (name: string, partitions = 1, compacted = false) => ({ name, partitions, retentionMs: -1, compacted });

const collect = (consumer: Consumer): { records: ConsumedRecord[]; assignments: Assignment[] } => {
  const records: ConsumedRecord[] = [];
  const assignments: Assignment[] = [];
  consumer.records.subscribe((r) => records.push(r));
  consumer.assignments.subscribe((a) => assignments.push(a));
  return { records, assignments };
};
const owned = (assignments: Assignment[]): number[] => (assignments.at(-1)?.partitions ?? []).map((p) => p.partition);

const expectTransportError = async (promise: Promise<unknown>): Promise<void> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).kind).toBe('transport');
};

describe('memory transport specifics', () => {
  it('rejects producing to or consuming a missing topic with kind transport', async () => {
    const transport = createMemoryTransport();
    const producer = await transport.producer();
    await expectTransportError(producer.send('nope', [{ key: 'k', value: bytes('v') }]));
    await expectTransportError(transport.consumer({ groupId: 'g', topics: ['nope'] }));
    await expectTransportError(transport.endOffsets('nope'));
    await transport.close();
  });

  it('validates a whole batch before appending any of it', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t', 2)]);
    const producer = await transport.producer();
    await expectTransportError(
      producer.send('t', [
        { key: 'a', value: bytes('ok') },
        { key: 'b', value: bytes('bad'), partition: 2 },
      ]),
    );
    expect(await transport.endOffsets('t')).toEqual(
      new Map([
        [0, 0],
        [1, 0],
      ]),
    );
    await expect(transport.createTopics([spec('z', 0)])).rejects.toMatchObject({ kind: 'config' });
    await transport.close();
  });

  it('spreads null keys round-robin and hashes keys with murmur2', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t', 3)]);
    const producer = await transport.producer();
    await producer.send('t', Array.from({ length: 6 }, () => ({ key: null, value: bytes('x') })));
    expect([...(await transport.endOffsets('t')).values()]).toEqual([2, 2, 2]);
    await producer.send('t', [{ key: 'foobar', value: bytes('y') }]);
    const ends = await transport.endOffsets('t');
    expect(ends.get(partitionForKey('foobar', 3))).toBe(3);
    await transport.close();
  });

  it('never delivers inside send, and copies the value and stamps time from the injected clock', async () => {
    const transport = createMemoryTransport({ clock: () => 1_234 });
    await transport.createTopics([spec('t')]);
    const consumer = await transport.consumer({ groupId: 'g', topics: ['t'] });
    let insideSend = false;
    const seen: ConsumedRecord[] = [];
    consumer.records.subscribe((record) => {
      expect(insideSend).toBe(false);
      seen.push(record);
    });
    const producer = await transport.producer();
    const value = bytes('abc');
    insideSend = true;
    const sent = producer.send('t', [{ key: 'k', value }]);
    insideSend = false;
    await sent;
    value[0] = 0;
    await waitFor(() => seen.length === 1);
    expect(text(seen[0]!.value)).toBe('abc');
    expect(seen[0]!.timestamp).toBe(1_234);
    await transport.close();
  });

  it('pause inside next() stops delivery at once; resume continues in order', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t')]);
    const producer = await transport.producer();
    await producer.send('t', Array.from({ length: 100 }, (_, i) => ({ key: null, value: bytes(String(i)) })));
    const consumer = await transport.consumer({ groupId: 'g', topics: ['t'] });
    const seen: number[] = [];
    consumer.records.subscribe((record) => {
      seen.push(record.offset);
      if (seen.length === 10) consumer.pause();
    });
    await waitFor(() => seen.length >= 10);
    await quietPeriod(30);
    expect(seen).toHaveLength(10);
    consumer.resume();
    await waitFor(() => seen.length === 100);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await transport.close();
  });

  it('holds records until the stream has a subscriber', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t')]);
    const producer = await transport.producer();
    const consumer = await transport.consumer({ groupId: 'g', topics: ['t'] });
    await producer.send('t', [{ key: null, value: bytes('early') }]);
    await quietPeriod(20);
    const { records } = collect(consumer);
    await waitFor(() => records.length === 1);
    expect(text(records[0]!.value)).toBe('early');
    await transport.close();
  });

  it('keeps only the newest record per key of a compacted topic, and requires keys there', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('policy', 1, true)]);
    const producer = await transport.producer();
    await producer.send('policy', [
      { key: 'a', value: bytes('a1') },
      { key: 'b', value: bytes('b1') },
      { key: 'a', value: bytes('a2') },
    ]);
    await expectTransportError(producer.send('policy', [{ key: null, value: bytes('x') }]));
    const { records } = collect(await transport.consumer({ groupId: 'g', topics: ['policy'] }));
    await waitFor(() => records.length === 2);
    expect(records.map((r) => [r.offset, r.key, text(r.value)])).toEqual([
      [1, 'b', 'b1'],
      [2, 'a', 'a2'],
    ]);
    await transport.close();
  });

  it('with trimConsumed, frees records once every group reading the topic committed past them', async () => {
    const transport = createMemoryTransport({ trimConsumed: true });
    await transport.createTopics([spec('t'), spec('policy', 1, true)]);
    const producer = await transport.producer();
    await producer.send('t', Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: bytes(`r${i}`) })));
    await producer.send('policy', [{ key: 'a', value: bytes('a1') }, { key: 'b', value: bytes('b1') }]);
    const fast = await transport.consumer({ groupId: 'fast', topics: ['t', 'policy'] });
    const slow = await transport.consumer({ groupId: 'slow', topics: ['t'] });
    const got = collect(fast).records;
    collect(slow);
    await waitFor(() => got.length === 12);
    await fast.commit([{ topic: 't', partition: 0, offset: 6 }, { topic: 'policy', partition: 0, offset: 2 }]);
    // `slow` has committed nothing: a group joining now still reads t from offset 0.
    const earlyMember = await transport.consumer({ groupId: 'early', topics: ['t'] });
    const early = collect(earlyMember).records;
    await waitFor(() => early.length === 10);
    expect(early[0]?.offset).toBe(0);
    await slow.commit([{ topic: 't', partition: 0, offset: 8 }]);
    // The last reader commits: t is trimmed below min(6, 8, 7) = 6.
    await earlyMember.commit([{ topic: 't', partition: 0, offset: 7 }]);
    const late = collect(await transport.consumer({ groupId: 'late', topics: ['t', 'policy'] })).records;
    await waitFor(() => late.length === 6);
    await quietPeriod(20);
    // A group joining late starts at the log start (6); the compacted topic keeps everything.
    expect(late.filter((r) => r.topic === 't').map((r) => r.offset)).toEqual([6, 7, 8, 9]);
    expect(late.filter((r) => r.topic === 'policy').map((r) => text(r.value))).toEqual(['a1', 'b1']);
    // End offsets are unchanged by trimming; committed positions are reported as committed.
    expect((await transport.endOffsets('t')).get(0)).toBe(10);
    expect((await transport.committedOffsets('slow', 't')).get(0)).toBe(8);
    await transport.close();
  });

  it('picks up topics created later that match a pattern subscription', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('astro.problems.a.v1')]);
    const { records, assignments } = collect(await transport.consumer({ groupId: 'g', topics: /^astro\.problems\..*\.v1$/g }));
    await transport.createTopics([spec('astro.problems.b.v1', 2), spec('astro.other.v1')]);
    await waitFor(() => assignments.at(-1)?.partitions.length === 3);
    const producer = await transport.producer();
    await producer.send('astro.problems.b.v1', [{ key: 'k', value: bytes('late') }]);
    await producer.send('astro.other.v1', [{ key: 'k', value: bytes('no') }]);
    await waitFor(() => records.length === 1);
    await quietPeriod(20);
    expect(records.map((r) => r.topic)).toEqual(['astro.problems.b.v1']);
    await transport.close();
  });

  it('assigns ranges by join order and rebalances when a member leaves', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t', 7)]);
    const members = [];
    for (let i = 0; i < 3; i += 1) members.push(await transport.consumer({ groupId: 'g', topics: ['t'] }));
    const seen = members.map(collect);
    await waitFor(() => seen.every((s) => s.assignments.length > 0));
    expect(seen.map((s) => owned(s.assignments))).toEqual([[0, 1, 2], [3, 4], [5, 6]]);
    await members[1]!.close();
    await waitFor(() => owned(seen[0]!.assignments).length === 4);
    expect(owned(seen[0]!.assignments)).toEqual([0, 1, 2, 3]);
    expect(owned(seen[2]!.assignments)).toEqual([4, 5, 6]);
    await transport.close();
  });

  it('replays the latest assignment to a late subscriber and ignores commits for unowned partitions', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t', 2)]);
    const a = await transport.consumer({ groupId: 'g', topics: ['t'] });
    const b = await transport.consumer({ groupId: 'g', topics: ['t'] });
    await quietPeriod(10);
    const late = await firstValueFrom(b.assignments);
    expect(late.partitions).toEqual([{ topic: 't', partition: 1 }]);
    await b.commit([{ topic: 't', partition: 0, offset: 5 }]);
    await a.commit([{ topic: 't', partition: 0, offset: 3 }]);
    expect(await transport.committedOffsets('g', 't')).toEqual(new Map([[0, 3]]));
    await transport.close();
  });

  it('completes record streams on close and refuses use afterwards', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t')]);
    const consumer = await transport.consumer({ groupId: 'g', topics: ['t'] });
    const all = firstValueFrom(consumer.records.pipe(toArray()));
    const producer = await transport.producer();
    await producer.send('t', [{ key: null, value: bytes('v') }]);
    await quietPeriod(10);
    await transport.close();
    expect(await all).toHaveLength(1);
    await expectTransportError(transport.listTopics());
    await expectTransportError(producer.send('t', []));
  });

  it('loses nothing under member churn when commits follow OffsetTracker (out-of-order completion)', async () => {
    const rng = createRng(7);
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t', 4)]);
    const producer = await transport.producer();
    const processed = new Set<string>();
    const startMember = async () => {
      const consumer = await transport.consumer({ groupId: 'g', topics: ['t'] });
      const tracker = new OffsetTracker();
      // A closed member's unfinished work is abandoned, as if the process died.
      let alive = true;
      let owned: Assignment['partitions'] = [];
      consumer.assignments.subscribe((assignment) => {
        const now = new Set(assignment.partitions.map((p) => p.partition));
        tracker.forget(owned.filter((p) => !now.has(p.partition)));
        owned = assignment.partitions;
      });
      consumer.records.subscribe((record) => {
        tracker.track(record);
        // Completion order differs from arrival order, as with mergeMap.
        const delay = rng.int(4);
        const finish = () => {
          if (!alive) return;
          processed.add(`${record.partition}:${record.offset}`);
          tracker.done(record);
          void consumer.commit(tracker.committable());
        };
        if (delay === 0) queueMicrotask(finish);
        else setTimeout(finish, delay);
      });
      return {
        close: async () => {
          alive = false;
          await consumer.close();
        },
      };
    };
    const members = [await startMember()];
    const total = 2000;
    for (let batch = 0; batch < 20; batch += 1) {
      await producer.send('t', Array.from({ length: total / 20 }, (_, i) => ({ key: `k${batch}-${i}`, value: bytes('v') })));
      // Members join and leave (without committing what is in flight) while records flow.
      if (rng.next() < 0.5 || members.length === 1) members.push(await startMember());
      else await members.splice(rng.int(members.length), 1)[0]!.close();
      await quietPeriod(rng.int(3));
    }
    await waitFor(() => processed.size === total, { timeoutMs: 10_000, message: 'every record processed' });
    const ends = await transport.endOffsets('t');
    await waitFor(async () => {
      const committed = await transport.committedOffsets('g', 't');
      return [...ends].every(([p, end]) => end === 0 || committed.get(p) === end);
    }, { timeoutMs: 10_000, message: 'final commits reach the end offsets' });
    await transport.close();
  });

  it('moves records fast (batched delivery, no per-record timers)', async () => {
    const transport = createMemoryTransport();
    await transport.createTopics([spec('t', 8)]);
    const producer = await transport.producer();
    const consumer = await transport.consumer({ groupId: 'g', topics: ['t'] });
    let count = 0;
    consumer.records.subscribe(() => {
      count += 1;
    });
    const total = 200_000;
    const value = bytes('x'.repeat(100));
    const started = performance.now();
    for (let batch = 0; batch < total / 1000; batch += 1) {
      await producer.send('t', Array.from({ length: 1000 }, (_, i) => ({ key: `k${(batch * 1000 + i) % 997}`, value })));
    }
    await waitFor(() => count === total, { timeoutMs: 30_000, intervalMs: 1 });
    const perSecond = total / ((performance.now() - started) / 1000);
    console.log(`memory transport: ${Math.round(perSecond)} records/s produce+consume (100-byte values, 8 partitions)`);
    expect(perSecond).toBeGreaterThan(20_000);
    await transport.close();
  });
});
