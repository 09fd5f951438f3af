import type { TopicPartitionOffset } from './transport.js';

/** The coordinates of a record, as far as offset tracking cares. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

interface Entry {
  readonly offset: number;
  // Tracks of this offset not yet done (a redelivered record may be tracked twice).
  open: number;
}

interface PartitionProgress {
  readonly topic: string;
  readonly partition: number;
  // Tracked offsets in ascending order; entries before `head` are finished and forgotten.
  readonly entries: Entry[];
  head: number;
  readonly byOffset: Map<number, Entry>;
  // Highest finished offset popped off the front, -1 before any.
  lastDone: number;
  // Highest position already handed out by committable(); starts at the first tracked offset,
  // so a partition with no finished record has nothing to commit.
  returned: number;
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * Commit positions for out-of-order completion (e.g. `mergeMap`): a partition may only be
 * committed up to its lowest unfinished offset, else a crash would lose the unfinished records.
 *
 * Call `track` when a record starts, `done` when its outputs are acknowledged, and periodically
 * commit what `committable()` returns. Call `forget` for revoked partitions.
 *
 * @example
 * tracker.track(r); ...; tracker.done(r);
 * await consumer.commit(tracker.committable());
 */
export class OffsetTracker {
  private readonly partitions = new Map<string, PartitionProgress>();
  private open = 0;

  /** Records that a record has started processing. */
  track(record: RecordPosition): void {
    const key = keyOf(record.topic, record.partition);
    let progress = this.partitions.get(key);
    if (progress === undefined) {
      progress = {
        topic: record.topic,
        partition: record.partition,
        entries: [],
        head: 0,
        byOffset: new Map(),
        lastDone: -1,
        returned: record.offset,
      };
      this.partitions.set(key, progress);
    }
    this.open += 1;
    const existing = progress.byOffset.get(record.offset);
    if (existing !== undefined) {
      existing.open += 1;
      return;
    }
    const entry: Entry = { offset: record.offset, open: 1 };
    progress.byOffset.set(record.offset, entry);
    const last = progress.entries[progress.entries.length - 1];
    if (last === undefined || progress.head === progress.entries.length || last.offset < record.offset) {
      progress.entries.push(entry);
    } else {
      // Out of order (rare: consumers deliver a partition in order): keep the queue sorted.
      let at = progress.head;
      while (at < progress.entries.length && progress.entries[at]!.offset < record.offset) at += 1;
      progress.entries.splice(at, 0, entry);
    }
  }

  /**
   * Records that a record's outputs are acknowledged. Returns false for a record that is not
   * tracked (e.g. its partition was forgotten after a revoke), which is then ignored.
   */
  done(record: RecordPosition): boolean {
    const progress = this.partitions.get(keyOf(record.topic, record.partition));
    const entry = progress?.byOffset.get(record.offset);
    if (progress === undefined || entry === undefined || entry.open === 0) return false;
    entry.open -= 1;
    this.open -= 1;
    if (entry.open === 0) this.advance(progress);
    return true;
  }

  /**
   * Positions (next offset to read) that moved since the last call: per partition, the lowest
   * unfinished offset, or the last finished offset + 1 when nothing is in flight.
   */
  committable(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const progress of this.partitions.values()) {
      const front = progress.entries[progress.head];
      const position = front !== undefined ? front.offset : progress.lastDone + 1;
      if (position > progress.returned) {
        progress.returned = position;
        out.push({ topic: progress.topic, partition: progress.partition, offset: position });
      }
    }
    return out;
  }

  /** Number of tracked records not yet done. */
  pending(): number {
    return this.open;
  }

  /** Drops all state of the given partitions (call on revoke: their records belong to another member now). */
  forget(partitions: readonly { readonly topic: string; readonly partition: number }[]): void {
    for (const { topic, partition } of partitions) {
      const key = keyOf(topic, partition);
      const progress = this.partitions.get(key);
      if (progress === undefined) continue;
      for (const entry of progress.byOffset.values()) this.open -= entry.open;
      this.partitions.delete(key);
    }
  }

  private advance(progress: PartitionProgress): void {
    const { entries } = progress;
    while (progress.head < entries.length && entries[progress.head]!.open === 0) {
      const entry = entries[progress.head]!;
      progress.byOffset.delete(entry.offset);
      if (entry.offset > progress.lastDone) progress.lastDone = entry.offset;
      progress.head += 1;
    }
    // Reclaim the consumed prefix now and then; amortized O(1) per record.
    if (progress.head > 1024 && progress.head * 2 > entries.length) {
      entries.splice(0, progress.head);
      progress.head = 0;
    }
  }
}
