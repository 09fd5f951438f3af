import { randomUUID } from 'node:crypto';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';

/** Temp files start with a dot and end with this, so `*.parquet` / `*.arrow` globs never see them. */
const TEMP_SUFFIX = '.tmp';

/**
 * Writes `bytes` to `path` so that readers see either the old file or the whole new one, and a
 * crash never leaves a torn file under the final name: write a temp file in the same directory,
 * fsync it, rename it over `path`, fsync the directory (so the rename itself is durable before
 * offsets are committed). Overwriting an existing file is allowed: shard redos are idempotent.
 * Failures are `sink` AppErrors (disk full, permissions); the temp file is removed.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomUUID()}${TEMP_SUFFIX}`);
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
    throw new AppError('sink', `cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
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
   * Only temp files last modified at least this long ago are removed (default 1 hour): another
   * process of the same consumer group may be writing into the same directory right now.
   */
  readonly olderThanMs?: number;
  /** Epoch ms clock (injected for tests). */
  readonly now?: () => number;
}

/** Removes temp files that crashed writers left in `dir`; returns how many. Call before writing into a directory again. */
export async function removeStaleTempFiles(dir: string, options: StaleTempOptions = {}): Promise<number> {
  const olderThanMs = options.olderThanMs ?? 3_600_000;
  const now = (options.now ?? Date.now)();
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names.filter((n) => n.startsWith('.') && n.endsWith(TEMP_SUFFIX))) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    // Gone already (its writer renamed it) or too fresh to be an orphan.
    if (info === undefined || now - info.mtimeMs < olderThanMs) continue;
    if (await unlink(path).then(() => true, () => false)) removed++;
  }
  return removed;
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
