import kafkajs from 'kafkajs';
import type { Admin, EachBatchPayload, IHeaders, Kafka as KafkaClient, LogEntry, Producer as KProducer } from 'kafkajs';
import { Observable, ReplaySubject } from 'rxjs';
import type { Subscriber } from 'rxjs';
import { AppError } from '../../../operators/common/errors.js';
import { partitionForKey } from '../murmur2.js';
import type { Logger } from '../../../operators/common/metrics.js';
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
} from '../transport.js';

const { Kafka, logLevel: LogLevel, Partitioners } = kafkajs;

/** kafkajs log levels by name; `warn` is the default (retriable noise is demoted, see logCreator). */
export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** Options of {@link createKafkajsTransport}. */
export interface KafkajsTransportConfig {
  /** Bootstrap brokers, `host:port` (use 127.0.0.1 for the local broker, it binds IPv4 only). */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly logLevel?: KafkaLogLevel;
  /** Where kafkajs logs go; default JSON lines on stderr. */
  readonly logger?: Logger;
  /** Consumer group session timeout (ms): how long a dead member keeps its partitions. Default 10000. */
  readonly sessionTimeoutMs?: number;
  /** Consumer heartbeat interval (ms). Default 1000. */
  readonly heartbeatIntervalMs?: number;
  /** How long a consumer waits for its first group join before failing (ms). Default 60000. */
  readonly joinTimeoutMs?: number;
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' };

const LEVELS: Record<KafkaLogLevel, number> = {
  nothing: LogLevel.NOTHING,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  debug: LogLevel.DEBUG,
};

// STYLE.md backoff: 300 ms initial, x2, +-20%, capped at 30 s.
const RETRY = { initialRetryTime: 300, multiplier: 2, factor: 0.2, maxRetryTime: 30_000, retries: 8 };
// Consumers give up sooner (STYLE.md's 5 tries): kafkajs heartbeats the coordinator it found when
// it joined, and when that broker dies its fetch loop retries the dead address until the retries
// run out, then restarts the consumer after one more backoff, which finds the new coordinator.
// With 8 tries that was ~68 s + 30 s of a stalled group; with 5 it is ~9 s + ~10 s.
const CONSUMER_RETRY = { ...RETRY, retries: 5 };
// A commit kafkajs has not settled by then is treated as failed (retried): one that never settles
// (seen when its coordinator was SIGKILLed mid-request) would otherwise hold every later commit of
// the stage, which commits one request at a time, and the group's lag would never move again.
const COMMIT_TIMEOUT_MS = 20_000;

/** `promise`, or a rejection with `onTimeout()` after `ms`; the promise itself is left to settle unobserved. */
let negativeTimeoutFilterInstalled = false;

/**
 * kafkajs 2.2.4's request queue schedules its pending-request check with
 * `setTimeout(fn, throttledUntil - Date.now())`, where `throttledUntil` is -1 when the broker never
 * throttled. Node 24 prints a `TimeoutNegativeWarning` for that on stderr and waits 1 ms, which is
 * what kafkajs means, so the warning is noise; every other warning is still printed.
 */
export function dropKafkajsNegativeTimeoutWarnings(): void {
  if (negativeTimeoutFilterInstalled) return;
  negativeTimeoutFilterInstalled = true;
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'TimeoutNegativeWarning') return;
    for (const print of printers) print(warning);
  });
}

function bounded<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// Commits that failed while the group was in flux are retried after this long, doubling up to the max.
const PENDING_RETRY_MIN_MS = 500;
const PENDING_RETRY_MAX_MS = 5_000;

// The coordinator may move or the group rebalance between a batch and its commit: the records stay
// uncommitted and are redelivered, which is what the at-least-once contract allows.
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * The broker's error type (`ILLEGAL_GENERATION`, ...) of a kafkajs failure. kafkajs' retrier wraps
 * protocol errors (KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded) and keeps the
 * original only as `cause`, so look down the chain.
 */
export function protocolErrorType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A commit that failed only because the group is in flux: a rebalance, a coordinator that moved or
 * died (retriable errors, also when kafkajs gave up retrying them), or a consumer that kafkajs is
 * restarting after such an error. The records are done; their positions are committed later.
 */
function isTransientCommitError(error: unknown): boolean {
  if (REBALANCE_ERRORS.has(protocolErrorType(error) ?? '')) return true;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    if ((current as { retriable?: unknown }).retriable === true) return true;
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && message.startsWith('Consumer group was not initialized')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Wraps a kafkajs failure as a transport AppError, keeping kafkajs' own `retriable` verdict. */
export function toTransportError(error: unknown, what: string): AppError {
  if (error instanceof AppError) return error;
  const retriable = typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('transport', `${what}: ${message}`, { retriable, cause: error });
}

/**
 * The Kafka transport (kafkajs 2.2.4): idempotent producers with acks=all, consumer groups with
 * manual commits, topic admin. One admin client is shared and opened lazily.
 *
 * @example
 * const t = createKafkaTransport({ brokers: ['127.0.0.1:9092'] });
 * await t.createTopics([{ name: 'astro.problems.v1', partitions: 4, retentionMs: -1 }]);
 */
export function createKafkajsTransport(config: KafkajsTransportConfig): Transport {
  dropKafkajsNegativeTimeoutWarnings();
  const kafka = new Kafka({
    brokers: [...config.brokers],
    clientId: config.clientId ?? 'astro-stream',
    logLevel: LEVELS[config.logLevel ?? 'warn'],
    logCreator: createLogCreator(config.logger),
    retry: RETRY,
  });
  const open = new Set<{ close(): Promise<void> }>();
  let adminPromise: Promise<Admin> | null = null;
  const admin = (): Promise<Admin> => {
    adminPromise ??= (async () => {
      const a = kafka.admin({ retry: RETRY });
      await a.connect();
      return a;
    })().catch((error: unknown) => {
      adminPromise = null;
      throw toTransportError(error, 'admin connect');
    });
    return adminPromise;
  };
  // kafkajs retries UNKNOWN_TOPIC_OR_PARTITION for minutes (a topic may be being created); a topic
  // the pipeline never created is a configuration error, so ask once and fail fast.
  const existing = new Set<string>();
  const requireTopic = async (topic: string): Promise<void> => {
    if (existing.has(topic)) return;
    const a = await admin();
    // Retried: a stage's first send may meet a broker that just died (the 3-node failover test).
    const topics = await retryTransient(() => a.listTopics(), 'listTopics', 30_000);
    for (const t of topics) existing.add(t);
    if (!existing.has(topic)) throw new AppError('transport', `topic ${topic} does not exist (create it first)`, { retriable: false });
  };
  // Partition counts, cached as promises: the pipeline never repartitions a live topic, and
  // concurrent first sends then all wait on one lookup and enqueue their records in call order.
  const partitionCounts = new Map<string, Promise<number>>();
  const partitionsOf = (topic: string): Promise<number> => {
    const known = partitionCounts.get(topic);
    if (known !== undefined) return known;
    const lookup = lookupPartitions(topic);
    partitionCounts.set(topic, lookup);
    lookup.catch(() => {
      if (partitionCounts.get(topic) === lookup) partitionCounts.delete(topic);
    });
    return lookup;
  };
  const lookupPartitions = async (topic: string): Promise<number> => {
    await requireTopic(topic);
    const a = await admin();
    const meta = await retryTransient(() => a.fetchTopicMetadata({ topics: [topic] }), `metadata of ${topic}`, 30_000);
    const count = meta.topics[0]?.partitions.length ?? 0;
    if (count === 0) throw new AppError('transport', `topic ${topic} has no partitions yet`, { retriable: true });
    return count;
  };
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    open.add(x);
    return x;
  };

  return {
    name: 'kafka',
    async createTopics(specs) {
      if (specs.length === 0) return;
      const a = await admin();
      try {
        // kafkajs' own waitForLeaders retries only LEADER_NOT_AVAILABLE, but under KRaft a broker
        // may not know a just-created topic yet (UNKNOWN_TOPIC_OR_PARTITION): wait ourselves.
        await a.createTopics({ topics: specs.map(toTopicConfig), waitForLeaders: false });
      } catch (error) {
        // kafkajs reports "already exists" per topic inside a batch error; existing topics are fine.
        const errors = (error as { errors?: { type?: string }[] }).errors;
        if (!(Array.isArray(errors) && errors.length > 0 && errors.every((e) => e.type === 'TOPIC_ALREADY_EXISTS'))) {
          throw toTransportError(error, 'createTopics');
        }
      }
      await waitForLeaders(a, specs.map((s) => s.name), 30_000);
      for (const spec of specs) existing.add(spec.name);
    },
    async listTopics() {
      const a = await admin();
      try {
        // Internal topics (__consumer_offsets, ...) are the broker's, not the pipeline's.
        return (await a.listTopics()).filter((t) => !t.startsWith('__')).sort();
      } catch (error) {
        throw toTransportError(error, 'listTopics');
      }
    },
    async producer() {
      const p = kafka.producer({
        idempotent: true,
        // kafkajs keeps per-partition order with idempotence only with one request in flight.
        maxInFlightRequests: 1,
        // Finite retries: a broker gone for minutes must surface as an error (the stage exits
        // non-zero and is restarted) instead of hanging; ids make the redo idempotent downstream.
        retry: RETRY,
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      try {
        await p.connect();
      } catch (error) {
        throw toTransportError(error, 'producer connect');
      }
      const producer = track(kafkaProducer(p, partitionsOf, () => open.delete(producer)));
      return producer;
    },
    async consumer(options) {
      if (!(options.topics instanceof RegExp)) for (const t of options.topics) await requireTopic(t);
      const c = await startConsumer(kafka, admin, config, options, () => open.delete(c));
      return track(c);
    },
    async committedOffsets(groupId, topic) {
      const a = await admin();
      const [entry] = await retryTransient(() => a.fetchOffsets({ groupId, topics: [topic] }), 'committedOffsets', 30_000);
      const out = new Map<number, number>();
      for (const p of entry?.partitions ?? []) if (Number(p.offset) >= 0) out.set(p.partition, Number(p.offset));
      return out;
    },
    async endOffsets(topic) {
      await requireTopic(topic);
      const a = await admin();
      const offsets = await retryTransient(() => a.fetchTopicOffsets(topic), 'endOffsets', 30_000);
      return new Map(offsets.map((p) => [p.partition, Number(p.high)]));
    },
    async close() {
      await Promise.allSettled([...open].map((x) => x.close()));
      if (adminPromise !== null) {
        const a = await adminPromise.catch(() => null);
        adminPromise = null;
        await a?.disconnect().catch(() => undefined);
      }
    },
  };
}

/**
 * Waits until every partition of `topics` answers ListOffsets from its leader: metadata showing a
 * leader is not enough under KRaft, where the broker becomes leader a moment after it says so.
 */
async function waitForLeaders(a: Admin, topics: readonly string[], timeoutMs: number): Promise<void> {
  await retryTransient(async () => {
    for (const topic of topics) await a.fetchTopicOffsets(topic);
  }, 'createTopics (waiting for leaders)', timeoutMs);
}

/**
 * Retries an admin call on kafkajs-retriable errors (a leader moving, metadata not yet
 * propagated) with a short backoff, then wraps the last error as a transport AppError. Callers that
 * may meet a broker that just died wait 30 s: leader election after a SIGKILL takes the broker
 * session timeout (9 s) and more on a loaded machine.
 */
async function retryTransient<T>(fn: () => Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await fn();
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || performance.now() + delay > deadline) throw toTransportError(error, what);
      await new Promise((ok) => setTimeout(ok, delay));
    }
  }
}

function toTopicConfig(spec: TopicSpec): { topic: string; numPartitions: number; replicationFactor?: number; configEntries: { name: string; value: string }[] } {
  const configEntries = [
    { name: 'retention.ms', value: String(spec.retentionMs) },
    { name: 'cleanup.policy', value: spec.compacted === true ? 'compact' : 'delete' },
  ];
  const rf = spec.replicationFactor;
  // With RF >= 3, acks=all only means something if at least 2 replicas must have the record.
  if (rf !== undefined && rf >= 3) configEntries.push({ name: 'min.insync.replicas', value: '2' });
  if (spec.maxMessageBytes !== undefined) configEntries.push({ name: 'max.message.bytes', value: String(spec.maxMessageBytes) });
  return { topic: spec.name, numPartitions: spec.partitions, ...(rf === undefined ? {} : { replicationFactor: rf }), configEntries };
}

/**
 * Sends each partition's records in its own kafkajs request. kafkajs 2.2.4 loses records when a
 * multi-partition send is retried after a leader moves onto a broker that already answered that
 * send: its retry skips brokers with a response (sendMessages.js, `responsePerBroker`), so the
 * moved partition's records are never resent, yet the send resolves. Found by the 3-node test
 * (SIGKILL of a leader); one partition per request leaves one broker per retry and nothing to skip.
 */
/** One `send` call's records for one partition, and who waits for their ack. */
interface QueuedSend {
  readonly records: readonly OutgoingRecord[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Records waiting for the next produce request of one partition. */
interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  sends: QueuedSend[];
  // A request of this partition is unacknowledged: the next one waits (per-partition order).
  inFlight: boolean;
}

// A request takes queued sends up to this many bytes (a single larger send still goes alone):
// the broker rejects a record batch above message.max.bytes (1 MiB by default).
const MAX_REQUEST_BYTES = 512 * 1024;

/**
 * Batches sends like Kafka's own producer: at most one request per partition is in flight, and
 * everything handed over while it is (plus everything sent within the same event-loop turn) goes
 * out in that partition's next request. A stage finishing records one at a time would otherwise
 * pay one acks=all round trip per record, one after another (maxInFlightRequests 1 serializes
 * requests per broker). Each call resolves once all of its own records are acknowledged.
 */
function kafkaProducer(p: KProducer, partitionsOf: (topic: string) => Promise<number>, onClose: () => void): Producer {
  let closed = false;
  // Null-key records are spread round-robin, as Kafka's default partitioner does for a batch.
  let nextNullKeyPartition = 0;
  const queues = new Map<string, PartitionQueue>();
  // Partitions with sends queued in this event-loop turn, sent together on the next turn.
  let ready = new Set<PartitionQueue>();
  let scheduled = false;

  const sendNext = (q: PartitionQueue): void => {
    if (q.inFlight || q.sends.length === 0) return;
    let bytes = 0;
    let take = 0;
    while (take < q.sends.length && (take === 0 || bytes + q.sends[take]!.bytes <= MAX_REQUEST_BYTES)) bytes += q.sends[take++]!.bytes;
    const sends = q.sends.slice(0, take);
    q.sends = q.sends.slice(take);
    q.inFlight = true;
    const messages = sends.flatMap((s) => s.records.map((r) => ({ ...toMessage(r), partition: q.partition })));
    p.send({ topic: q.topic, acks: -1, messages }).then(
      () => {
        for (const s of sends) s.resolve();
      },
      (error: unknown) => {
        // Only a request holding one send says which records were too large (a send over
        // MAX_REQUEST_BYTES always goes alone, so under any limit above it this is the case).
        const tooLarge = protocolErrorType(error) === 'MESSAGE_TOO_LARGE' && sends.length === 1;
        const wrapped = tooLarge
          ? new AppError('too_large', `send to ${q.topic}: ${sends[0]?.bytes ?? 0} bytes exceed the topic's max.message.bytes`, { cause: error })
          : toTransportError(error, `send to ${q.topic}`);
        for (const s of sends) s.reject(wrapped);
      },
    ).finally(() => {
      q.inFlight = false;
      sendNext(q);
    });
  };

  const flush = (): void => {
    scheduled = false;
    const batch = ready;
    ready = new Set();
    for (const q of batch) sendNext(q);
  };

  return {
    async send(topic, records) {
      if (closed) throw new AppError('transport', 'producer is closed');
      if (records.length === 0) return;
      const partitions = await partitionsOf(topic);
      const byPartition = new Map<number, OutgoingRecord[]>();
      for (const r of records) {
        const partition = r.partition ?? (r.key === null ? nextNullKeyPartition++ % partitions : partitionForKey(r.key, partitions));
        const group = byPartition.get(partition);
        if (group === undefined) byPartition.set(partition, [r]);
        else group.push(r);
      }
      const acks: Promise<void>[] = [];
      for (const [partition, group] of byPartition) {
        const key = `${topic}\u0000${partition}`;
        let q = queues.get(key);
        if (q === undefined) {
          q = { topic, partition, sends: [], inFlight: false };
          queues.set(key, q);
        }
        const queue = q;
        const bytes = group.reduce((n, r) => n + r.value.byteLength + (r.key?.length ?? 0), 0);
        acks.push(new Promise<void>((resolve, reject) => queue.sends.push({ records: group, bytes, resolve, reject })));
        ready.add(queue);
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      await Promise.all(acks);
    },
    async close() {
      if (closed) return;
      closed = true;
      onClose();
      if (scheduled) flush();
      await p.disconnect().catch(() => undefined);
    },
  };
}

function toMessage(r: OutgoingRecord): { key: string | null; value: Buffer; headers?: IHeaders; partition?: number; timestamp?: string } {
  return {
    key: r.key,
    // A view, not a copy: kafkajs only reads the bytes while encoding the request.
    value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
    ...(r.headers === undefined ? {} : { headers: { ...r.headers } }),
    ...(r.partition === undefined ? {} : { partition: r.partition }),
    ...(r.timestamp === undefined ? {} : { timestamp: String(r.timestamp) }),
  };
}

async function startConsumer(
  kafka: KafkaClient,
  admin: () => Promise<Admin>,
  config: KafkajsTransportConfig,
  options: ConsumerOptions,
  onClose: () => void,
): Promise<Consumer> {
  const fromBeginning = options.fromBeginning ?? true;
  const subscription = options.topics instanceof RegExp ? [options.topics] : [...options.topics];
  // Start offsets by timestamp, resolved before joining so the seek can happen synchronously in
  // the GROUP_JOIN handler, before the first fetch of the partition.
  const timestampStarts = options.fromTimestamp === undefined ? null : await offsetsAtTimestamp(await admin(), options, options.fromTimestamp);
  const seeked = new Set<string>();

  const c = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: config.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: config.heartbeatIntervalMs ?? 1_000,
    // An idle fetch blocks the consumer loop (pause, commit, leave) for up to this long.
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
    retry: CONSUMER_RETRY,
  });

  const subscribers = new Set<Subscriber<ConsumedRecord>>();
  const assignments = new ReplaySubject<Assignment>(1);
  let assigned: { topic: string; partition: number }[] = [];
  let paused = false;
  let closed = false;
  let joined: (() => void) | null = null;
  let failed: ((e: unknown) => void) | null = null;

  const emit = (r: ConsumedRecord): void => {
    for (const s of subscribers) s.next(r);
  };
  const fail = (error: AppError): void => {
    for (const s of subscribers) s.error(error);
    subscribers.clear();
    assignments.error(error);
    failed?.(error);
  };
  const assignedTopics = (): { topic: string }[] => [...new Set(assigned.map((a) => a.topic))].map((topic) => ({ topic }));

  // Positions whose commit failed while the group was in flux (isTransientCommitError). Their
  // records are finished, and the stage never hands a position out twice, so they are retried
  // here: with the next commit, right after the rejoin, and on a backoff timer, for as long as
  // this member owns the partition (else the new owner redoes them).
  const pendingCommits = new Map<string, TopicPartitionOffset>();
  let lastCommitError = '';
  const tpKey = (o: { topic: string; partition: number }): string => `${o.topic}:${o.partition}`;
  // What the coordinator acknowledged, per partition (kafkajs emits COMMIT_OFFSETS after the
  // response, synchronously). A resolved commitOffsets() is not proof: kafkajs resolves it without
  // sending anything while its runner is not running (crashed, or restarting and not yet joined),
  // and the positions would then be dropped as committed while the group stays behind forever.
  const acknowledged = new Map<string, number>();
  c.on(c.events.COMMIT_OFFSETS, (event) => {
    for (const { topic, partitions } of event.payload.topics) {
      for (const { partition, offset } of partitions) {
        const key = tpKey({ topic, partition });
        acknowledged.set(key, Math.max(acknowledged.get(key) ?? -1, Number(offset)));
      }
    }
  });
  const commitOwned = async (offsets: readonly TopicPartitionOffset[]): Promise<void> => {
    const latest = new Map<string, TopicPartitionOffset>();
    for (const o of [...pendingCommits.values(), ...offsets]) {
      if (!assigned.some((a) => a.topic === o.topic && a.partition === o.partition)) continue;
      const known = latest.get(tpKey(o));
      if (known === undefined || known.offset < o.offset) latest.set(tpKey(o), o);
    }
    const owned = [...latest.values()];
    if (owned.length === 0 || closed) return;
    let failure: string | undefined;
    try {
      await bounded(
        c.commitOffsets(owned.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) }))),
        COMMIT_TIMEOUT_MS,
        () => new AppError('timeout', `commit of ${options.groupId} did not complete within ${COMMIT_TIMEOUT_MS} ms`, { retriable: true }),
      );
    } catch (error) {
      if (!isTransientCommitError(error)) throw toTransportError(error, `commit ${options.groupId}`);
      failure = error instanceof Error ? error.message : String(error);
    }
    let unacknowledged = false;
    for (const o of owned) {
      const key = tpKey(o);
      if ((acknowledged.get(key) ?? -1) >= o.offset) {
        if ((pendingCommits.get(key)?.offset ?? Infinity) <= o.offset) pendingCommits.delete(key);
      } else {
        unacknowledged = true;
        if ((pendingCommits.get(key)?.offset ?? -1) < o.offset) pendingCommits.set(key, o);
      }
    }
    if (unacknowledged) {
      lastCommitError = failure ?? 'not sent: the consumer is not running (kafkajs is restarting it)';
      retryPendingLater();
    }
  };
  // Pending positions must not wait for a next commit that may never come: once the last records
  // of a topic are done (or the redelivered copies of done ones, which the stage does not commit
  // twice), nothing else would commit them, and the group would stay behind forever.
  let retryTimer: NodeJS.Timeout | undefined;
  // Still failing after a retry: worth a line (at most one per backoff), the group's lag does not move meanwhile.
  const stillFailing = (reason: string): void => {
    config.logger?.warn(`consumer ${options.groupId}: commits still failing, retrying`, { pending: [...pendingCommits.keys()].join(' '), owned: assigned.map(tpKey).join(' '), reason });
    retryPendingLater();
  };
  let retryDelayMs = PENDING_RETRY_MIN_MS;
  const retryPendingLater = (): void => {
    if (retryTimer !== undefined || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (closed || pendingCommits.size === 0) return;
      retryDelayMs = Math.min(retryDelayMs * 2, PENDING_RETRY_MAX_MS);
      void commitOwned([])
        .then(
          () => {
            if (pendingCommits.size === 0) retryDelayMs = PENDING_RETRY_MIN_MS;
            else stillFailing(lastCommitError);
          },
          // A non-transient failure is also the stage's to see on its own next commit.
          (error: unknown) => stillFailing(error instanceof Error ? error.message : String(error)),
        );
    }, retryDelayMs);
    retryTimer.unref();
  };

  c.on(c.events.GROUP_JOIN, (event) => {
    const ma = event.payload.memberAssignment;
    assigned = Object.entries(ma).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
    for (const { topic, partition } of assigned) {
      const key = `${topic}:${partition}`;
      const start = timestampStarts?.get(key);
      // Only on first ownership: later rebalances resume from what this run committed.
      if (start === undefined || seeked.has(key)) continue;
      seeked.add(key);
      c.seek({ topic, partition, offset: start });
    }
    // A pause outlives rebalances: newly assigned topics start paused too.
    if (paused && assigned.length > 0) c.pause(assignedTopics());
    for (const key of pendingCommits.keys()) if (!assigned.some((a) => tpKey(a) === key)) pendingCommits.delete(key);
    // Every record below a pending position is finished (its outputs acknowledged): resume there,
    // not from the group's committed offset, which the coordinator failure left behind. Otherwise
    // a rejoin after kafkajs restarts the consumer hands all of them out again (a search stage
    // would redo its searches). Nothing is skipped: records from the position on come again.
    for (const o of pendingCommits.values()) c.seek({ topic: o.topic, partition: o.partition, offset: String(o.offset) });
    // A failure here leaves the positions pending: the stage's next commit retries them.
    if (pendingCommits.size > 0) setImmediate(() => void commitOwned([]).catch(() => undefined));
    assignments.next({ partitions: assigned });
    joined?.();
  });
  c.on(c.events.CRASH, (event) => {
    if (!event.payload.restart && !closed) fail(toTransportError(event.payload.error, `consumer ${options.groupId} crashed`));
  });

  try {
    await c.connect();
    await c.subscribe({ topics: subscription, fromBeginning });
  } catch (error) {
    await c.disconnect().catch(() => undefined);
    throw toTransportError(error, `subscribe ${String(options.topics)}`);
  }

  const firstJoin = new Promise<void>((ok, ko) => {
    joined = ok;
    failed = ko;
  });
  await c.run({
    autoCommit: false,
    // Unresolved offsets are refetched: a batch cut short by pause() loses nothing.
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      if (subscribers.size === 0) {
        // Nobody listens (yet, or between subscriptions): leave the batch unresolved so it is
        // fetched again later instead of buffering without bound; the sleep keeps that loop idle.
        await new Promise((ok) => setTimeout(ok, 100));
        await heartbeat();
        return;
      }
      for (const m of batch.messages) {
        if (paused || closed || !isRunning() || isStale()) break;
        emit({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key === null ? null : m.key.toString('utf8'),
          // A copy: a view would pin the whole fetch response for as long as any record lives.
          value: m.value === null ? new Uint8Array(0) : new Uint8Array(m.value),
          headers: decodeHeaders(m.headers),
          timestamp: Number(m.timestamp),
        });
        resolveOffset(m.offset);
      }
      await heartbeat();
    },
  });

  const joinTimeoutMs = config.joinTimeoutMs ?? 60_000;
  try {
    await bounded(firstJoin, joinTimeoutMs, () => new AppError('timeout', `consumer ${options.groupId} did not join within ${joinTimeoutMs} ms`, { retriable: true }));
  } catch (error) {
    closed = true;
    await c.disconnect().catch(() => undefined);
    throw error;
  }

  // While kafkajs restarts a crashed consumer it has no session, and pause/resume throw. The flag
  // is what counts then: the GROUP_JOIN handler pauses the new session if it is set, and a new
  // session starts unpaused otherwise.
  const pauseOrResume = (apply: () => void): void => {
    try {
      apply();
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('Consumer group was not initialized'))) throw error;
    }
  };

  const records = new Observable<ConsumedRecord>((subscriber) => {
    if (closed) {
      subscriber.complete();
      return undefined;
    }
    subscribers.add(subscriber);
    return () => subscribers.delete(subscriber);
  });

  return {
    records,
    assignments: assignments.asObservable(),
    commit: commitOwned,
    pause() {
      paused = true;
      if (assigned.length > 0) pauseOrResume(() => c.pause(assignedTopics()));
    },
    resume() {
      paused = false;
      if (assigned.length > 0) pauseOrResume(() => c.resume(assignedTopics()));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      // Finished records whose commit the coordinator never acknowledged (it was failing over):
      // whoever owns their partitions next does them again. Worth a line for the operator.
      if (pendingCommits.size > 0) {
        config.logger?.warn(`consumer ${options.groupId}: leaving with commits not acknowledged; their records will be redone`, {
          pending: [...pendingCommits.values()].map((o) => `${tpKey(o)}@${o.offset}`).join(' '),
          reason: lastCommitError,
        });
      }
      onClose();
      // disconnect() stops the loop and sends LeaveGroup, so the others rebalance at once.
      await c.disconnect().catch(() => undefined);
      for (const s of subscribers) s.complete();
      subscribers.clear();
      assignments.complete();
    },
  };
}

/**
 * The first offset at or after `timestamp` for every partition of the subscribed topics (the end
 * offset where no record is that recent), keyed `topic:partition`.
 */
async function offsetsAtTimestamp(a: Admin, options: ConsumerOptions, timestamp: number): Promise<Map<string, string>> {
  try {
    const pattern = options.topics instanceof RegExp ? options.topics : null;
    const topics = pattern === null ? [...(options.topics as readonly string[])] : (await a.listTopics()).filter((t) => pattern.test(t));
    const out = new Map<string, string>();
    for (const topic of topics) {
      for (const o of await a.fetchTopicOffsetsByTimestamp(topic, timestamp)) out.set(`${topic}:${o.partition}`, o.offset);
    }
    return out;
  } catch (error) {
    throw toTransportError(error, `fromTimestamp for group ${options.groupId}`);
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

/**
 * kafkajs logs as JSON lines on stderr (or into `logger`). Connection-level "Response ... error"
 * lines are dropped: the failing call retries and, if it gives up, rejects with the error, so they
 * are only noise (e.g. "coordinator is loading" on every fresh broker).
 */
function createLogCreator(logger: Logger | undefined): (level: number) => (entry: LogEntry) => void {
  return () => ({ namespace, level, log }) => {
    const { message, ...fields } = log;
    if (namespace === 'Connection' && level === LogLevel.ERROR) return;
    if (typeof message === 'string' && message.includes('Limiting retries for the idempotent producer')) return;
    const text = `kafkajs ${namespace}: ${String(message)}`;
    if (logger !== undefined) {
      if (level <= LogLevel.ERROR) logger.error(text, fields);
      else if (level === LogLevel.WARN) logger.warn(text, fields);
      else logger.info(text, fields);
      return;
    }
    process.stderr.write(`${JSON.stringify({ level: LEVEL_NAMES[level] ?? level, message: text, ...fields })}\n`);
  };
}
