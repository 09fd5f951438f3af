import { MessagesStreamFallbackModes, MessagesStreamModes } from '@platformatic/kafka';
import type { Consumer as ClientConsumer, ConsumerGroupJoinPayload, Message, MessagesStream } from '@platformatic/kafka';
import { Observable, ReplaySubject } from 'rxjs';
import type { Subscriber } from 'rxjs';
import { AppError } from '../../../operators/common/errors.js';
import type { Logger } from '../../../operators/common/metrics.js';
import type { Assignment, ConsumedRecord, Consumer, ConsumerOptions, TopicPartitionOffset } from '../transport.js';
import { isTransientClientError, toTransportError } from './kafkaErrors.js';

type Bytes = Buffer;
type Client = ClientConsumer<Bytes, Bytes, Bytes, Bytes>;
type Stream = MessagesStream<Bytes, Bytes, Bytes, Bytes>;

/** What a consumer needs from the transport besides its own client. */
export interface KafkaConsumerDeps {
  readonly client: Client;
  /** Topic names on the cluster (for pattern subscriptions). */
  readonly listTopics: () => Promise<string[]>;
  /** First offset at or after `timestamp` per partition of `topics`, keyed `topic:partition`. */
  readonly offsetsAtTimestamp: (topics: readonly string[], timestamp: number) => Promise<Map<string, number>>;
  readonly logger?: Logger;
  /** How long the first group join may take (ms). */
  readonly joinTimeoutMs: number;
  /** How often a pattern subscription looks for new matching topics (ms). */
  readonly topicRefreshMs: number;
  readonly onClose: () => void;
}

// Commits that failed while the group was in flux are retried after this long, doubling up to the max.
const PENDING_RETRY_MIN_MS = 500;
const PENDING_RETRY_MAX_MS = 5_000;
// A stream the client gave up on (its fetch retries ran out while a broker was down) is opened again after this long.
const REOPEN_DELAY_MS = 1_000;

const tpKey = (o: { topic: string; partition: number }): string => `${o.topic}:${o.partition}`;

/**
 * A consumer group member on @platformatic/kafka. The client consumes a list of topics; a
 * pattern subscription is the list of matching topics, looked up again every `topicRefreshMs` so a
 * topic created later is consumed too (a new stream for it, which rejoins the group with the union).
 *
 * Delivery: a partition's records are handed out once per ownership. On every rejoin the client
 * rewinds the partitions it keeps to their committed offsets; records this member already handed
 * out and still owns are dropped here (the stage has them in hand), so finished work such as a
 * search is not redone after a rebalance or a coordinator failover. Records of partitions no
 * longer owned are dropped too; the new owner reads them from the committed offset.
 */
export async function startKafkaConsumer(deps: KafkaConsumerDeps, options: ConsumerOptions): Promise<Consumer> {
  const { client } = deps;
  const pattern = options.topics instanceof RegExp ? new RegExp(options.topics.source, options.topics.flags.replace(/[gy]/g, '')) : null;
  const subscribers = new Set<Subscriber<ConsumedRecord>>();
  const assignments = new ReplaySubject<Assignment>(1);
  const streams = new Set<Stream>();
  const subscribed = new Set<string>();
  let assigned = new Set<string>();
  // Per owned partition: the next offset to hand out (everything below was handed out already).
  const nextOffset = new Map<string, number>();
  let paused = false;
  let closed = false;
  let failure: AppError | undefined;

  const flowing = (): boolean => !paused && !closed && subscribers.size > 0;
  const applyFlow = (): void => {
    const flow = flowing();
    for (const s of streams) {
      if (flow && s.isPaused()) s.resume();
      else if (!flow && !s.isPaused()) s.pause();
    }
  };

  const fail = (error: AppError): void => {
    if (closed || failure !== undefined) return;
    failure = error;
    for (const s of subscribers) s.error(error);
    subscribers.clear();
    assignments.error(error);
  };

  const deliver = (m: Message<Bytes, Bytes, Bytes, Bytes>): void => {
    const key = tpKey(m);
    if (!assigned.has(key)) return;
    const offset = Number(m.offset);
    if (offset < (nextOffset.get(key) ?? -1)) return;
    nextOffset.set(key, offset + 1);
    const record: ConsumedRecord = {
      topic: m.topic,
      partition: m.partition,
      offset,
      key: m.key === undefined || m.key === null ? null : m.key.toString('utf8'),
      // A copy: a view would pin the whole fetch response for as long as any record lives.
      value: m.value === undefined || m.value === null ? new Uint8Array(0) : new Uint8Array(m.value),
      headers: decodeHeaders(m.headers),
      timestamp: Number(m.timestamp),
    };
    for (const s of subscribers) s.next(record);
  };

  // Positions whose commit failed while the group was in flux. Their records are finished, so they
  // are retried: with the next commit, right after a rejoin, and on a backoff timer, for as long as
  // this member owns the partition (else the new owner redoes them).
  const pendingCommits = new Map<string, TopicPartitionOffset>();
  let lastCommitError = '';
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelayMs = PENDING_RETRY_MIN_MS;
  // One commit at a time: a retried older position must not land after a newer one.
  let commitChain: Promise<void> = Promise.resolve();

  const commitNow = async (offsets: readonly TopicPartitionOffset[]): Promise<void> => {
    const latest = new Map<string, TopicPartitionOffset>();
    for (const o of [...pendingCommits.values(), ...offsets]) {
      if (!assigned.has(tpKey(o))) continue;
      const known = latest.get(tpKey(o));
      if (known === undefined || known.offset < o.offset) latest.set(tpKey(o), o);
    }
    const owned = [...latest.values()];
    if (owned.length === 0 || closed) return;
    try {
      await client.commit({ offsets: owned.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: -1 })) });
    } catch (error) {
      if (!isTransientClientError(error)) throw toTransportError(error, `commit ${options.groupId}`);
      lastCommitError = error instanceof Error ? error.message : String(error);
      for (const o of owned) if ((pendingCommits.get(tpKey(o))?.offset ?? -1) < o.offset) pendingCommits.set(tpKey(o), o);
      retryPendingLater();
      return;
    }
    for (const o of owned) if ((pendingCommits.get(tpKey(o))?.offset ?? Infinity) <= o.offset) pendingCommits.delete(tpKey(o));
    if (pendingCommits.size === 0) retryDelayMs = PENDING_RETRY_MIN_MS;
  };
  const commit = (offsets: readonly TopicPartitionOffset[]): Promise<void> => {
    const run = commitChain.then(() => commitNow(offsets));
    commitChain = run.catch(() => undefined);
    return run;
  };
  const retryPendingLater = (): void => {
    if (retryTimer !== undefined || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (closed || pendingCommits.size === 0) return;
      retryDelayMs = Math.min(retryDelayMs * 2, PENDING_RETRY_MAX_MS);
      void commit([]).then(
        () => {
          if (pendingCommits.size > 0) stillFailing(lastCommitError);
        },
        // A non-transient failure is also the stage's to see on its own next commit.
        (error: unknown) => stillFailing(error instanceof Error ? error.message : String(error)),
      );
    }, retryDelayMs);
    retryTimer.unref();
  };
  // Still failing after a retry: worth a line (at most one per backoff), the group's lag does not move meanwhile.
  const stillFailing = (reason: string): void => {
    deps.logger?.warn(`consumer ${options.groupId}: commits still failing, retrying`, { pending: [...pendingCommits.keys()].join(' '), reason });
    retryPendingLater();
  };

  const onJoin = (payload: ConsumerGroupJoinPayload): void => {
    const partitions = (payload.assignments ?? []).flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })));
    const next = new Set(partitions.map(tpKey));
    for (const key of assigned) {
      if (next.has(key)) continue;
      // Lost: whoever owns it next starts from the committed offset (its records here are dropped).
      nextOffset.delete(key);
      pendingCommits.delete(key);
    }
    for (const key of next) {
      if (assigned.has(key)) continue;
      // Gained: start from the committed offset (else the fallback), not from the stream's own
      // position. @platformatic/kafka 2.12.1 keeps a position per partition of the topic, owned or
      // not: a fetch sent before a rebalance that answers after it still advances the positions of
      // the partitions that went to another member (and hands their records out, dropped by
      // `deliver`), and the stream's refresh after a join only fills in missing positions and
      // overrides them with commits. A partition that comes back without a commit (the leaver's
      // uncommitted records) would resume past the records its last owner never finished. With
      // the position removed, the refresh the stream runs on this same event (its listener was
      // added after this one) starts the partition again from the commit or the fallback.
      for (const s of streams) s.offsetsToFetch.delete(key);
    }
    assigned = next;
    assignments.next({ partitions });
    // A failure leaves the positions pending: the next commit or the timer retries them.
    if (pendingCommits.size > 0) void commit([]).catch(() => undefined);
  };
  client.on('consumer:group:join', onJoin);

  const timestampStarts = options.fromTimestamp;
  const openStream = async (topics: string[]): Promise<void> => {
    for (const t of topics) subscribed.add(t);
    const start =
      timestampStarts === undefined
        ? { mode: MessagesStreamModes.COMMITTED, fallbackMode: (options.fromBeginning ?? true) ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST }
        : {
            // Positions from the timestamp, ignoring commits; later rebalances keep this member's positions.
            mode: MessagesStreamModes.MANUAL,
            offsets: [...(await deps.offsetsAtTimestamp(topics, timestampStarts))].map(([key, offset]) => {
              const at = key.lastIndexOf(':');
              return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)), offset: BigInt(offset) };
            }),
          };
    let stream: Stream;
    try {
      stream = await client.consume({ topics, autocommit: false, ...start });
    } catch (error) {
      for (const t of topics) subscribed.delete(t);
      throw toTransportError(error, `subscribe ${topics.join(', ')} (group ${options.groupId})`);
    }
    streams.add(stream);
    stream.on('data', deliver);
    if (!flowing()) stream.pause();
    stream.on('error', (error: unknown) => {
      streams.delete(stream);
      if (closed) return;
      if (!isTransientClientError(error)) {
        fail(toTransportError(error, `consumer ${options.groupId}`));
        return;
      }
      // The client destroys a stream whose fetch retries ran out (a broker down for long):
      // consume the same topics again once it is gone, instead of ending the stage.
      deps.logger?.warn(`consumer ${options.groupId}: reopening the stream of ${topics.join(', ')}`, { reason: error instanceof Error ? error.message : String(error) });
      stream.once('close', () => {
        for (const t of topics) subscribed.delete(t);
        setTimeout(() => {
          if (!closed) openStream(topics).catch((e: unknown) => fail(toTransportError(e, `consumer ${options.groupId}`)));
        }, REOPEN_DELAY_MS).unref();
      });
    });
  };

  const matchingTopics = async (): Promise<string[]> => (await deps.listTopics()).filter((t) => pattern!.test(t) && !subscribed.has(t));
  let refreshTimer: NodeJS.Timeout | undefined;
  let refreshing = false;
  const refresh = async (): Promise<void> => {
    if (refreshing || closed || failure !== undefined) return;
    refreshing = true;
    try {
      const fresh = await matchingTopics();
      if (fresh.length > 0 && !closed) {
        deps.logger?.info(`consumer ${options.groupId}: subscribing to new topics`, { topics: fresh.join(' ') });
        await openStream(fresh);
      }
    } catch (error) {
      deps.logger?.warn(`consumer ${options.groupId}: looking for new topics failed, trying again`, { reason: error instanceof Error ? error.message : String(error) });
    } finally {
      refreshing = false;
    }
  };

  const closeClient = async (): Promise<void> => {
    client.removeListener('consumer:group:join', onJoin);
    // force: close the streams first, then leave the group so the others rebalance at once.
    await client.close(true).catch(() => undefined);
  };

  try {
    const initial = pattern === null ? [...(options.topics as readonly string[])] : await matchingTopics();
    if (initial.length > 0) {
      await bounded(openStream(initial), deps.joinTimeoutMs, () => new AppError('timeout', `consumer ${options.groupId} did not join within ${deps.joinTimeoutMs} ms`, { retriable: true }));
    } else {
      assignments.next({ partitions: [] });
    }
  } catch (error) {
    closed = true;
    await closeClient();
    throw toTransportError(error, `subscribe ${String(options.topics)}`);
  }
  if (pattern !== null) {
    refreshTimer = setInterval(() => void refresh(), deps.topicRefreshMs);
    refreshTimer.unref();
  }

  const records = new Observable<ConsumedRecord>((subscriber) => {
    if (closed) {
      subscriber.complete();
      return undefined;
    }
    if (failure !== undefined) {
      subscriber.error(failure);
      return undefined;
    }
    subscribers.add(subscriber);
    applyFlow();
    return () => {
      subscribers.delete(subscriber);
      applyFlow();
    };
  });

  return {
    records,
    assignments: assignments.asObservable(),
    commit,
    pause() {
      paused = true;
      applyFlow();
    },
    resume() {
      paused = false;
      applyFlow();
    },
    async close() {
      if (closed) return;
      clearInterval(refreshTimer);
      clearTimeout(retryTimer);
      // Finished records whose commit the coordinator never acknowledged (it was failing over):
      // whoever owns their partitions next does them again. Worth a line for the operator.
      if (pendingCommits.size > 0) {
        deps.logger?.warn(`consumer ${options.groupId}: leaving with commits not acknowledged; their records will be redone`, {
          pending: [...pendingCommits.values()].map((o) => `${tpKey(o)}@${o.offset}`).join(' '),
          reason: lastCommitError,
        });
      }
      closed = true;
      deps.onClose();
      await commitChain;
      await closeClient();
      for (const s of subscribers) s.complete();
      subscribers.clear();
      if (failure === undefined) assignments.complete();
    },
  };
}

/** `promise`, or a rejection with `onTimeout()` after `ms`; the promise itself is left to settle unobserved. */
function bounded<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function decodeHeaders(headers: Map<Bytes, Bytes> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers ?? []) out[k.toString()] = v === undefined || v === null ? '' : v.toString();
  return out;
}
