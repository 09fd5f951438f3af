import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics, silentLogger } from '../../../operators/common/metrics.js';
import { fail, ok } from '../../../operators/common/result.js';
import { DeadLetterCodec } from '../../../schemas/deadLetter.js';
import { jsonCodec } from '../../../schemas/codec.js';
import { startStage, type StageSpec } from '../../../streams/stages/stageRuntime.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { ConsumedRecord, Producer, Transport } from '../../../streams/transport/transport.js';
import { z } from 'zod';
import { waitFor } from '../../helpers/waitFor.js';

const Num = z.object({ n: z.number().int() });
const NumCodec = jsonCodec(Num, 'num');
const enc = (n: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(n));

async function readAll(transport: Transport, topic: string, groupId: string, count: number): Promise<ConsumedRecord[]> {
  const consumer = await transport.consumer({ groupId, topics: [topic] });
  const seen: ConsumedRecord[] = [];
  const sub = consumer.records.subscribe((r) => seen.push(r));
  await waitFor(() => seen.length >= count, { timeoutMs: 5000 });
  sub.unsubscribe();
  await consumer.close();
  return seen;
}

describe('startStage', () => {
  let transport: Transport;
  let producer: Producer;
  const metrics = new InMemoryMetrics();
  const deps = () => ({ transport, producer, logger: silentLogger, metrics, clock: () => 1_700_000_000_000, sleep: async () => undefined, random: () => 0.5 });

  beforeEach(async () => {
    transport = createMemoryTransport();
    await transport.createTopics([
      { name: 'in', partitions: 2, retentionMs: -1 },
      { name: 'out', partitions: 2, retentionMs: -1 },
      { name: 'in.dlq', partitions: 1, retentionMs: -1 },
    ]);
    producer = await transport.producer();
  });
  afterEach(async () => {
    await producer.close();
    await transport.close();
  });

  const doubler = (overrides: Partial<StageSpec<{ n: number }>> = {}): StageSpec<{ n: number }> => ({
    name: 'double',
    groupId: 'g-double',
    topics: ['in'],
    decode: NumCodec.decode,
    concurrency: 4,
    handle: async ({ n }) => {
      if (n < 0) return fail(new AppError('schema', `negative ${n}`));
      return ok({ outputs: [{ topic: 'out', records: [{ key: String(n), value: enc({ n: n * 2 }) }] }] });
    },
    ...overrides,
  });

  it('processes every record, commits all offsets, and dead-letters bad ones without stopping', async () => {
    const stage = await startStage(doubler(), deps());
    const good = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: enc({ n: i }) }));
    await producer.send('in', [...good.slice(0, 10), { key: 'bad-json', value: new TextEncoder().encode('{oops') }, { key: 'neg', value: enc({ n: -3 }) }, { key: 'bad-shape', value: enc({ n: 'x' }) }, ...good.slice(10)]);
    await waitFor(async () => stage.stats().completed === 23, { timeoutMs: 5000 });
    await stage.stop();
    const outs = await readAll(transport, 'out', 'reader', 20);
    expect(outs.map((r) => JSON.parse(new TextDecoder().decode(r.value)).n).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    const dlq = await readAll(transport, 'in.dlq', 'dlq-reader', 3);
    const letters = dlq.map((r) => DeadLetterCodec.decode(r.value)).map((r) => (r.ok ? r.value : null));
    expect(letters.map((l) => l?.key).sort()).toEqual(['bad-json', 'bad-shape', 'neg']);
    const badJson = letters.find((l) => l?.key === 'bad-json');
    expect(badJson?.error_kind).toBe('decode');
    expect(Buffer.from(badJson?.value_base64 ?? '', 'base64').toString()).toBe('{oops');
    expect(letters.find((l) => l?.key === 'bad-shape')?.reason).toMatch(/num\.n/);
    expect(letters.every((l) => l?.stage === 'double' && l.source_topic === 'in')).toBe(true);
    const committed = await transport.committedOffsets('g-double', 'in');
    const end = await transport.endOffsets('in');
    expect(committed).toEqual(end);
  });

  it('dead-letters a record whose output the topic refuses for its size, and goes on', async () => {
    await transport.createTopics([{ name: 'small', partitions: 1, retentionMs: -1, maxMessageBytes: 64 }]);
    const stage = await startStage(
      doubler({ handle: async ({ n }) => ok({ outputs: [{ topic: 'small', records: [{ key: String(n), value: enc({ n, pad: 'x'.repeat(n) }) }] }] }) }),
      deps(),
    );
    await producer.send('in', [10, 100, 20].map((n) => ({ key: `k${n}`, value: enc({ n }) })));
    await waitFor(() => stage.stats().completed === 3, { timeoutMs: 5000 });
    expect(stage.stats().deadLettered).toBe(1);
    await stage.stop();
    const outs = await readAll(transport, 'small', 'reader', 2);
    expect(outs.map((r) => JSON.parse(new TextDecoder().decode(r.value)).n).sort((a, b) => a - b)).toEqual([10, 20]);
    const [letter] = await readAll(transport, 'in.dlq', 'dlq', 1);
    const decoded = DeadLetterCodec.decode(letter?.value ?? new Uint8Array());
    expect(decoded.ok && [decoded.value.key, decoded.value.error_kind]).toEqual(['k100', 'too_large']);
    expect(decoded.ok && decoded.value.reason).toMatch(/exceeds the topic's limit of 64 bytes/);
    // All three inputs are committed (the partitions that received them).
    const committed = await transport.committedOffsets('g-double', 'in');
    expect([...committed.values()].reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('retries retriable failures, then dead-letters them with the cause', async () => {
    let calls = 0;
    const stage = await startStage(
      doubler({
        retry: { attempts: 3, initialDelayMs: 1, factor: 2, jitter: 0, maxDelayMs: 10 },
        handle: async ({ n }) => {
          calls += 1;
          if (n === 1) return fail(new AppError('policy', 'server returned 503', { retriable: true }));
          if (n === 2 && calls < 3) return fail(new AppError('timeout', 'slow', { retriable: true }));
          return ok({ outputs: [] });
        },
      }),
      deps(),
    );
    await producer.send('in', [{ key: 'a', value: enc({ n: 2 }) }]);
    await waitFor(() => stage.stats().completed === 1, { timeoutMs: 5000 });
    expect(stage.stats().deadLettered).toBe(0);
    await producer.send('in', [{ key: 'b', value: enc({ n: 1 }) }]);
    await waitFor(() => stage.stats().completed === 2, { timeoutMs: 5000 });
    await stage.stop();
    const [letter] = await readAll(transport, 'in.dlq', 'dlq', 1);
    const decoded = DeadLetterCodec.decode(letter?.value ?? new Uint8Array());
    expect(decoded.ok && decoded.value.reason).toMatch(/503.*gave up after 3 attempts/);
    expect(decoded.ok && decoded.value.retriable).toBe(true);
  });

  it('never commits past an unfinished record and redelivers it after a restart', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = await startStage(
      doubler({
        topics: ['in'],
        handle: async ({ n }) => {
          if (n === 0) await gate;
          return ok({ outputs: [] });
        },
      }),
      deps(),
    );
    // All keys to one partition so offsets are comparable.
    await producer.send('in', Array.from({ length: 5 }, (_, i) => ({ key: 'same', value: enc({ n: i }), partition: 0 })));
    await waitFor(() => first.stats().completed === 4, { timeoutMs: 5000 });
    expect((await transport.committedOffsets('g-double', 'in')).get(0) ?? 0).toBe(0);
    await first.stop({ abandonAfterMs: 50 }); // record 0 is abandoned uncommitted
    release();
    const seen: number[] = [];
    const second = await startStage(doubler({ handle: async ({ n }) => (seen.push(n), ok({ outputs: [] })) }), deps());
    await waitFor(() => seen.length >= 5, { timeoutMs: 5000 });
    await second.stop();
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4]);
    expect((await transport.committedOffsets('g-double', 'in')).get(0)).toBe(5);
  });

  it('pauses fetching above the high-water mark', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stage = await startStage(doubler({ concurrency: 2, highWaterMark: 4, handle: async () => (await gate, ok({ outputs: [] })) }), deps());
    await producer.send('in', Array.from({ length: 50 }, (_, i) => ({ key: 'p', value: enc({ n: i }), partition: 0 })));
    await waitFor(() => stage.stats().paused, { timeoutMs: 5000 });
    expect(stage.stats().received).toBeLessThan(50);
    release();
    await waitFor(() => stage.stats().completed === 50, { timeoutMs: 5000 });
    await stage.stop();
  });

  it('exits on a programmer error without committing the failed record', async () => {
    const stage = await startStage(
      doubler({
        handle: async ({ n }) => {
          if (n === 7) throw new TypeError('bug');
          return ok({ outputs: [] });
        },
      }),
      deps(),
    );
    await producer.send('in', [{ key: 'x', value: enc({ n: 7 }), partition: 1 }]);
    await expect(stage.done).rejects.toThrow('bug');
    expect((await transport.committedOffsets('g-double', 'in')).get(1) ?? 0).toBe(0);
  });
});
