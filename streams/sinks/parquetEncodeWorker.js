// Worker-thread entry of ParquetEncoder (parquetEncoder.ts). Plain ESM JavaScript on purpose:
// vitest runs the TS sources and production runs dist/, and a .js entry resolves the same way
// from both (tsc copies it to dist through allowJs).
//
// Encoding is synchronous (levels, dictionary trials, snappy), so it runs here to keep the
// stage's event loop free.
//
// workerData: { tables: Record<kind, { schema, columnOptions?, plan }>, codec, rowGroupRows, createdBy }
// message in:  { id, kind, rows, columns, last, kvMetadata? }: a file's rows come in chunks packed
//              by RowPacker (parquetWire.ts) (so the sender never blocks its thread for long, and
//              text arrives as transferred PLAIN bytes); `last` ends a file.
//              { id, abort: true } drops a partial file.
// message out: { id, ok: true, bytes: Uint8Array (a view of the transferred file buffer, which may be a little longer), sha256, encodeMs (worker time over all chunks) } | { id, ok: false, message }
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createCompressors, encodeChunkPages, fileWriterFor, writeColumnarParquet } from './columnarParquetWriter.js';

const { tables, codec, rowGroupRows, createdBy } = workerData;
const compressors = createCompressors();

/** Files whose last chunk has not arrived, by job id: chunks so far, encode time, first error. */
const partial = new Map();

if (!parentPort) throw new Error('parquetEncodeWorker.js must run as a worker thread');
const port = parentPort;

port.on('message', (job) => {
  // The sender found a value it cannot pack and has already failed the file.
  if (job.abort) {
    partial.delete(job.id);
    return;
  }
  let file = partial.get(job.id);
  if (!file) partial.set(job.id, (file = { chunks: [], encodeMs: 0, error: undefined }));
  const started = performance.now();
  const spec = tables[job.kind];
  if (!spec) file.error ??= new Error(`unknown parquet table kind: ${job.kind}`);
  if (!file.error) {
    try {
      // Compress this chunk's text now, while the sender packs the next one.
      const chunk = { rows: job.rows, columns: job.columns };
      encodeChunkPages(spec.plan, chunk, codec, compressors);
      file.chunks.push(chunk);
    } catch (error) {
      file.error = error;
    }
  }
  file.encodeMs += performance.now() - started;
  if (!job.last) return;
  partial.delete(job.id);
  try {
    if (file.error) throw file.error;
    // One writer per file, sized for the pages already made plus room for the value columns and
    // the footer, so it rarely grows; its buffer is transferred as it is, not sliced (a copy).
    const writer = fileWriterFor(file.chunks);
    writeColumnarParquet({
      writer,
      schema: spec.schema,
      plan: spec.plan,
      columnOptions: spec.columnOptions ?? {},
      chunks: file.chunks,
      rowGroupRows,
      codec,
      compressors,
      kvMetadata: job.kvMetadata,
      createdBy,
    });
    const bytes = new Uint8Array(writer.buffer, 0, writer.offset);
    // The manifest needs the checksum; hashing megabytes here keeps that off the stage's thread too.
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    port.postMessage({ id: job.id, ok: true, bytes, sha256, encodeMs: file.encodeMs + performance.now() - started }, [bytes.buffer]);
  } catch (error) {
    port.postMessage({ id: job.id, ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
