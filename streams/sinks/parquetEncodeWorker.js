// Worker-thread entry of ParquetEncoder (parquetEncoder.ts). Plain ESM JavaScript on purpose:
// vitest runs the TS sources and production runs dist/, and a .js entry resolves the same way
// from both (tsc copies it to dist through allowJs).
//
// hyparquet-writer encodes synchronously (Dremel levels, dictionary trials, snappy), tens of ms
// per thousand traces, so it runs here to keep the stage's event loop free.
//
// workerData: { tables: Record<kind, { schema, columns }>, codec, rowGroupRows, createdBy }
// message in:  { id, kind, rows, kvMetadata? }
// message out: { id, ok: true, bytes: Uint8Array (transferred), sha256, encodeMs } | { id, ok: false, message }
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';

const { tables, codec, rowGroupRows, createdBy } = workerData;

// Node 20's zlib provides GZIP without another package; SNAPPY is built into hyparquet-writer.
const compressors = { GZIP: (input) => gzipSync(input) };

if (!parentPort) throw new Error('parquetEncodeWorker.js must run as a worker thread');
const port = parentPort;

port.on('message', (job) => {
  const started = performance.now();
  try {
    const spec = tables[job.kind];
    if (!spec) throw new Error(`unknown parquet table kind: ${job.kind}`);
    const rows = job.rows;
    const columnData = spec.columns.map((name) => {
      const data = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) data[i] = rows[i][name];
      return { name, data };
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
