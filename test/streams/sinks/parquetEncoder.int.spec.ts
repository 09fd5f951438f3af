import { parquetReadObjects } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { sha256Hex } from '../../../operators/common/hash.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import type { Trace } from '../../../schemas/trace.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { makeTraces } from './traceFixtures.js';

const open: ParquetEncoder[] = [];
const create = (...args: Parameters<typeof ParquetEncoder.create>): ParquetEncoder => {
  const e = ParquetEncoder.create(...args);
  open.push(e);
  return e;
};
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

async function decode(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  return (await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer })) as Record<string, unknown>[];
}

describe('ParquetEncoder', () => {
  it('encodes off the calling thread: timers keep firing while a large batch encodes', async () => {
    const traces = makeTraces(6000, { seed: 21, targetBytes: 4000 });
    const metrics = new InMemoryMetrics();
    const encoder = create({ workers: 1 }, { metrics });
    await encoder.encode('traces', traces.slice(0, 50)); // worker start-up is not the point here
    let maxGapMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
    }, 1);
    const file = await encoder.encodeFile('traces', traces);
    clearInterval(timer);
    // Inline encoding would stall timers for the whole encode; here only chunk packing blocks.
    // (6000 rows: the packed path encodes ~40k rows/s, and this must stay well above timer noise.)
    expect(file.encodeMs).toBeGreaterThan(50);
    expect(maxGapMs).toBeLessThan(file.encodeMs / 2);
    expect(file.sha256).toBe(sha256Hex(file.bytes));
    expect(metrics.snapshot().observations['parquet.encode_ms']?.count).toBe(2);
    expect((await decode(file.bytes)).length).toBe(6000);
  });

  it('keeps concurrent files apart when their chunks interleave across two workers', async () => {
    const encoder = create({ workers: 2, chunkRows: 7 });
    const batches = [0, 1, 2, 3, 4, 5].map((i) => makeTraces(20 + i * 9, { seed: 100 + i }));
    const files = await Promise.all(batches.map((b) => encoder.encode('traces', b)));
    for (const [i, bytes] of files.entries()) {
      const rows = await decode(bytes);
      expect(rows.map((r) => r['trace_id'])).toEqual((batches[i] as Trace[]).map((t) => t.trace_id));
    }
  });

  it('rejects rows it cannot encode with a non-retriable sink error, and keeps working', async () => {
    const encoder = create();
    const [good] = makeTraces(1);
    const bad = { ...(good as Trace), node_path: 'not a list' } as unknown as Trace;
    const error = await encoder.encode('traces', [bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ kind: 'sink', retriable: false });
    expect((await decode(await encoder.encode('traces', [good as Trace]))).length).toBe(1);
  });

  it('drops a file whose bad row shows up after earlier chunks were sent, and the next file is whole', async () => {
    const encoder = create({ chunkRows: 5 });
    const rows = makeTraces(20, { seed: 9 });
    const broken = rows.map((r, i) => (i === 17 ? ({ ...r, completion: 42 } as unknown as Trace) : r));
    await expect(encoder.encode('traces', broken)).rejects.toMatchObject({ kind: 'sink', retriable: false });
    // The same worker, which had received the first chunks of the failed file, still writes whole files.
    const decoded = await decode(await encoder.encode('traces', rows.slice(0, 3)));
    expect(decoded.map((r) => r['trace_id'])).toEqual(rows.slice(0, 3).map((r) => r.trace_id));
  });

  it('fails in-flight files as retriable when a worker dies, then starts a new worker', async () => {
    const encoder = create({ workers: 1 });
    const pending = encoder.encode('traces', makeTraces(400, { seed: 5 }));
    // Simulate a crash (OOM, native fault) by killing the worker behind the encoder's back.
    const slots = (encoder as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
    await slots[0]?.worker.terminate();
    await expect(pending).rejects.toMatchObject({ kind: 'sink', retriable: true });
    expect((await decode(await encoder.encode('traces', makeTraces(3)))).length).toBe(3);
  });

  it('rejects encodes in flight and after close, and invalid configs', async () => {
    const encoder = ParquetEncoder.create();
    const inFlight = encoder.encode('traces', makeTraces(300)).catch((e: unknown) => e);
    await encoder.close();
    expect(await inFlight).toMatchObject({ kind: 'sink', message: expect.stringContaining('closed') });
    await expect(encoder.encode('traces', [])).rejects.toMatchObject({ kind: 'sink' });
    expect(() => ParquetEncoder.create({ workers: 0 })).toThrow(AppError);
    expect(() => ParquetEncoder.create({ rowGroupRows: 1.5 })).toThrow(/rowGroupRows/);
  });
});
