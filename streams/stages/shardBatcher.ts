import type { ConsumedRecord } from '../transport/transport.js';

/** Where a shard's rows came from: one partition, consecutive records from first to last offset. */
export interface ShardPosition {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export interface ShardBatcherConfig {
  /** Flush a partition's buffer when it holds this many records. */
  readonly maxRecords: number;
  /** Flush a non-empty buffer this long after its first record arrived (ms). */
  readonly lingerMs: number;
}

interface Pending<Row> {
  readonly record: ConsumedRecord;
  readonly rows: readonly Row[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Groups records of one partition into shards for file sinks. `add` resolves once the shard that
 * holds the record is durably written, so the stage commits its offset only after the file exists.
 */
export class ShardBatcher<Row> {
  // Per topic-partition buffers; a shard never mixes partitions, so its name can carry offsets.
  private readonly buffers = new Map<string, Pending<Row>[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  // Per topic-partition write chains: a partition's shards land in offset order, while shards of
  // different partitions are encoded and fsynced concurrently (one global chain left the encoder
  // idle during every fsync and made each partition wait for all the others).
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly config: ShardBatcherConfig,
    private readonly writeShard: (rows: Row[], position: ShardPosition) => Promise<void>,
  ) {}

  /** Buffers the rows of one record; resolves when they are written. */
  add(record: ConsumedRecord, rows: readonly Row[]): Promise<void> {
    const key = `${record.topic}:${record.partition}`;
    return new Promise<void>((resolve, reject) => {
      const buffer = this.buffers.get(key) ?? [];
      if (buffer.length === 0) {
        this.buffers.set(key, buffer);
        this.timers.set(key, setTimeout(() => void this.flushKey(key), this.config.lingerMs));
      }
      buffer.push({ record, rows, resolve, reject });
      if (buffer.length >= this.config.maxRecords) void this.flushKey(key);
    });
  }

  /** Writes every buffered shard now. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.buffers.keys()].map((key) => this.flushKey(key)));
    await Promise.all([...this.writing.values()]);
  }

  /**
   * Forgets buffers of partitions this member no longer owns: the new owner redoes those records
   * from the committed offset. Their `add` promises resolve without a write; the stage does not
   * commit offsets of partitions it no longer owns.
   */
  keepOnly(isOwned: (topic: string, partition: number) => boolean): void {
    for (const [key, buffer] of this.buffers) {
      const first = buffer[0];
      if (first === undefined || isOwned(first.record.topic, first.record.partition)) continue;
      const timer = this.timers.get(key);
      if (timer) clearTimeout(timer);
      this.timers.delete(key);
      this.buffers.delete(key);
      for (const p of buffer) p.resolve();
    }
  }

  private flushKey(key: string): Promise<void> {
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
    const batch = this.buffers.get(key);
    this.buffers.delete(key);
    const previous = this.writing.get(key) ?? Promise.resolve();
    if (batch === undefined || batch.length === 0) return previous;
    // One write at a time per partition: its shard files land in offset order.
    const write = previous.then(async () => {
      const first = batch[0] as Pending<Row>;
      const last = batch[batch.length - 1] as Pending<Row>;
      const position: ShardPosition = {
        topic: first.record.topic,
        partition: first.record.partition,
        firstOffset: first.record.offset,
        lastOffset: last.record.offset,
      };
      try {
        await this.writeShard(
          batch.flatMap((p) => p.rows),
          position,
        );
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    });
    this.writing.set(key, write);
    // Forget a finished chain so the map holds only partitions with a write in flight.
    void write.then(() => {
      if (this.writing.get(key) === write) this.writing.delete(key);
    });
    return write;
  }
}
