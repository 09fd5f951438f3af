import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { noopMetrics, type Metrics } from '../../operators/common/metrics.js';
import type { Trace } from '../../schemas/trace.js';
import { removeStaleTempFiles, sequenceFileName, shardFileName, writeFileAtomic } from './atomicFile.js';
import type { ShardFile } from './manifest.js';
import type { ParquetEncoder } from './parquetEncoder.js';

/** Subdirectory of the dataset directory that holds trace shards. */
export const TRACES_SUBDIR = 'traces';

/** Where a batch of rows came from: one partition's inclusive offset range. */
export interface ShardPosition {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export interface TraceParquetSinkOptions {
  /** The dataset directory; shards go to `DIR/traces/`. */
  readonly dir: string;
  readonly encoder: ParquetEncoder;
  /** Counts `sink.traces.rows` / `sink.traces.files`, observes `sink.traces.write_ms`. */
  readonly metrics?: Metrics;
  /** Epoch ms clock, used to tell orphaned temp files from ones being written (default `Date.now`). */
  readonly clock?: () => number;
}

export interface TraceParquetSink {
  /**
   * Writes `rows` (the traces made from `position`'s records) as one Parquet file named by the
   * offset range, durably (fsynced and renamed) before resolving: commit offsets only after it.
   * Writing the same range again overwrites the same file, so redelivery adds no duplicates.
   */
  writeShard(rows: readonly Trace[], position: ShardPosition): Promise<ShardFile>;
  /**
   * Writes the `sequence`-th flush of a run without offsets (embedded runs), as
   * `traces/traces-<sequence>.parquet`. The caller numbers flushes 0, 1, 2, ...
   */
  writeBatch(rows: readonly Trace[], sequence: number): Promise<ShardFile>;
}

/**
 * A Parquet sink for `astro.traces.v1` rows (schema: `TRACE_PARQUET_TABLE`). Encoding runs on the
 * encoder's worker threads; this side only writes the returned bytes.
 */
export function createTraceParquetSink(options: TraceParquetSinkOptions): TraceParquetSink {
  const metrics = options.metrics ?? noopMetrics;
  const shardDir = join(options.dir, TRACES_SUBDIR);
  // Created once, lazily; temp files a crashed predecessor left behind are cleared at the same time.
  let ready: Promise<void> | undefined;
  const prepare = (): Promise<void> =>
    (ready ??= mkdir(shardDir, { recursive: true }).then(async () => {
      await removeStaleTempFiles(shardDir, { now: options.clock });
    }));

  async function write(rows: readonly Trace[], name: string, origin: Omit<ShardFile, 'kind' | 'path' | 'rows' | 'bytes' | 'sha256'>): Promise<ShardFile> {
    const started = performance.now();
    await prepare();
    // The footer records the origin too, so a file separated from its manifest still says what it holds.
    const file = await options.encoder.encodeFile('traces', rows, [{ key: 'astro.shard', value: JSON.stringify(origin) }]);
    await writeFileAtomic(join(shardDir, name), file.bytes);
    metrics.increment('sink.traces.rows', rows.length);
    metrics.increment('sink.traces.files');
    metrics.observe('sink.traces.write_ms', performance.now() - started);
    return { kind: 'traces', path: `${TRACES_SUBDIR}/${name}`, rows: rows.length, bytes: file.bytes.byteLength, sha256: file.sha256, ...origin };
  }

  return {
    writeShard: (rows, p) =>
      write(rows, shardFileName(p.topic, p.partition, p.firstOffset, p.lastOffset, 'parquet'), {
        topic: p.topic,
        partition: p.partition,
        first_offset: p.firstOffset,
        last_offset: p.lastOffset,
        sequence: null,
      }),
    writeBatch: (rows, sequence) =>
      write(rows, sequenceFileName('traces', sequence, 'parquet'), { topic: null, partition: null, first_offset: null, last_offset: null, sequence }),
  };
}
