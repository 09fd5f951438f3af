import { access, constants, mkdir, open, readdir, rm, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import { isTempFileName, removeStaleTempFiles, writeErrorOf } from './atomicFile.js';
import type { ShardFile } from './manifest.js';
import { rebuildManifest, type ManifestRebuild } from './rebuildManifest.js';

/** What to do with an output directory that already holds something. */
export type OutMode = 'new' | 'resume' | 'overwrite';

/**
 * Space held from the start of a run and given back just before its final manifest is written, so
 * a run stopped by a full disk can still write a manifest of what it completed.
 */
const RESERVE_FILE = '.astro-stream.reserve';
const RESERVE_BYTES = 256 * 1024;

/** Every entry a dataset directory of ours may hold: what `--overwrite` removes, and nothing else. */
const DATASET_ENTRIES = new Set(['traces', 'trees', 'manifest.json', 'dead_letters.jsonl', 'policies', 'rl', RESERVE_FILE]);

/** An output directory ready to be written. */
export interface PreparedDatasetDir {
  readonly dir: string;
  readonly mode: OutMode;
  /** Manifest entries of the shard files already there (resume only; empty otherwise). */
  readonly existing: readonly ShardFile[];
  /** What the start-time manifest rebuild found (resume only). */
  readonly rebuild: ManifestRebuild | undefined;
  /** Gives the reserved space back; call right before writing the final manifest. */
  releaseReserve(): Promise<void>;
}

/** Options of {@link prepareDatasetDir}. */
export interface PrepareDatasetDirOptions {
  /** The flag that named the directory, for messages (default `--out`). */
  readonly flag?: string;
  /** What to do about a non-empty directory, for the refusal (default: the `run` flags `--resume` / `--overwrite`). */
  readonly notEmptyHint?: string;
  readonly clock?: () => number;
  readonly version?: string;
}

/**
 * Makes `dir` ready for a run, before any work is spent: creates it, refuses one that already
 * holds something unless `resume` (keep it, rebuild its manifest from the files on disk, remove
 * leftover temp files) or `overwrite` (remove the dataset's own entries; a directory holding
 * anything else is refused), and proves it writable by reserving space on it. Every refusal is a
 * `config` AppError naming the directory and the reason (exit 2): a read-only file system, a full
 * disk, a permission, a non-empty directory.
 */
export async function prepareDatasetDir(dir: string, mode: OutMode, options: PrepareDatasetDirOptions = {}): Promise<PreparedDatasetDir> {
  const flag = options.flag ?? '--out';
  await createDir(dir, flag);
  const entries = (await readdir(dir)).filter((name) => name !== RESERVE_FILE && !isTempFileName(name));
  if (entries.length > 0 && mode === 'new') {
    const shown = entries.slice(0, 4).join(', ') + (entries.length > 4 ? `, … (${entries.length} entries)` : '');
    const hint = options.notEmptyHint ?? 'pass --resume to continue that run (problems whose trees are there are skipped) or --overwrite to start clean';
    throw new AppError('config', `${flag} ${dir} is not empty (${shown}): ${hint}`);
  }
  if (entries.length > 0 && mode === 'overwrite') {
    const foreign = entries.filter((name) => !DATASET_ENTRIES.has(name));
    if (foreign.length > 0) {
      throw new AppError('config', `${flag} ${dir} holds more than a dataset (${foreign.slice(0, 4).join(', ')}); --overwrite removes only a dataset's own files: choose another ${flag}`);
    }
    for (const name of entries) await rm(join(dir, name), { recursive: true, force: true }).catch((error: unknown) => rethrowAsConfig(writeErrorOf(join(dir, name), error)));
  }
  // This process owns the directory alone from here on: every temp file is a dead writer's.
  for (const sub of ['', 'traces', 'trees']) await removeStaleTempFiles(join(dir, sub), { olderThanMs: 0 });
  const reserve = join(dir, RESERVE_FILE);
  await writeReserve(reserve).catch((error: unknown) => rethrowAsConfig(writeErrorOf(dir, error), `${flag} ${dir} is not writable`));
  const rebuild = mode === 'resume' ? await rebuildManifest(dir, { ...(options.clock ? { clock: options.clock } : {}), ...(options.version ? { version: options.version } : {}) }) : undefined;
  let released = false;
  return {
    dir,
    mode,
    existing: rebuild?.manifest.files ?? [],
    rebuild,
    releaseReserve: async () => {
      if (released) return;
      released = true;
      await unlink(reserve).catch(() => undefined);
    },
  };
}

async function createDir(dir: string, flag: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    return;
  } catch (error) {
    // mkdir -p under a read-only mount reports the missing leaf (ENOENT), not the cause: name
    // the nearest existing ancestor and why it cannot be written.
    const ancestor = await nearestExisting(dir);
    const denied = ancestor === undefined ? undefined : await access(ancestor, constants.W_OK).then(() => undefined, (e: unknown) => e);
    const cause = writeErrorOf(ancestor ?? dir, denied ?? error);
    throw new AppError('config', `${flag} ${dir} cannot be created: ${cause.message}`, { cause: error });
  }
}

async function nearestExisting(dir: string): Promise<string | undefined> {
  let current = resolve(dir);
  for (;;) {
    if (await access(current).then(() => true, () => false)) return current;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

async function writeReserve(path: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.write(new Uint8Array(RESERVE_BYTES));
    await file.sync();
  } finally {
    await file.close();
  }
}

function rethrowAsConfig(error: AppError, prefix?: string): never {
  throw new AppError('config', prefix === undefined ? error.message : `${prefix}: ${error.message.replace(/^cannot write [^:]+: /, '')}`, { cause: error });
}
