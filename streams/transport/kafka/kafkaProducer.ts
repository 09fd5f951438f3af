import { ProduceAcks } from '@platformatic/kafka';
import type { MessageToProduce, Producer as ClientProducer } from '@platformatic/kafka';
import { AppError } from '../../../operators/common/errors.js';
import { partitionForKey } from '../murmur2.js';
import type { OutgoingRecord, Producer } from '../transport.js';
import { protocolErrorIds, toTransportError } from './kafkaErrors.js';

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
  // A request of this partition is unacknowledged: the next one waits (per-partition order, and
  // the idempotent producer's sequence numbers stay in step with what the broker has).
  inFlight: boolean;
}

// A request takes queued sends up to this many bytes (a single larger send still goes alone):
// the broker rejects a record batch above the topic's max.message.bytes (1 MiB by default).
const MAX_REQUEST_BYTES = 512 * 1024;
// The broker's answers to a record batch over the topic's size limit.
const TOO_LARGE = ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'];

type Bytes = Buffer;
type ClientMessage = MessageToProduce<Bytes, Bytes, Bytes, Bytes>;

/**
 * Batches sends like Kafka's own producer: at most one request per partition is in flight, and
 * everything handed over while it is (plus everything sent within the same event-loop turn) goes
 * out in that partition's next request. A stage finishing records one at a time would otherwise
 * pay one acks=all round trip per record. Each call resolves once all of its own records are
 * acknowledged. `partitionsOf` resolves a topic's partition count (and rejects for a topic that
 * does not exist: the pipeline never auto-creates one).
 */
export function kafkaProducer(client: ClientProducer<Bytes, Bytes, Bytes, Bytes>, partitionsOf: (topic: string) => Promise<number>, onClose: () => void): Producer {
  let closed = false;
  // Null-key records are spread round-robin, as Kafka's default partitioner does for a batch.
  let nextNullKeyPartition = 0;
  const queues = new Map<string, PartitionQueue>();
  // Partitions with sends queued in this event-loop turn, sent together on the next turn.
  let ready = new Set<PartitionQueue>();
  let scheduled = false;
  const inFlight = new Set<Promise<unknown>>();

  const sendNext = (q: PartitionQueue): void => {
    if (q.inFlight || q.sends.length === 0) return;
    let bytes = 0;
    let take = 0;
    while (take < q.sends.length && (take === 0 || bytes + q.sends[take]!.bytes <= MAX_REQUEST_BYTES)) bytes += q.sends[take++]!.bytes;
    const sends = q.sends.slice(0, take);
    q.sends = q.sends.slice(take);
    q.inFlight = true;
    const messages = sends.flatMap((s) => s.records.map((r) => toMessage(q.topic, q.partition, r)));
    const request = client.send({ messages, acks: ProduceAcks.ALL }).then(
      () => {
        for (const s of sends) s.resolve();
      },
      (error: unknown) => {
        // Only a request holding one send says which records were too large (a send over
        // MAX_REQUEST_BYTES always goes alone, so under any limit above it this is the case).
        const ids = protocolErrorIds(error);
        const tooLarge = TOO_LARGE.some((id) => ids.has(id)) && sends.length === 1;
        const wrapped = tooLarge
          ? new AppError('too_large', `send to ${q.topic}: ${sends[0]?.bytes ?? 0} bytes exceed the topic's max.message.bytes`, { cause: error })
          : toTransportError(error, `send to ${q.topic}`);
        for (const s of sends) s.reject(wrapped);
      },
    );
    inFlight.add(request);
    void request.finally(() => {
      inFlight.delete(request);
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
      // Requests already handed to the client finish (or fail) first: closing under them would
      // fail sends that the broker may still acknowledge.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await client.close().catch(() => undefined);
    },
  };
}

function toMessage(topic: string, partition: number, r: OutgoingRecord): ClientMessage {
  const headers = new Map<Bytes, Bytes>();
  for (const [k, v] of Object.entries(r.headers ?? {})) headers.set(Buffer.from(k), Buffer.from(v));
  return {
    topic,
    partition,
    ...(r.key === null ? {} : { key: Buffer.from(r.key) }),
    // A view, not a copy: the client only reads the bytes while encoding the request.
    value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
    headers,
    ...(r.timestamp === undefined ? {} : { timestamp: BigInt(r.timestamp) }),
  };
}
