import { randomUUID } from 'node:crypto';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';

/** Temp files start with a dot and end with this, so `*.parquet` / `*.arrow` globs never see them. */
const TEMP_SUFFIX = '.tmp';

// errno codes that mean the output itself is unusable, not this one write: every later write
// would fail too, so they are `storage` errors (the process stops) rather than `sink` errors.
const STORAGE_CODES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EFBIG: 'file too large for the file system',
};

/**
 * The error of a failed write to `path`: a `storage` AppError when the file system refuses all
 * writes (disk full, read-only, no permission), naming the cause in words and its code; otherwise
 * a `sink` AppError with the message.
 */
export function writeErrorOf(path: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const words = code === undefined ? undefined : STORAGE_CODES[code];
  if (words !== undefined) return new AppError('storage', `cannot write ${path}: ${words} (${code})`, { cause: error });
  return new AppError('sink', `cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

// Host and pid of this process in every temp name: a later start can tell a dead writer's
// leftovers (removed at once) from a live writer's file on the same host (kept).
const HOST = hostname().replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'host';
const OWNER = `${HOST}-${process.pid}`;

/**
 * Writes `bytes` to `path` so that readers see either the old file or the whole new one, and a
 * crash never leaves a torn file under the final name: write a temp file in the same directory,
 * fsync it, rename it over `path`, fsync the directory (so the rename itself is durable before
 * offsets are committed). Overwriting an existing file is allowed: shard redos are idempotent.
 * Failures are `sink` AppErrors (disk full, permissions); the temp file is removed.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${OWNER}.${randomUUID()}${TEMP_SUFFIX}`);
  try {
    const file = await open(temp, 'wx');
    try {
      let written = 0;
      while (written < bytes.byteLength) {
        const { bytesWritten } = await file.write(bytes, written, bytes.byteLength - written);
        written += bytesWritten;
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
    await fsyncDir(dir);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw writeErrorOf(path, error);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Options of `removeStaleTempFiles`. */
export interface StaleTempOptions {
  /**
   * Temp files whose writer cannot be identified as dead (another host, or an older name without
   * the owner) are removed only once last modified this long ago (default 1 hour): another
   * process of the same consumer group may be writing into the same directory right now.
   * Temp files of a dead process of this host are removed at once. 0 removes every temp file
   * (a directory this process owns alone, e.g. `run --out`).
   */
  readonly olderThanMs?: number;
  /** Epoch ms clock (injected for tests). */
  readonly now?: () => number;
}

/** True when `name` is a temp file of a process on this host that no longer runs. */
function deadWriterOnThisHost(name: string): boolean {
  const parts = name.slice(0, -TEMP_SUFFIX.length).split('.');
  const owner = parts.at(-2) ?? '';
  const dash = owner.lastIndexOf('-');
  if (dash <= 0 || owner.slice(0, dash) !== HOST) return false;
  const pid = Number(owner.slice(dash + 1));
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes temp files that crashed writers left in `dir`; returns how many. Call before writing
 * into a directory again. A temp file of a dead process on this host goes at once; others once
 * older than `olderThanMs`.
 */
export async function removeStaleTempFiles(dir: string, options: StaleTempOptions = {}): Promise<number> {
  const olderThanMs = options.olderThanMs ?? 3_600_000;
  const now = (options.now ?? Date.now)();
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names.filter(isTempFileName)) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    // Gone already (its writer renamed it) or too fresh to be an orphan of an unknown writer.
    if (info === undefined) continue;
    if (olderThanMs > 0 && now - info.mtimeMs < olderThanMs && !deadWriterOnThisHost(name)) continue;
    if (await unlink(path).then(() => true, () => false)) removed++;
  }
  return removed;
}

/** True for the names `writeFileAtomic` gives its temp files. */
export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

// Kafka topic names are [a-zA-Z0-9._-]; anything else would not be a safe file name either.
const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
const OFFSET_DIGITS = 12;

/**
 * The deterministic file name of the records `firstOffset..lastOffset` (inclusive) of one
 * partition, e.g. `astro.traces.v1-p0-000000000000-000000000041.parquet`. Offsets are
 * zero-padded to 12 digits so names sort in offset order, and a redo of the same records
 * overwrites the same file instead of adding a duplicate.
 */
export function shardFileName(topic: string, partition: number, firstOffset: number, lastOffset: number, ext: string): string {
  if (!TOPIC_NAME.test(topic)) throw new RangeError(`topic name not usable in a file name: ${JSON.stringify(topic)}`);
  if (!Number.isSafeInteger(partition) || partition < 0) throw new RangeError(`bad partition ${partition}`);
  if (!Number.isSafeInteger(firstOffset) || firstOffset < 0 || !Number.isSafeInteger(lastOffset) || lastOffset < firstOffset) {
    throw new RangeError(`bad offset range ${firstOffset}..${lastOffset}`);
  }
  return `${topic}-p${partition}-${pad(firstOffset)}-${pad(lastOffset)}.${ext.replace(/^\./, '')}`;
}

/**
 * The deterministic file name of the `sequence`-th flush of a run that has no offsets (embedded
 * runs): `traces-000000000007.parquet`. Rerunning the same run rewrites the same names.
 */
export function sequenceFileName(prefix: string, sequence: number, ext: string): string {
  if (!TOPIC_NAME.test(prefix)) throw new RangeError(`prefix not usable in a file name: ${JSON.stringify(prefix)}`);
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`bad sequence ${sequence}`);
  return `${prefix}-${pad(sequence)}.${ext.replace(/^\./, '')}`;
}

function pad(n: number): string {
  return String(n).padStart(OFFSET_DIGITS, '0');
}

const SHARD_NAME = /^([a-zA-Z0-9._-]+)-p(\d+)-(\d{12,})-(\d{12,})\.[a-z]+$/;
const SEQUENCE_NAME = /^([a-zA-Z0-9._-]+)-(\d{12,})\.[a-z]+$/;

/**
 * The origin a shard's file name records (the inverse of `shardFileName` / `sequenceFileName`);
 * undefined for any other name.
 */
export function parseShardFileName(name: string): { topic: string | null; partition: number | null; first_offset: number | null; last_offset: number | null; sequence: number | null } | undefined {
  const shard = SHARD_NAME.exec(name);
  if (shard !== null) {
    return { topic: shard[1] as string, partition: Number(shard[2]), first_offset: Number(shard[3]), last_offset: Number(shard[4]), sequence: null };
  }
  const sequence = SEQUENCE_NAME.exec(name);
  if (sequence !== null) return { topic: null, partition: null, first_offset: null, last_offset: null, sequence: Number(sequence[2]) };
  return undefined;
}
