import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import { sha256Hex } from '../../operators/common/hash.js';
import { noopMetrics, type Metrics } from '../../operators/common/metrics.js';
import { readIpcFile, recordsToTable, tableToRecords, writeIpcFile } from '../../schemas/arrow.js';
import { SearchTree, SearchTreeArrow } from '../../schemas/searchTree.js';
import { VerifiedTree, VerifiedTreeArrow } from '../../schemas/verifiedTree.js';
import { removeStaleTempFiles, sequenceFileName, shardFileName, writeFileAtomic } from './atomicFile.js';
import type { ShardFile } from './manifest.js';
import type { ShardPosition } from './traceParquetSink.js';

/** Subdirectory of the dataset directory that holds tree archives. */
export const TREES_SUBDIR = 'trees';

/** Which record type an archive holds; each file holds one. */
export type TreeArchiveKind = 'search' | 'verified';

interface TreeOf {
  readonly search: SearchTree;
  readonly verified: VerifiedTree;
}

export interface TreeArchiveSinkOptions<K extends TreeArchiveKind> {
  /** The dataset directory; archives go to `DIR/trees/`. */
  readonly dir: string;
  /** `search` for `astro.trees.v1` records, `verified` for `astro.trees.verified.v1`. */
  readonly trees: K;
  /** Counts `sink.trees.rows` / `sink.trees.files`. */
  readonly metrics?: Metrics;
  /** Epoch ms clock, used to tell orphaned temp files from ones being written (default `Date.now`). */
  readonly clock?: () => number;
}

export interface TreeArchiveSink<T> {
  /** Writes one partition's offset range as one Arrow IPC file, durably; same range, same file. */
  writeShard(trees: readonly T[], position: ShardPosition): Promise<ShardFile>;
  /** Writes the `sequence`-th flush of a run without offsets as `trees/trees-<sequence>.arrow`. */
  writeBatch(trees: readonly T[], sequence: number): Promise<ShardFile>;
}

/**
 * Archives search trees (the expensive asset) as Arrow IPC files, so a dataset directory can be
 * replayed through a new linearizer or verifier without the topic. Arrow encoding runs on the
 * calling thread: trees arrive far less often than traces.
 */
export function createTreeArchiveSink<K extends TreeArchiveKind>(options: TreeArchiveSinkOptions<K>): TreeArchiveSink<TreeOf[K]> {
  const metrics = options.metrics ?? noopMetrics;
  const archiveDir = join(options.dir, TREES_SUBDIR);
  const schema = options.trees === 'verified' ? VerifiedTreeArrow : SearchTreeArrow;
  let ready: Promise<void> | undefined;
  const prepare = (): Promise<void> =>
    (ready ??= mkdir(archiveDir, { recursive: true }).then(async () => {
      await removeStaleTempFiles(archiveDir, { now: options.clock });
    }));

  async function write(trees: readonly TreeOf[K][], name: string, origin: Omit<ShardFile, 'kind' | 'path' | 'rows' | 'bytes' | 'sha256'>): Promise<ShardFile> {
    await prepare();
    let bytes: Uint8Array;
    try {
      bytes = writeIpcFile(recordsToTable(schema, trees));
    } catch (error) {
      throw new AppError('sink', `cannot encode ${trees.length} trees as Arrow: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    await writeFileAtomic(join(archiveDir, name), bytes);
    metrics.increment('sink.trees.rows', trees.length);
    metrics.increment('sink.trees.files');
    return { kind: 'trees', path: `${TREES_SUBDIR}/${name}`, rows: trees.length, bytes: bytes.byteLength, sha256: sha256Hex(bytes), ...origin };
  }

  return {
    writeShard: (trees, p) =>
      write(trees, shardFileName(p.topic, p.partition, p.firstOffset, p.lastOffset, 'arrow'), {
        topic: p.topic,
        partition: p.partition,
        first_offset: p.firstOffset,
        last_offset: p.lastOffset,
        sequence: null,
      }),
    writeBatch: (trees, sequence) =>
      write(trees, sequenceFileName('trees', sequence, 'arrow'), { topic: null, partition: null, first_offset: null, last_offset: null, sequence }),
  };
}

/**
 * Reads every tree archived under `DIR/trees/`, file by file in name order (so offset order
 * within a partition), validating each record. Files whose schema has the verifier columns yield
 * VerifiedTrees, others SearchTrees. A missing `trees/` directory is a `config` error (a wrong
 * path must not replay as an empty dataset); an invalid record is a `schema` error naming the file.
 */
export async function* readTreeArchive(dir: string): AsyncIterable<VerifiedTree | SearchTree> {
  const archiveDir = join(dir, TREES_SUBDIR);
  let names: string[];
  try {
    names = (await readdir(archiveDir)).filter((n) => n.endsWith('.arrow') && !n.startsWith('.')).sort();
  } catch (error) {
    throw new AppError('config', `no tree archive in ${dir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  for (const name of names) {
    const path = join(archiveDir, name);
    const table = readIpcFile(await readFile(path));
    const verified = table.schema.fields.some((f) => f.name === 'verifier_config_hash');
    const validator = verified ? VerifiedTree : SearchTree;
    for (const [i, record] of tableToRecords<unknown>(table).entries()) {
      const parsed = validator.safeParse(record);
      if (!parsed.success) throw new AppError('schema', `${path} row ${i}: ${parsed.error.message}`);
      yield parsed.data;
    }
  }
}
