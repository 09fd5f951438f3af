import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { AppError } from '../../operators/common/errors.js';
import { fail, type Result } from '../../operators/common/result.js';
import type { Problem } from '../../schemas/problem.js';
import { MAX_DEAD_LETTER_ORIGINAL_BYTES } from '../../schemas/topics.js';
import { jsonSafe } from './jsonSafe.js';
import { rowToProblem, type ProblemFieldMapping } from './problemMapping.js';

/** One row of a problem file as read: where it is and its original bytes, for a dead letter. */
export interface SourceRow {
  /** `FILE line N` / `FILE row N`: names the row in failure reasons. */
  readonly where: string;
  /** 1-based line (JSONL) or row (Parquet) number. */
  readonly index: number;
  /** The original bytes (JSONL: the line; Parquet: the row as JSON), cut to `keepBytes`. */
  readonly bytes: Uint8Array;
  /** The row's full size in bytes. */
  readonly size: number;
}

/** A row and what it maps to. */
export interface SourceItem {
  readonly row: SourceRow;
  readonly result: Result<Problem>;
}

/** Bounds of a file reader. */
export interface SourceReadOptions {
  /** Longest JSONL line that is parsed (bytes); a longer one is a `too_large` row, never held whole. Default 64 MiB. */
  readonly maxLineBytes?: number;
  /** Most original bytes kept per row for its dead letter. Default: what a DLQ record carries. */
  readonly keepBytes?: number;
}

/** Default longest parsed line: rows may carry large fields the mapping never reads. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/**
 * Reads a JSONL problem file as {@link SourceItem}s in file order, in constant memory: a line is
 * held only up to `maxLineBytes` (a longer one is a `too_large` failure carrying its first bytes and
 * its size, and the reader skips to the next line). A line that is not UTF-8 or not JSON, or does
 * not map to a Problem, is a failed Result naming the line; blank lines are skipped. A missing or
 * unreadable file is a `config` AppError.
 */
export async function* readJsonlRows(path: string, mapping: ProblemFieldMapping, options: SourceReadOptions = {}): AsyncGenerator<SourceItem> {
  const maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
  const keep = Math.min(options.keepBytes ?? MAX_DEAD_LETTER_ORIGINAL_BYTES, maxLine);
  const handle = await open(path, 'r').catch((error: unknown) => {
    throw fileError(path, error);
  });
  let index = 0;
  let parts: Buffer[] = [];
  let held = 0;
  let size = 0;
  const take = (segment: Buffer): void => {
    size += segment.byteLength;
    const room = maxLine - held;
    if (room <= 0) return;
    // Views into the stream's chunks (a file stream hands out a new buffer per chunk): a line
    // inside one chunk is never copied.
    const kept = segment.byteLength > room ? segment.subarray(0, room) : segment;
    parts.push(kept);
    held += kept.byteLength;
  };
  const finish = (): SourceItem | undefined => {
    index += 1;
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, held);
    const full = size;
    parts = [];
    held = 0;
    size = 0;
    return lineItem(path, index, bytes, full, maxLine, keep, mapping);
  };
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 64 * 1024, autoClose: false })) {
      const data = chunk as Buffer;
      let at = 0;
      for (let nl = data.indexOf(NEWLINE, at); nl !== -1; nl = data.indexOf(NEWLINE, at)) {
        take(data.subarray(at, nl));
        const item = finish();
        if (item !== undefined) yield item;
        at = nl + 1;
      }
      if (at < data.byteLength) take(data.subarray(at));
    }
  } catch (error) {
    throw fileError(path, error);
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (size > 0) {
    const item = finish();
    if (item !== undefined) yield item;
  }
}

function lineItem(path: string, index: number, held: Buffer, size: number, maxLine: number, keep: number, mapping: ProblemFieldMapping): SourceItem | undefined {
  const where = `${path} line ${index}`;
  const row: SourceRow = { where, index, bytes: held.byteLength > keep ? held.subarray(0, keep) : held, size };
  if (size > maxLine) return { row, result: fail(new AppError('too_large', `${where}: ${size} bytes, over the ${maxLine} bytes a line may have`)) };
  const body = index === 1 ? stripBom(held) : held;
  if (!isUtf8(body)) return { row, result: fail(new AppError('decode', `${where}: not valid UTF-8`)) };
  const text = body.toString('utf8');
  if (text.trim().length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { row, result: fail(new AppError('decode', `${where}: invalid JSON (${e instanceof Error ? e.message : String(e)})`)) };
  }
  return { row, result: mapRow(parsed, mapping, where) };
}

function stripBom(bytes: Buffer): Buffer {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}

/** Rows decoded per hyparquet call: bounds memory on large files while keeping calls few. */
const CHUNK_ROWS = 1000;

/**
 * Reads a Parquet problem file as {@link SourceItem}s in row order, `CHUNK_ROWS` rows at a time.
 * Cells are made JSON-safe first (INT64, timestamps, binary: see `jsonSafe`), and a row's original
 * bytes are the row as JSON. A chunk that fails to decode is read again row by row, so only the
 * rows that cannot be decoded fail (each a failed Result naming its 1-based row). A missing file
 * or one that is not Parquet is a `config` AppError.
 */
export async function* readParquetRows(path: string, mapping: ProblemFieldMapping, options: SourceReadOptions = {}): AsyncGenerator<SourceItem> {
  const keep = options.keepBytes ?? MAX_DEAD_LETTER_ORIGINAL_BYTES;
  let metadata: FileMetaData;
  let file: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  try {
    file = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw fileError(path, error, 'not a readable Parquet file');
  }
  const total = Number(metadata.num_rows);
  for (let start = 0; start < total; start += CHUNK_ROWS) {
    const end = Math.min(total, start + CHUNK_ROWS);
    let rows: unknown[] | undefined;
    try {
      rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, utf8: false });
    } catch {
      rows = undefined;
    }
    for (let i = start; i < end; i++) {
      const where = `${path} row ${i + 1}`;
      let raw: unknown;
      if (rows !== undefined) raw = rows[i - start];
      else {
        try {
          raw = (await parquetReadObjects({ file, metadata, rowStart: i, rowEnd: i + 1, utf8: false }))[0];
        } catch (error) {
          yield { row: { where, index: i + 1, bytes: new Uint8Array(0), size: 0 }, result: fail(new AppError('decode', `${where}: cannot decode (${error instanceof Error ? error.message : String(error)})`)) };
          continue;
        }
      }
      const safe = jsonSafe(raw);
      const bytes = encoder.encode(JSON.stringify(safe));
      yield { row: { where, index: i + 1, bytes: bytes.byteLength > keep ? bytes.subarray(0, keep) : bytes, size: bytes.byteLength }, result: mapRow(safe, mapping, where) };
    }
  }
}

/** Rows of a `jsonl` or `parquet` problem file. */
export function readSourceRows(kind: 'jsonl' | 'parquet', path: string, mapping: ProblemFieldMapping, options: SourceReadOptions = {}): AsyncGenerator<SourceItem> {
  return kind === 'jsonl' ? readJsonlRows(path, mapping, options) : readParquetRows(path, mapping, options);
}

// A row that breaks the mapping itself (a value no field type expected) fails alone.
function mapRow(row: unknown, mapping: ProblemFieldMapping, where: string): Result<Problem> {
  try {
    return rowToProblem(row, mapping, where);
  } catch (error) {
    if (error instanceof AppError) return fail(error);
    return fail(new AppError('schema', `${where}: ${error instanceof Error ? error.message : String(error)}`));
  }
}

function fileError(path: string, error: unknown, what = 'cannot read it'): AppError {
  if (error instanceof AppError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return new AppError('config', `problem file ${path} does not exist`);
  if (e?.code === 'EISDIR') return new AppError('config', `problem file ${path} is a directory`);
  if (e?.code === 'EACCES') return new AppError('config', `problem file ${path} cannot be read: permission denied`);
  return new AppError('config', `problem file ${path}: ${what} (${e instanceof Error ? e.message : String(error)})`);
}

/** Generated problems as source rows (their bytes are their records), for the same admission gate as file rows. */
export function* generatedRows(problems: Iterable<Problem>, label: string): Generator<SourceItem> {
  let index = 0;
  for (const problem of problems) {
    index += 1;
    const bytes = encoder.encode(JSON.stringify(problem));
    yield { row: { where: `${label} #${index}`, index, bytes, size: bytes.byteLength }, result: { ok: true, value: problem } };
  }
}

/** Fails with a `config` AppError naming the file when it cannot be read (missing, a directory, no permission). */
export async function assertReadableFile(path: string): Promise<void> {
  const handle = await open(path, 'r').catch((error: unknown) => {
    throw fileError(path, error);
  });
  try {
    if ((await handle.stat()).isDirectory()) throw new AppError('config', `problem file ${path} is a directory`);
  } finally {
    await handle.close();
  }
}
