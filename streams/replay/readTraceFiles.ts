import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { AppError } from '../../operators/common/errors.js';
import { Trace } from '../../schemas/trace.js';
import { TRACES_SUBDIR } from '../sinks/traceParquetSink.js';

/** Rows decoded per hyparquet call: bounds memory on large shards. */
const CHUNK_ROWS = 2000;

/** A Parquet cell as hyparquet returns it, back to the Trace field type (timestamps → epoch ms). */
function toTraceRecord(row: Record<string, unknown>): Record<string, unknown> {
  const created = row['created_at'];
  return { ...row, created_at: created instanceof Date ? created.getTime() : typeof created === 'bigint' ? Number(created) : created };
}

/**
 * Reads one trace Parquet file as validated Traces, in row order. A row that is not a Trace is a
 * `schema` AppError naming the file and row (a dataset file is ours: it must match the contract).
 */
export async function* readTraceFile(path: string): AsyncGenerator<Trace> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const total = Number(metadata.num_rows);
  for (let start = 0; start < total; start += CHUNK_ROWS) {
    const rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: Math.min(total, start + CHUNK_ROWS) });
    for (const [i, row] of rows.entries()) {
      const parsed = Trace.safeParse(toTraceRecord(row));
      if (!parsed.success) throw new AppError('schema', `${path} row ${start + i}: ${parsed.error.message}`);
      yield parsed.data;
    }
  }
}

/** The trace files of a dataset directory (`DIR/traces/*.parquet`), relative paths in name order. */
export async function listTraceFiles(dir: string): Promise<string[]> {
  const names = await readdir(join(dir, TRACES_SUBDIR)).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.parquet') && !n.startsWith('.'))
    .sort()
    .map((n) => `${TRACES_SUBDIR}/${n}`);
}

/** Every trace of a dataset directory: files in name order, rows in file order. */
export async function* readDatasetTraces(dir: string): AsyncGenerator<{ readonly file: string; readonly trace: Trace }> {
  for (const file of await listTraceFiles(dir)) {
    for await (const trace of readTraceFile(join(dir, file))) yield { file, trace };
  }
}
