import { Observable, ReplaySubject, Subject } from 'rxjs';
import { AppError } from '../../operators/common/errors.js';
import { partitionForKey } from './murmur2.js';
import type {
  Assignment,
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  OutgoingRecord,
  Producer,
  TopicPartitionOffset,
  TopicSpec,
  Transport,
} from './transport.js';

/** Options of the in-process transport. */
export interface MemoryTransportOptions {
  /** Default record timestamp source (epoch ms). Defaults to `Date.now`. */
  readonly clock?: () => number;
  /** Records delivered per partition per member before yielding to the event loop. Default 2048. */
  readonly maxBatch?: number;
  /**
   * Drop the records of a partition once every consumer group subscribed to its topic has
   * committed past them: the log start moves up, as Kafka's retention moves it, and a group that
   * joins later starts there. Compacted topics and topics no group reads keep everything. For
   * long-running embedded runs, whose logs would otherwise hold every record ever sent. Default false.
   */
  readonly trimConsumed?: boolean;
}

interface PartitionLog {
  // Indexed by offset; offsets below `start` were trimmed (holes).
  readonly records: (ConsumedRecord | undefined)[];
  // Log start offset: the first offset still held.
  start: number;
  // Compacted topics only: newest offset per key, so older versions are skipped on read.
  readonly newestByKey: Map<string, number> | undefined;
}

interface TopicState {
  readonly spec: TopicSpec;
  readonly logs: PartitionLog[];
  // Next round-robin slot for null keys.
  nextSlot: number;
}

interface Cursor {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly log: PartitionLog;
  readonly compacted: boolean;
  // Next offset to deliver to this member.
  next: number;
}

interface Member {
  readonly seq: number;
  readonly group: GroupState;
  readonly explicitTopics: readonly string[] | undefined;
  readonly pattern: RegExp | undefined;
  readonly fromBeginning: boolean;
  readonly fromTimestamp: number | undefined;
  readonly records: Subject<ConsumedRecord>;
  readonly assignments: ReplaySubject<Assignment>;
  cursors: Cursor[];
  // Partitions this member has owned before: fromTimestamp applies only on the first assignment.
  readonly everOwned: Set<string>;
  // Emitted at the next flush, before any record of a newly owned partition.
  pendingAssignment: Assignment | undefined;
  // Bumped on every rebalance so an in-progress delivery loop notices revocations.
  generation: number;
  paused: boolean;
  closed: boolean;
}

interface GroupState {
  readonly id: string;
  readonly members: Member[];
  // Every subscription any member ever made: the group may read these topics again (trimming).
  readonly subscriptions: (readonly string[] | RegExp)[];
  // tpKey → committed position (next offset to read).
  readonly committed: Map<string, number>;
}

// Shared by every record sent without headers.
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

const transportError = (message: string): AppError => new AppError('transport', message);

/**
 * In-process transport with Kafka's semantics (partitions, murmur2 keys, consumer groups with
 * range assignment, commits, redelivery of uncommitted records). The embedded default for
 * one-process runs and fast tests; not a substitute for testing against Kafka.
 *
 * Delivery is batched on `setImmediate`, never inside `send`; a member receives records only
 * while its `records` stream has a subscriber (nothing is lost before the first subscription).
 * `assignments` replays the latest assignment to late subscribers. Retention by time is not
 * enforced; `trimConsumed` frees what every reading group has committed past.
 *
 * @example
 * const transport = createMemoryTransport();
 * await transport.createTopics([{ name: 'astro.problems.v1', partitions: 4, retentionMs: -1 }]);
 */
export function createMemoryTransport(options: MemoryTransportOptions = {}): Transport {
  const clock = options.clock ?? Date.now;
  const maxBatch = options.maxBatch ?? 2048;
  const topics = new Map<string, TopicState>();
  const groups = new Map<string, GroupState>();
  const live = new Set<Member>();
  let memberSeq = 0;
  let flushScheduled = false;
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw transportError('memory transport is closed');
  };

  const topicOf = (name: string): TopicState => {
    const topic = topics.get(name);
    if (topic === undefined) throw transportError(`topic ${name} does not exist (create it first)`);
    return topic;
  };

  const scheduleFlush = (): void => {
    if (flushScheduled || closed) return;
    flushScheduled = true;
    setImmediate(flush);
  };

  function flush(): void {
    flushScheduled = false;
    let more = false;
    for (const member of live) {
      if (member.pendingAssignment !== undefined) {
        const assignment = member.pendingAssignment;
        member.pendingAssignment = undefined;
        member.assignments.next(assignment);
      }
      if (deliver(member)) more = true;
    }
    if (more) scheduleFlush();
  }

  /** Delivers up to maxBatch records per owned partition; true when some are left. */
  function deliver(member: Member): boolean {
    if (member.closed || member.paused || !member.records.observed) return false;
    const generation = member.generation;
    let more = false;
    for (const cursor of member.cursors) {
      const records = cursor.log.records;
      if (cursor.next < cursor.log.start) cursor.next = cursor.log.start;
      const end = Math.min(records.length, cursor.next + maxBatch);
      while (cursor.next < end) {
        // A subscriber may pause, close or trigger a rebalance from inside next().
        if (member.paused || member.closed || member.generation !== generation) return false;
        const record = records[cursor.next]!;
        cursor.next += 1;
        if (cursor.compacted && record.key !== null && cursor.log.newestByKey?.get(record.key) !== record.offset) continue;
        member.records.next(record);
      }
      if (cursor.next < records.length) more = true;
    }
    return more;
  }

  const subscribedTopics = (member: Member): string[] => {
    if (member.pattern !== undefined) {
      const pattern = member.pattern;
      return [...topics.keys()].filter((name) => pattern.test(name));
    }
    return (member.explicitTopics ?? []).filter((name) => topics.has(name));
  };

  const startOffset = (member: Member, log: PartitionLog, key: string): number => {
    const first = !member.everOwned.has(key);
    member.everOwned.add(key);
    if (member.fromTimestamp !== undefined && first) {
      const since = member.fromTimestamp;
      for (let offset = log.start; offset < log.records.length; offset += 1) if (log.records[offset]!.timestamp >= since) return offset;
      return log.records.length;
    }
    const committed = member.group.committed.get(key);
    if (committed !== undefined) return Math.max(committed, log.start);
    return member.fromBeginning ? log.start : log.records.length;
  };

  /** Range assignment per topic among the live members subscribed to it, ordered by join. */
  function rebalance(group: GroupState): void {
    const owned = new Map<Member, { topic: string; partition: number }[]>(group.members.map((m) => [m, []]));
    const byTopic = new Map<string, Member[]>();
    for (const member of group.members) {
      for (const name of subscribedTopics(member)) byTopic.set(name, [...(byTopic.get(name) ?? []), member]);
    }
    for (const [name, members] of [...byTopic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const partitions = topicOf(name).logs.length;
      const base = Math.floor(partitions / members.length);
      const extra = partitions % members.length;
      let partition = 0;
      members.forEach((member, index) => {
        const count = base + (index < extra ? 1 : 0);
        for (let i = 0; i < count; i += 1) owned.get(member)!.push({ topic: name, partition: partition++ });
      });
    }
    for (const [member, partitions] of owned) {
      // A partition kept across the rebalance keeps its position: fewer duplicates, still at-least-once.
      const kept = new Map(member.cursors.map((cursor) => [cursor.key, cursor]));
      member.cursors = partitions.map(({ topic, partition }) => {
        const key = tpKey(topic, partition);
        const existing = kept.get(key);
        if (existing !== undefined) return existing;
        const state = topicOf(topic);
        const log = state.logs[partition]!;
        const next = startOffset(member, log, key);
        return { topic, partition, key, log, compacted: state.spec.compacted === true, next };
      });
      member.generation += 1;
      member.pendingAssignment = { partitions };
    }
    scheduleFlush();
  }

  const append = (state: TopicState, partition: number, record: OutgoingRecord, value: Uint8Array): void => {
    const log = state.logs[partition]!;
    const consumed: ConsumedRecord = {
      topic: state.spec.name,
      partition,
      offset: log.records.length,
      key: record.key,
      value,
      headers: record.headers === undefined ? NO_HEADERS : { ...record.headers },
      timestamp: record.timestamp ?? clock(),
    };
    log.records.push(consumed);
    if (log.newestByKey !== undefined && record.key !== null) log.newestByKey.set(record.key, consumed.offset);
  };

  const producer = async (): Promise<Producer> => {
    ensureOpen();
    let producerClosed = false;
    return {
      async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
        ensureOpen();
        if (producerClosed) throw transportError('producer is closed');
        const state = topicOf(topic);
        const partitionCount = state.logs.length;
        // Validate the whole batch first so a bad record appends nothing.
        const targets = records.map((record) => {
          if (record.partition !== undefined) {
            if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= partitionCount) {
              throw transportError(`topic ${topic} has no partition ${record.partition}`);
            }
            return record.partition;
          }
          if (record.key !== null) return partitionForKey(record.key, partitionCount);
          if (state.spec.compacted === true) throw transportError(`compacted topic ${topic} cannot accept a record without key`);
          return -1;
        });
        const limit = state.spec.maxMessageBytes;
        const tooLarge = limit === undefined ? undefined : records.find((record) => record.value.byteLength + (record.key?.length ?? 0) > limit);
        if (tooLarge !== undefined) {
          throw new AppError('too_large', `send to ${topic}: a record of ${tooLarge.value.byteLength} bytes exceeds the topic's limit of ${limit} bytes`);
        }
        // Values are copied (a producer may reuse its buffer, as with a real broker) into one
        // slab per batch: one allocation instead of one per record keeps GC out of the hot path.
        let bytes = 0;
        for (const record of records) bytes += record.value.byteLength;
        const slab = new Uint8Array(bytes);
        let at = 0;
        records.forEach((record, index) => {
          let partition = targets[index]!;
          if (partition === -1) {
            partition = state.nextSlot % partitionCount;
            state.nextSlot += 1;
          }
          slab.set(record.value, at);
          append(state, partition, record, slab.subarray(at, at + record.value.byteLength));
          at += record.value.byteLength;
        });
        if (records.length > 0) scheduleFlush();
      },
      async close(): Promise<void> {
        producerClosed = true;
      },
    };
  };

  /** Frees what every group reading the partition's topic has committed past (`trimConsumed`). */
  const trim = (topic: string, partition: number): void => {
    const state = topicOf(topic);
    if (state.spec.compacted === true) return;
    const key = tpKey(topic, partition);
    let upTo = Infinity;
    for (const group of groups.values()) {
      const reads = group.subscriptions.some((sub) => (sub instanceof RegExp ? sub.test(topic) : sub.includes(topic)));
      if (reads) upTo = Math.min(upTo, group.committed.get(key) ?? 0);
    }
    const log = state.logs[partition]!;
    if (upTo === Infinity || upTo <= log.start) return;
    for (let offset = log.start; offset < upTo; offset += 1) log.records[offset] = undefined;
    log.start = upTo;
  };

  const leave = (member: Member): void => {
    if (member.closed) return;
    member.closed = true;
    live.delete(member);
    const index = member.group.members.indexOf(member);
    if (index >= 0) member.group.members.splice(index, 1);
    rebalance(member.group);
    member.records.complete();
    member.assignments.complete();
  };

  const consumer = async (consumerOptions: ConsumerOptions): Promise<Consumer> => {
    ensureOpen();
    const spec = consumerOptions.topics;
    const pattern = spec instanceof RegExp ? new RegExp(spec.source, spec.flags.replace(/[gy]/g, '')) : undefined;
    if (!(spec instanceof RegExp)) for (const name of spec) topicOf(name);
    let group = groups.get(consumerOptions.groupId);
    if (group === undefined) {
      group = { id: consumerOptions.groupId, members: [], committed: new Map(), subscriptions: [] };
      groups.set(group.id, group);
    }
    const subscription = pattern ?? [...(spec as readonly string[])];
    const sameAs = (other: readonly string[] | RegExp): boolean => String(other) === String(subscription) && other instanceof RegExp === subscription instanceof RegExp;
    if (!group.subscriptions.some(sameAs)) group.subscriptions.push(subscription);
    const member: Member = {
      seq: memberSeq++,
      group,
      explicitTopics: spec instanceof RegExp ? undefined : [...spec],
      pattern,
      fromBeginning: consumerOptions.fromBeginning ?? true,
      fromTimestamp: consumerOptions.fromTimestamp,
      records: new Subject<ConsumedRecord>(),
      assignments: new ReplaySubject<Assignment>(1),
      cursors: [],
      everOwned: new Set(),
      pendingAssignment: undefined,
      generation: 0,
      paused: false,
      closed: false,
    };
    group.members.push(member);
    live.add(member);
    rebalance(group);
    const records = new Observable<ConsumedRecord>((subscriber) => {
      const subscription = member.records.subscribe(subscriber);
      // Delivery waits for a subscriber; start it now.
      scheduleFlush();
      return subscription;
    });
    return {
      records,
      assignments: member.assignments.asObservable(),
      async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
        for (const { topic, partition, offset } of offsets) {
          const key = tpKey(topic, partition);
          if (!member.closed && member.cursors.some((cursor) => cursor.key === key)) {
            member.group.committed.set(key, offset);
            if (options.trimConsumed === true) trim(topic, partition);
          }
        }
      },
      pause(): void {
        member.paused = true;
      },
      resume(): void {
        member.paused = false;
        scheduleFlush();
      },
      async close(): Promise<void> {
        leave(member);
      },
    };
  };

  return {
    name: 'memory',
    async createTopics(specs: readonly TopicSpec[]): Promise<void> {
      ensureOpen();
      const created: string[] = [];
      for (const spec of specs) {
        if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
          throw new AppError('config', `topic ${spec.name}: partitions must be a positive integer, got ${spec.partitions}`);
        }
        // Like Kafka, creating an existing topic is not an error and changes nothing.
        if (topics.has(spec.name)) continue;
        const logs = Array.from({ length: spec.partitions }, (): PartitionLog => ({
          records: [],
          start: 0,
          newestByKey: spec.compacted === true ? new Map<string, number>() : undefined,
        }));
        topics.set(spec.name, { spec: { ...spec }, logs, nextSlot: 0 });
        created.push(spec.name);
      }
      // Pattern subscribers pick up matching topics created after they joined.
      for (const group of groups.values()) {
        const matches = group.members.some((m) => m.pattern !== undefined && created.some((name) => m.pattern!.test(name)));
        if (matches) rebalance(group);
      }
    },
    async listTopics(): Promise<string[]> {
      ensureOpen();
      return [...topics.keys()];
    },
    producer,
    consumer,
    async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
      ensureOpen();
      const state = topicOf(topic);
      const committed = groups.get(groupId)?.committed;
      const out = new Map<number, number>();
      for (let partition = 0; partition < state.logs.length; partition += 1) {
        const offset = committed?.get(tpKey(topic, partition));
        if (offset !== undefined) out.set(partition, offset);
      }
      return out;
    },
    async endOffsets(topic: string): Promise<Map<number, number>> {
      ensureOpen();
      return new Map(topicOf(topic).logs.map((log, partition) => [partition, log.records.length]));
    },
    async close(): Promise<void> {
      if (closed) return;
      for (const member of [...live]) leave(member);
      closed = true;
    },
  };
}
