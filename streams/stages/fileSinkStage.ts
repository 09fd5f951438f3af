import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, type Result } from '../../operators/common/result.js';
import type { ShardFile } from '../sinks/manifest.js';
import { ShardBatcher, type ShardBatcherConfig, type ShardPosition } from './shardBatcher.js';
import { NO_OUTPUT, type StageOutcome, type StageSpec } from './stageRuntime.js';

/** A file sink that writes one shard per (topic, partition, offset range). */
export interface ShardWriter<Row> {
  /** Subdirectory of the dataset the shards go to (`traces`, `trees`). */
  readonly subdir: string;
  writeShard(rows: readonly Row[], position: ShardPosition): Promise<ShardFile>;
  /** The ids of the rows in one existing shard file (absolute path). */
  readIds(path: string): Promise<string[]>;
}

export interface FileSinkStageConfig<In, Row> {
  readonly name: string;
  readonly groupId: string;
  readonly topic: string;
  /** Dataset directory (shard paths in ShardFile are relative to it). */
  readonly dir: string;
  readonly decode: (bytes: Uint8Array) => Result<In>;
  readonly toRows: (value: In) => readonly Row[];
  /** The row's deterministic id (trace id, tree id): at most one row per id in the dataset. */
  readonly idOf: (row: Row) => string;
  readonly batch: ShardBatcherConfig;
  /**
   * Added to the offsets that name shard files, per `topic:partition`: a run continued in a
   * directory on an in-process transport (whose offsets restart at 0) names its files after the
   * ones already there instead of over them.
   */
  readonly offsetBase?: ReadonlyMap<string, number>;
}

export interface FileSinkStage<In> {
  readonly spec: StageSpec<In>;
  /** Files written by this process, for the manifest. */
  files(): ShardFile[];
  /** Rows dropped because their id was already in the dataset (upstream redelivery). */
  duplicatesDropped(): number;
}

/**
 * topic → shard files, effectively once. A record's offset is committed only after the file holding
 * it is fsynced and renamed. Upstream redelivery (a search worker killed after producing a tree but
 * before committing its problem) produces records with ids already in the dataset: the sink keeps,
 * per partition, the ids of the files on disk (loaded when it first writes that partition, so a
 * restarted sink or a new owner after a rebalance knows them too) and drops rows it already has.
 * Records with one id always share a partition (they are keyed by tree or problem id).
 */
export function fileSinkStage<In, Row>(config: FileSinkStageConfig<In, Row>, writer: ShardWriter<Row>, onRows?: (rows: readonly Row[]) => void): FileSinkStage<In> {
  const written: ShardFile[] = [];
  const idsByPartition = new Map<string, Promise<Set<string>>>();

  const idsOf = (position: ShardPosition): Promise<Set<string>> => {
    const key = `${position.topic}:${position.partition}`;
    let ids = idsByPartition.get(key);
    if (ids === undefined) {
      ids = loadIds(join(config.dir, writer.subdir), `${position.topic}-p${position.partition}-`, writer);
      idsByPartition.set(key, ids);
    }
    return ids;
  };

  const batcher = new ShardBatcher<Row>(config.batch, async (rows, position) => {
    const ids = await idsOf(position);
    const fresh: Row[] = [];
    for (const row of rows) {
      const id = config.idOf(row);
      if (ids.has(id)) continue;
      ids.add(id);
      fresh.push(row);
    }
    if (fresh.length < rows.length) dropped += rows.length - fresh.length;
    if (fresh.length === 0) return;
    const base = config.offsetBase?.get(`${position.topic}:${position.partition}`) ?? 0;
    try {
      written.push(await writer.writeShard(fresh, base === 0 ? position : { ...position, firstOffset: position.firstOffset + base, lastOffset: position.lastOffset + base }));
    } catch (error) {
      for (const row of fresh) ids.delete(config.idOf(row));
      throw error;
    }
    onRows?.(fresh);
  });
  let dropped = 0;

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
      // A partition that comes back later may have been written by another member meanwhile.
      for (const key of idsByPartition.keys()) if (!owned.has(key)) idsByPartition.delete(key);
    },
    flush: () => batcher.flushAll(),
  };
  return {
    spec,
    files: () => [...written].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    duplicatesDropped: () => dropped,
  };
}

/** Ids of every row in the shard files of one topic-partition under `dir`. */
async function loadIds<Row>(dir: string, prefix: string, writer: ShardWriter<Row>): Promise<Set<string>> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return new Set();
  }
  const ids = new Set<string>();
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || entry.startsWith('.')) continue;
    for (const id of await writer.readIds(join(dir, entry))) ids.add(id);
  }
  return ids;
}
