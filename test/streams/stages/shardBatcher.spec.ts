import { describe, expect, it } from 'vitest';
import { ShardBatcher, type ShardPosition } from '../../../streams/stages/shardBatcher.js';
import type { ConsumedRecord } from '../../../streams/transport/transport.js';

const record = (partition: number, offset: number): ConsumedRecord => ({
  topic: 't',
  partition,
  offset,
  key: null,
  value: new Uint8Array(0),
  headers: {},
  timestamp: 0,
});

interface Write {
  readonly position: ShardPosition;
  readonly rows: number[];
  readonly finish: () => void;
  readonly fail: (error: unknown) => void;
}

/** A batcher whose writes stay open until the test finishes them. */
function controlled(maxRecords: number): { batcher: ShardBatcher<number>; writes: Write[] } {
  const writes: Write[] = [];
  const batcher = new ShardBatcher<number>({ maxRecords, lingerMs: 60_000 }, (rows, position) => new Promise<void>((finish, fail) => writes.push({ position, rows, finish, fail })));
  return { batcher, writes };
}

const tick = (): Promise<void> => new Promise((ok) => setImmediate(ok));

describe('ShardBatcher', () => {
  it('writes one partition\'s shards one at a time, in offset order', async () => {
    const { batcher, writes } = controlled(2);
    const added = [0, 1, 2, 3].map((o) => batcher.add(record(0, o), [o]));
    await tick();
    expect(writes.map((w) => w.position)).toEqual([{ topic: 't', partition: 0, firstOffset: 0, lastOffset: 1 }]);
    writes[0]!.finish();
    await Promise.all(added.slice(0, 2));
    await tick();
    expect(writes.map((w) => w.rows)).toEqual([[0, 1], [2, 3]]);
    writes[1]!.finish();
    await Promise.all(added);
  });

  it('writes shards of different partitions concurrently', async () => {
    const { batcher, writes } = controlled(2);
    const p0 = [0, 1].map((o) => batcher.add(record(0, o), [o]));
    const p1 = [0, 1].map((o) => batcher.add(record(1, o), [10 + o]));
    await tick();
    // Partition 1 does not wait for partition 0's (still unfinished) write.
    expect(writes.map((w) => w.position.partition).sort()).toEqual([0, 1]);
    writes.find((w) => w.position.partition === 1)!.finish();
    await Promise.all(p1);
    let p0Done = false;
    void Promise.all(p0).then(() => (p0Done = true));
    await tick();
    expect(p0Done).toBe(false);
    writes.find((w) => w.position.partition === 0)!.finish();
    await Promise.all(p0);
  });

  it('flushAll writes partial shards and waits for every write in flight', async () => {
    const { batcher, writes } = controlled(100);
    const added = [batcher.add(record(0, 5), [5]), batcher.add(record(2, 7), [7])];
    let flushed = false;
    const flush = batcher.flushAll().then(() => (flushed = true));
    await tick();
    expect(writes.map((w) => [w.position.partition, w.position.firstOffset, w.position.lastOffset]).sort()).toEqual([[0, 5, 5], [2, 7, 7]]);
    writes[0]!.finish();
    await tick();
    expect(flushed).toBe(false);
    writes[1]!.finish();
    await flush;
    await Promise.all(added);
  });

  it('rejects the records of a failed shard only', async () => {
    const { batcher, writes } = controlled(1);
    const a = batcher.add(record(0, 0), [0]);
    const b = batcher.add(record(1, 0), [1]);
    await tick();
    writes.find((w) => w.position.partition === 0)!.fail(new Error('disk full'));
    writes.find((w) => w.position.partition === 1)!.finish();
    await expect(a).rejects.toThrow('disk full');
    await expect(b).resolves.toBeUndefined();
  });
});
