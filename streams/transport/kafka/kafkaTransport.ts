import { Admin, Consumer as ClientConsumer, Producer as ClientProducer } from '@platformatic/kafka';
import { AppError } from '../../../operators/common/errors.js';
import type { Logger } from '../../../operators/common/metrics.js';
import type { Transport, TopicSpec } from '../transport.js';
import { startKafkaConsumer } from './kafkaConsumer.js';
import { protocolErrorIds, retryDelayMs, retryTransient, toTransportError } from './kafkaErrors.js';
import { kafkaProducer } from './kafkaProducer.js';

/** Kept for callers that set it: the client logs nothing itself; the transport logs through `logger`. */
export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** Options of {@link createKafkaTransport}. */
export interface KafkaTransportConfig {
  /** Bootstrap brokers, `host:port` (use 127.0.0.1 for the local broker, it binds IPv4 only). */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Which of the transport's own lines reach `logger` (default `warn`). */
  readonly logLevel?: KafkaLogLevel;
  /** Where the transport logs (commits retried, streams reopened, topics picked up); default none. */
  readonly logger?: Logger;
  /** Consumer group session timeout (ms): how long a dead member keeps its partitions. Default 10000. */
  readonly sessionTimeoutMs?: number;
  /** Consumer heartbeat interval (ms). Default 1000. */
  readonly heartbeatIntervalMs?: number;
  /** How long a consumer waits for its first group join before failing (ms). Default 60000. */
  readonly joinTimeoutMs?: number;
  /** How often a pattern subscription looks for topics created since (ms). Default 3000. */
  readonly topicRefreshMs?: number;
}

// Every client call retries 30 times, ≈ 56 s of backoff (retryDelayMs: 300 ms ×2 up to 2 s): a
// leader or coordinator election after a broker is SIGKILLed fits in it, and a broker gone for
// longer surfaces as an error (the stage exits non-zero and is restarted) instead of a hang.
// A request gets 30 s (acks=all on a loaded 2-core machine).
const RETRIES = 30;
const REQUEST_TIMEOUT_MS = 30_000;
// The client's default (5 s) makes an idle consumer's fetch long-poll; pause, commit and leave do
// not wait for it (fetches have their own connections), so this only bounds how stale "nothing new" is.
const MAX_WAIT_MS = 500;

const LEVEL_RANK: Record<KafkaLogLevel, number> = { nothing: 0, error: 1, warn: 2, info: 3, debug: 4 };

/**
 * The Kafka transport on @platformatic/kafka: idempotent producers with acks=all, consumer groups
 * with manual commits, pattern subscriptions that pick up topics created later, topic admin. One
 * admin client is shared and opened lazily.
 *
 * @example
 * const t = createKafkaTransport({ brokers: ['127.0.0.1:9092'] });
 * await t.createTopics([{ name: 'astro.problems.v1', partitions: 4, retentionMs: -1 }]);
 */
export function createKafkaTransport(config: KafkaTransportConfig): Transport {
  const clientId = config.clientId ?? 'astro-stream';
  const base = {
    clientId,
    bootstrapBrokers: [...config.brokers],
    retries: RETRIES,
    retryDelay: (_client: unknown, _operation: string, attempt: number) => retryDelayMs(attempt),
    timeout: REQUEST_TIMEOUT_MS,
    autocreateTopics: false,
  };
  const logger = filteredLogger(config.logger, config.logLevel ?? 'warn');
  const open = new Set<{ close(): Promise<void> }>();
  let adminClient: Admin | null = null;
  const admin = (): Admin => (adminClient ??= new Admin(base));

  // A send to a topic the pipeline never created is a configuration error: ask once, fail fast.
  const existing = new Set<string>();
  const listTopics = async (): Promise<string[]> =>
    // Retried: a stage's first call may meet a broker that just died (the 3-node failover test).
    (await retryTransient(() => admin().listTopics(), 'listTopics', 30_000)).filter((t) => !t.startsWith('__')).sort();
  const requireTopic = async (topic: string): Promise<void> => {
    if (existing.has(topic)) return;
    for (const t of await listTopics()) existing.add(t);
    if (!existing.has(topic)) throw new AppError('transport', `topic ${topic} does not exist (create it first)`, { retriable: false });
  };
  const partitionCount = async (topic: string): Promise<number> => {
    await requireTopic(topic);
    const meta = await retryTransient(() => admin().metadata({ topics: [topic], forceUpdate: true }), `metadata of ${topic}`, 30_000);
    const count = meta.topics.get(topic)?.partitionsCount ?? 0;
    if (count === 0) throw new AppError('transport', `topic ${topic} has no partitions yet`, { retriable: true });
    return count;
  };
  // Partition counts, cached as promises: the pipeline never repartitions a live topic, and
  // concurrent first sends then all wait on one lookup and enqueue their records in call order.
  const partitionCounts = new Map<string, Promise<number>>();
  const partitionsOf = (topic: string): Promise<number> => {
    const known = partitionCounts.get(topic);
    if (known !== undefined) return known;
    const lookup = partitionCount(topic);
    partitionCounts.set(topic, lookup);
    lookup.catch(() => {
      if (partitionCounts.get(topic) === lookup) partitionCounts.delete(topic);
    });
    return lookup;
  };
  /** Offsets of every partition of `topic` at `timestamp` (-1 = end, -2 = start, else the first record at or after it). */
  const offsetsAt = async (topic: string, timestamp: bigint): Promise<Map<number, number>> => {
    const partitions = await partitionCount(topic);
    const listed = await retryTransient(
      () => admin().listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, timestamp })) }] }),
      `offsets of ${topic}`,
      30_000,
    );
    const out = new Map<number, number>();
    for (const p of listed[0]?.partitions ?? []) out.set(p.partitionIndex, Number(p.offset));
    return out;
  };
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    open.add(x);
    return x;
  };

  return {
    name: 'kafka',
    async createTopics(specs) {
      if (specs.length === 0) return;
      await Promise.all(specs.map(async (spec) => {
        try {
          await admin().createTopics({
            topics: [{ topic: spec.name, partitions: spec.partitions, replicas: spec.replicationFactor ?? -1 }],
            configs: topicConfigs(spec),
          });
        } catch (error) {
          if (!protocolErrorIds(error).has('TOPIC_ALREADY_EXISTS')) throw toTransportError(error, `createTopics ${spec.name}`);
        }
      }));
      // Metadata showing a leader is not enough under KRaft, where the broker becomes leader a
      // moment after it says so: wait until every partition answers ListOffsets from its leader.
      for (const spec of specs) {
        await retryTransient(() => offsetsAt(spec.name, -1n), `createTopics ${spec.name} (waiting for leaders)`, 30_000);
        existing.add(spec.name);
      }
    },
    listTopics,
    async producer() {
      const client = new ClientProducer<Buffer, Buffer, Buffer, Buffer>({
        ...base,
        clientId: `${clientId}-producer`,
        // acks=all and sequence numbers: a retried request is written once.
        idempotent: true,
        retries: RETRIES,
      });
      const producer = track(kafkaProducer(client, partitionsOf, () => open.delete(producer)));
      return producer;
    },
    async consumer(options) {
      if (!(options.topics instanceof RegExp)) for (const t of options.topics) await requireTopic(t);
      const client = new ClientConsumer<Buffer, Buffer, Buffer, Buffer>({
        ...base,
        clientId: `${clientId}-consumer`,
        groupId: options.groupId,
        sessionTimeout: config.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: config.heartbeatIntervalMs ?? 1_000,
        // How long the coordinator waits for every member to rejoin during a rebalance.
        rebalanceTimeout: 30_000,
        maxWaitTime: MAX_WAIT_MS,
        autocommit: false,
      });
      const consumer = await startKafkaConsumer(
        {
          client,
          listTopics,
          offsetsAtTimestamp: async (topics, timestamp) => {
            const out = new Map<string, number>();
            for (const topic of topics) for (const [p, o] of await offsetsAt(topic, BigInt(timestamp))) out.set(`${topic}:${p}`, o);
            return out;
          },
          ...(logger === undefined ? {} : { logger }),
          joinTimeoutMs: config.joinTimeoutMs ?? 60_000,
          topicRefreshMs: config.topicRefreshMs ?? 3_000,
          onClose: () => open.delete(consumer),
        },
        options,
      );
      return track(consumer);
    },
    async committedOffsets(groupId, topic) {
      const [group] = await retryTransient(
        () => admin().listConsumerGroupOffsets({ groups: [groupId] }),
        'committedOffsets',
        30_000,
      );
      const out = new Map<number, number>();
      for (const t of group?.topics ?? []) {
        if (t.name !== topic) continue;
        for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset));
      }
      return out;
    },
    async endOffsets(topic) {
      return offsetsAt(topic, -1n);
    },
    async close() {
      await Promise.allSettled([...open].map((x) => x.close()));
      const a = adminClient;
      adminClient = null;
      await a?.close().catch(() => undefined);
    },
  };
}

function topicConfigs(spec: TopicSpec): { name: string; value: string }[] {
  const configs = [
    { name: 'retention.ms', value: String(spec.retentionMs) },
    { name: 'cleanup.policy', value: spec.compacted === true ? 'compact' : 'delete' },
  ];
  // With RF >= 3, acks=all only means something if at least 2 replicas must have the record.
  if ((spec.replicationFactor ?? 1) >= 3) configs.push({ name: 'min.insync.replicas', value: '2' });
  if (spec.maxMessageBytes !== undefined) configs.push({ name: 'max.message.bytes', value: String(spec.maxMessageBytes) });
  return configs;
}

function filteredLogger(logger: Logger | undefined, level: KafkaLogLevel): Logger | undefined {
  if (logger === undefined) return undefined;
  const rank = LEVEL_RANK[level];
  return {
    info: (message, fields) => (rank >= LEVEL_RANK.info ? logger.info(message, fields) : undefined),
    warn: (message, fields) => (rank >= LEVEL_RANK.warn ? logger.warn(message, fields) : undefined),
    error: (message, fields) => (rank >= LEVEL_RANK.error ? logger.error(message, fields) : undefined),
  };
}
