// Worker-thread entry of ParquetEncoder (parquetEncoder.ts). Plain ESM JavaScript on purpose:
// vitest runs the TS sources and production runs dist/, and a .js entry resolves the same way
// from both (tsc copies it to dist through allowJs).
//
// hyparquet-writer encodes synchronously (Dremel levels, dictionary trials, snappy), tens of ms
// per thousand traces, so it runs here to keep the stage's event loop free.
//
// workerData: { tables: Record<kind, { schema, columns, columnOptions? }>, codec, rowGroupRows, createdBy }
// message in:  { id, kind, rows, last, kvMetadata? }: a file's rows may come in several chunks
//              (so the sender's serialization never blocks its thread for long); `last` ends a file.
// message out: { id, ok: true, bytes: Uint8Array (transferred), sha256, encodeMs } | { id, ok: false, message }
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import { snappyCompress } from './snappyCompress.js';

const { tables, codec, rowGroupRows, createdBy } = workerData;

// Node 20's zlib provides GZIP without another package; our SNAPPY is ~2x hyparquet-writer's.
const compressors = { SNAPPY: snappyCompress, GZIP: (input) => gzipSync(input) };

/** Rows received so far for files whose last chunk has not arrived, by job id. */
const partial = new Map();

if (!parentPort) throw new Error('parquetEncodeWorker.js must run as a worker thread');
const port = parentPort;

port.on('message', (job) => {
  if (!job.last) {
    const before = partial.get(job.id);
    if (before) for (const row of job.rows) before.push(row);
    else partial.set(job.id, job.rows);
    return;
  }
  const started = performance.now();
  const earlier = partial.get(job.id);
  partial.delete(job.id);
  try {
    const spec = tables[job.kind];
    if (!spec) throw new Error(`unknown parquet table kind: ${job.kind}`);
    const rows = earlier ? earlier.concat(job.rows) : job.rows;
    const options = spec.columnOptions ?? {};
    const columnData = spec.columns.map((name) => {
      const data = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) data[i] = rows[i][name];
      return { name, data, ...options[name] };
    });
    const writer = new ByteWriter();
    parquetWrite({
      writer,
      schema: spec.schema,
      columnData,
      codec,
      compressors,
      rowGroupSize: rowGroupRows,
      kvMetadata: job.kvMetadata,
      createdBy,
    });
    // getBuffer() copies out exactly the written bytes, so only those cross the thread boundary.
    const bytes = new Uint8Array(writer.getBuffer());
    // The manifest needs the checksum; hashing megabytes here keeps that off the stage's thread too.
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    port.postMessage({ id: job.id, ok: true, bytes, sha256, encodeMs: performance.now() - started }, [bytes.buffer]);
  } catch (error) {
    port.postMessage({ id: job.id, ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
