import type { Subscription } from 'rxjs';
import { AppError } from '../../operators/common/errors.js';
import type { Logger } from '../../operators/common/metrics.js';
import { SearchTree, SearchTreeCodec, TREES_TOPIC } from '../../schemas/searchTree.js';
import { VerifiedTree, VerifiedTreeCodec, VERIFIED_TREES_TOPIC } from '../../schemas/verifiedTree.js';
import type { DatasetSource } from '../sinks/manifest.js';
import type { ConsumedRecord, Transport } from '../transport/transport.js';
import { compiledDecoder } from './compiledDecoder.js';
import type { ReplaySource, ReplaySourceInfo } from './replaySource.js';

/** Topics a replay can read trees from. */
export const REPLAYABLE_TOPICS: readonly string[] = [TREES_TOPIC, VERIFIED_TREES_TOPIC];

/** The window of a topic to replay. Every bound is optional; timestamps are record timestamps. */
export interface TopicWindow {
  readonly topic: string;
  /** A consumer group nobody else uses, so live stages' committed offsets are untouched. */
  readonly groupId: string;
  /** Skip records below this offset (in every partition). */
  readonly fromOffset?: number;
  /** Keep records with timestamp >= this (epoch ms). */
  readonly fromTime?: number;
  /** Keep records with timestamp <= this (epoch ms). */
  readonly toTime?: number;
}

export interface TopicSourceDeps {
  readonly transport: Transport;
  readonly logger?: Logger;
}

/**
 * The records of `window.topic` that exist when the replay starts (high-water marks are taken
 * first, so records produced meanwhile by live stages are not half-included), filtered by the
 * offset and time bounds. Reads every partition from its start: the transport has no
 * offsets-for-time query, and record timestamps need not be monotonic within a partition, so
 * filtering is the exact way to get "the trees in that range".
 *
 * Nothing is committed: the group is fresh and thrown away.
 */
export function topicSource(window: TopicWindow, deps: TopicSourceDeps): ReplaySource {
  if (!REPLAYABLE_TOPICS.includes(window.topic)) {
    throw new AppError('config', `cannot replay ${window.topic}: trees live in ${REPLAYABLE_TOPICS.join(' or ')}`);
  }
  // Same results as the codec (reasons included), without zod's cost on the records it accepts.
  const decode = window.topic === VERIFIED_TREES_TOPIC ? compiledDecoder(VerifiedTree, VerifiedTreeCodec) : compiledDecoder(SearchTree, SearchTreeCodec);
  const fromOffset = window.fromOffset ?? 0;
  const encoding = window.topic === VERIFIED_TREES_TOPIC ? 'verified_tree' : 'tree';

  /** Reads the window, handing each kept record to `handle`; then the lineage of what `handle` accepted. */
  const readWith = async (handle: (r: ConsumedRecord) => void, settled: () => Promise<void>): Promise<ReplaySourceInfo> => {
    const ends = await deps.transport.endOffsets(window.topic);
    // Last offset to read per partition; partitions with nothing at or after fromOffset are skipped.
    const lastOf = new Map<number, number>();
    for (const [partition, end] of ends) if (end > fromOffset) lastOf.set(partition, end - 1);
    const keep = (r: ConsumedRecord): boolean =>
      r.offset >= fromOffset && (window.fromTime === undefined || r.timestamp >= window.fromTime) && (window.toTime === undefined || r.timestamp <= window.toTime);

    if (lastOf.size > 0) {
      const consumer = await deps.transport.consumer({ groupId: window.groupId, topics: [window.topic], fromBeginning: true });
      const pending = new Set(lastOf.keys());
      let subscription: Subscription | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          subscription = consumer.records.subscribe({
            next: (r) => {
              const last = lastOf.get(r.partition);
              if (last === undefined || r.offset > last) return;
              if (keep(r)) handle(r);
              if (r.offset === last) {
                pending.delete(r.partition);
                if (pending.size === 0) resolve();
              }
            },
            error: reject,
            complete: () => {
              if (pending.size > 0) reject(new AppError('transport', `consumer closed before partitions ${[...pending].join(', ')} of ${window.topic} were read`, { retriable: true }));
            },
          });
        });
      } finally {
        subscription?.unsubscribe();
        await consumer.close();
      }
    }
    await settled();

    const sources: DatasetSource[] = [...ranges.entries()]
      .sort(([a], [b]) => a - b)
      .map(([partition, r]) => ({ topic: window.topic, partition, first_offset: r.first, last_offset: r.last }));
    return {
      sources,
      lineage: {
        kind: 'topic',
        topic: window.topic,
        group_id: window.groupId,
        from_offset: window.fromOffset ?? null,
        from_time: window.fromTime ?? null,
        to_time: window.toTime ?? null,
        dir: null,
        files: [],
        source_manifest_sha256: null,
      },
      badRecords,
      sourceManifest: null,
    };
  };
  // Per read: offset ranges of the trees accepted, and records that were not trees.
  let ranges = new Map<number, { first: number; last: number }>();
  let badRecords = 0;
  const reset = (): void => {
    ranges = new Map();
    badRecords = 0;
  };
  const accepted = (r: ConsumedRecord): void => {
    const range = ranges.get(r.partition);
    ranges.set(r.partition, { first: Math.min(range?.first ?? r.offset, r.offset), last: Math.max(range?.last ?? r.offset, r.offset) });
  };
  const rejected = (r: ConsumedRecord, reason: string): void => {
    badRecords += 1;
    deps.logger?.warn('replay skipped a record that is not a tree', { partition: r.partition, offset: r.offset, reason });
  };

  return {
    describe: `topic ${window.topic}`,
    encoding,
    read(onTree) {
      reset();
      return readWith(
        (r) => {
          const decoded = decode(r.value);
          if (!decoded.ok) return rejected(r, decoded.error.message);
          accepted(r);
          onTree({ tree: decoded.value, bytes: r.value.byteLength, position: [r.partition, r.offset] });
        },
        () => Promise.resolve(),
      );
    },
    readEncoded(onRecord) {
      reset();
      const outcomes: Promise<void>[] = [];
      return readWith(
        (r) => {
          const done = onRecord({ value: r.value, position: [r.partition, r.offset] }).then((outcome) => {
            if (outcome.ok) accepted(r);
            else rejected(r, outcome.reason);
          });
          // Awaited together once the window is read; marked handled now so a failure while still
          // consuming is not an unhandled rejection.
          done.catch(() => undefined);
          outcomes.push(done);
        },
        async () => {
          await Promise.all(outcomes);
        },
      );
    },
  };
}
