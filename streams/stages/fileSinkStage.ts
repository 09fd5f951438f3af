import { readdir, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ok, type Result } from '../../operators/common/result.js';
import type { ShardFile } from '../sinks/manifest.js';
import { ShardBatcher, type ShardBatcherConfig, type ShardPosition } from './shardBatcher.js';
import { NO_OUTPUT, type StageOutcome, type StageSpec } from './stageRuntime.js';

/** A file sink that writes one shard per (topic, partition, offset range). */
export interface ShardWriter<Row> {
  writeShard(rows: readonly Row[], position: ShardPosition): Promise<ShardFile>;
}

export interface FileSinkStageConfig<In, Row> {
  readonly name: string;
  readonly groupId: string;
  readonly topic: string;
  /** Dataset directory (shard paths in ShardFile are relative to it). */
  readonly dir: string;
  readonly decode: (bytes: Uint8Array) => Result<In>;
  readonly toRows: (value: In) => readonly Row[];
  readonly batch: ShardBatcherConfig;
}

export interface FileSinkStage<In> {
  readonly spec: StageSpec<In>;
  /** Files written so far (latest version of each name), for the manifest. */
  files(): ShardFile[];
}

/**
 * topic → shard files. A record's offset is committed only once the file holding it is fsynced
 * and renamed. A redo after a crash rewrites the range from the committed offset; files of an
 * earlier attempt that overlap the new range are removed, so no row is ever in two files.
 */
export function fileSinkStage<In, Row>(config: FileSinkStageConfig<In, Row>, writer: ShardWriter<Row>, onRows?: (rows: readonly Row[]) => void): FileSinkStage<In> {
  const written = new Map<string, ShardFile>();
  const batcher = new ShardBatcher<Row>(config.batch, async (rows, position) => {
    const file = await writer.writeShard(rows, position);
    await removeOverlappingShards(config.dir, file);
    for (const [path, other] of written) {
      if (path !== file.path && overlaps(other, file)) written.delete(path);
    }
    written.set(file.path, file);
    onRows?.(rows);
  });
  const spec: StageSpec<In> = {
    name: config.name,
    groupId: config.groupId,
    topics: [config.topic],
    decode: config.decode,
    // Enough records in flight to fill whole shards on every partition.
    concurrency: config.batch.maxRecords * 64,
    highWaterMark: config.batch.maxRecords * 128,
    handle: async (value, record): Promise<Result<StageOutcome>> => {
      await batcher.add(record, config.toRows(value));
      return ok(NO_OUTPUT);
    },
    onAssignment: (assignment) => {
      const owned = new Set(assignment.partitions.map((p) => `${p.topic}:${p.partition}`));
      batcher.keepOnly((topic, partition) => owned.has(`${topic}:${partition}`));
    },
    flush: () => batcher.flushAll(),
  };
  return { spec, files: () => [...written.values()].sort((a, b) => (a.path < b.path ? -1 : 1)) };
}

const SHARD_NAME = /^(.+)-p(\d+)-(\d+)-(\d+)\.[a-z]+$/;

function overlaps(a: ShardFile, b: ShardFile): boolean {
  return (
    a.topic === b.topic &&
    a.partition === b.partition &&
    a.first_offset !== null &&
    a.last_offset !== null &&
    b.first_offset !== null &&
    b.last_offset !== null &&
    a.first_offset <= b.last_offset &&
    b.first_offset <= a.last_offset
  );
}

/**
 * Deletes shards of the same topic-partition whose offset range intersects `file`'s. Safe because
 * offsets are committed only after a file is written: any overlapping file is from an attempt
 * whose records were not all committed, and the new file (or the next) holds them again.
 */
async function removeOverlappingShards(dir: string, file: ShardFile): Promise<void> {
  const subdir = posix.dirname(file.path);
  const name = posix.basename(file.path);
  const entries = await readdir(join(dir, subdir));
  for (const entry of entries) {
    if (entry === name) continue;
    const m = SHARD_NAME.exec(entry);
    if (m === null || m[1] !== file.topic || Number(m[2]) !== file.partition) continue;
    const first = Number(m[3]);
    const last = Number(m[4]);
    if (file.first_offset !== null && file.last_offset !== null && first <= file.last_offset && file.first_offset <= last) {
      await unlink(join(dir, subdir, entry));
    }
  }
}
