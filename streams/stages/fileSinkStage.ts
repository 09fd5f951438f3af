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
  /** The ids of the rows in one existing shard file (absolute path), with their origins where the file records them. */
  readIds(path: string): Promise<ShardIds>;
}

/** Row ids read back from a shard; `origins[i]` is row i's origin (null or absent: not recorded). */
export interface ShardIds {
  readonly ids: readonly string[];
  readonly origins?: readonly (string | null)[];
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
  /**
   * Where a row first came from (the problem source topic of a tree), or undefined. A row whose id
   * is in the dataset from another origin is not a redelivery but a second source reusing the id:
   * it is still dropped (the first row stays), and reported to `onConflict`. The row itself carries
   * it, so the shard files do too, and a restarted sink still tells the two apart.
   */
  readonly originOf?: (row: Row) => string | undefined;
  /** Called once per row dropped because another origin gave its id first: the row, the kept row's origin and its own. */
  readonly onConflict?: (row: Row, keptFrom: string, droppedFrom: string) => void;
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
 * Records with one id always share a partition (they are keyed by tree or problem id). With
 * `originOf`, a row whose id another origin gave first (two problem sources reusing an id) is told
 * apart from a redelivery and reported to `onConflict`, once; which row stays does not change.
 */
export function fileSinkStage<In, Row>(config: FileSinkStageConfig<In, Row>, writer: ShardWriter<Row>, onRows?: (rows: readonly Row[]) => void): FileSinkStage<In> {
  const written: ShardFile[] = [];
  // Per partition, the ids in the dataset and the origin of each (null: unknown, e.g. a row written
  // before rows recorded it, so a later copy is taken for a redelivery).
  const idsByPartition = new Map<string, Promise<Map<string, string | null>>>();
  // Conflicts already reported (id and the dropped row's origin): few, kept for the process's life.
  const reported = new Set<string>();
  // One string per origin however many rows name it (a sink holds millions of ids).
  const origins = new Map<string, string>();
  const intern = (origin: string | null | undefined): string | null => {
    if (origin === undefined || origin === null) return null;
    let own = origins.get(origin);
    if (own === undefined) {
      own = origin;
      origins.set(origin, own);
    }
    return own;
  };

  const idsOf = (position: ShardPosition): Promise<Map<string, string | null>> => {
    const key = `${position.topic}:${position.partition}`;
    let ids = idsByPartition.get(key);
    if (ids === undefined) {
      ids = loadIds(join(config.dir, writer.subdir), `${position.topic}-p${position.partition}-`, writer, intern);
      idsByPartition.set(key, ids);
    }
    return ids;
  };

  const batcher = new ShardBatcher<Row>(config.batch, async (items, position) => {
    const ids = await idsOf(position);
    const fresh: Row[] = [];
    const conflicts: { row: Row; kept: string; dropped: string }[] = [];
    for (const row of items) {
      const id = config.idOf(row);
      const origin = intern(config.originOf?.(row));
      const kept = ids.get(id);
      if (kept === undefined) {
        ids.set(id, origin);
        fresh.push(row);
        continue;
      }
      // Same origin (or unknown): a redelivery. Another origin: reported once, whatever redelivers it.
      const key = `${id}\u0000${origin ?? ''}`;
      if (kept !== null && origin !== null && kept !== origin && !reported.has(key)) {
        reported.add(key);
        conflicts.push({ row, kept, dropped: origin });
      }
    }
    if (fresh.length < items.length) dropped += items.length - fresh.length;
    // Reported once the rows they lost to are durable (a failed write is redone, and reports then).
    const report = (): void => {
      for (const c of conflicts) config.onConflict?.(c.row, c.kept, c.dropped);
    };
    if (fresh.length === 0) {
      report();
      return;
    }
    const base = config.offsetBase?.get(`${position.topic}:${position.partition}`) ?? 0;
    try {
      written.push(await writer.writeShard(fresh, base === 0 ? position : { ...position, firstOffset: position.firstOffset + base, lastOffset: position.lastOffset + base }));
    } catch (error) {
      for (const row of fresh) ids.delete(config.idOf(row));
      for (const c of conflicts) reported.delete(`${config.idOf(c.row)}\u0000${c.dropped}`);
      throw error;
    }
    report();
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

/** Ids of every row in the shard files of one topic-partition under `dir`, with their origins (null: not recorded). */
async function loadIds<Row>(dir: string, prefix: string, writer: ShardWriter<Row>, intern: (origin: string | null | undefined) => string | null): Promise<Map<string, string | null>> {
  const ids = new Map<string, string | null>();
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return ids;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || entry.startsWith('.')) continue;
    const shard = await writer.readIds(join(dir, entry));
    shard.ids.forEach((id, i) => ids.set(id, intern(shard.origins?.[i])));
  }
  return ids;
}
