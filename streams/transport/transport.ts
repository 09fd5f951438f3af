import type { Observable } from 'rxjs';

/** How a topic is created: partitions and retention (ms; -1 = forever). */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
  /** Keep only the newest record per key (Kafka `cleanup.policy=compact`). */
  readonly compacted?: boolean;
  /** Replication factor (Kafka only; the memory transport ignores it). */
  readonly replicationFactor?: number;
  /**
   * Largest record the topic accepts, in bytes (Kafka `max.message.bytes`, which bounds a record
   * batch); a send holding a bigger one is rejected with kind `too_large`. Default: the broker's
   * (1 MiB on Kafka), no limit in memory.
   */
  readonly maxMessageBytes?: number;
}

/** A record to publish. Records with the same key go to the same partition. */
export interface OutgoingRecord {
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** Explicit partition; otherwise chosen by hashing the key (murmur2, as Kafka's default). */
  readonly partition?: number;
  /** Epoch ms; defaults to now. */
  readonly timestamp?: number;
}

/** A record as a consumer sees it. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  /** Offset within the partition. */
  readonly offset: number;
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

/** A position to commit: `offset` is the next offset to read (last processed + 1). */
export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface Producer {
  /** Resolves once every record is acknowledged (durably appended). */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  readonly groupId: string;
  /** Topic names, or a pattern matched against existing topics (e.g. /^astro\.problems\..*\.v1$/). */
  readonly topics: readonly string[] | RegExp;
  /** Where a group with no committed offset starts: earliest (true) or latest (false). Default true. */
  readonly fromBeginning?: boolean;
  /** Start at the first record with timestamp >= this (epoch ms), ignoring committed offsets. */
  readonly fromTimestamp?: number;
}

/** Partitions this member owns after a (re)balance. */
export interface Assignment {
  readonly partitions: readonly { readonly topic: string; readonly partition: number }[];
}

/**
 * A member of a consumer group. Records of one partition arrive in offset order. Nothing is
 * committed implicitly: a member that closes (or dies) without committing has its records
 * redelivered to the group.
 */
export interface Consumer {
  /** Hot stream of records for the partitions this member owns. Completes on close. */
  readonly records: Observable<ConsumedRecord>;
  /** Emits the new assignment after each rebalance. */
  readonly assignments: Observable<Assignment>;
  /** Commit positions (offset = next to read). Commits for partitions no longer owned are ignored. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Stop fetching (backpressure); already-delivered records are not taken back. */
  pause(): void;
  resume(): void;
  /** Leave the group; uncommitted records will be redelivered to the remaining members. */
  close(): Promise<void>;
}

/** The one interface the memory and Kafka transports implement (one contract test suite). */
export interface Transport {
  readonly name: 'memory' | 'kafka';
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  listTopics(): Promise<string[]>;
  producer(): Promise<Producer>;
  consumer(options: ConsumerOptions): Promise<Consumer>;
  /** Committed offsets of a group (topic → partition → next offset). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
  /** Latest offsets (high-water marks) per partition. */
  endOffsets(topic: string): Promise<Map<number, number>>;
  close(): Promise<void>;
}
