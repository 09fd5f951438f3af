import { mergeMap, tap, type Subscription } from 'rxjs';
import { AppError, isProgrammerError, isStorageError, toAppError } from '../../operators/common/errors.js';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import type { Result } from '../../operators/common/result.js';
import { DEFAULT_RETRY, withRetry, type RetryConfig } from '../../operators/common/retry.js';
import { DeadLetterCodec, dlqTopicOf, type DeadLetter } from '../../schemas/deadLetter.js';
import { OffsetTracker } from '../transport/offsetTracker.js';
import type { Assignment, ConsumedRecord, Consumer, OutgoingRecord, Producer, Transport } from '../transport/transport.js';

/** What handling one record produced: records to publish (all acknowledged before the offset is committed). */
export interface StageOutcome {
  readonly outputs: readonly { readonly topic: string; readonly records: readonly OutgoingRecord[] }[];
}

export const NO_OUTPUT: StageOutcome = { outputs: [] };

/** A deployable stage: which topics it reads as which group, and how it handles one decoded record. */
export interface StageSpec<In> {
  /** Stage name, recorded in DLQ records and logs: `search`, `verify`, ... */
  readonly name: string;
  readonly groupId: string;
  readonly topics: readonly string[] | RegExp;
  readonly decode: (bytes: Uint8Array) => Result<In>;
  /** Handles one record. A failed Result goes to the DLQ (after retries when retriable). */
  readonly handle: (value: In, record: ConsumedRecord) => Promise<Result<StageOutcome>>;
  /** Records handled at once. */
  readonly concurrency: number;
  /** Pause fetching above this many received-but-unfinished records (backpressure). Default 4 × concurrency. */
  readonly highWaterMark?: number;
  readonly retry?: RetryConfig;
  /** Called after a rebalance, e.g. so a batching sink drops buffers of revoked partitions. */
  readonly onAssignment?: (assignment: Assignment) => void;
  /** Flushes anything buffered (sinks) before the final commit of a graceful stop. */
  readonly flush?: () => Promise<void>;
}

export interface StageDeps {
  readonly transport: Transport;
  readonly producer: Producer;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface StageStats {
  readonly received: number;
  readonly completed: number;
  readonly deadLettered: number;
  readonly inFlight: number;
  readonly paused: boolean;
}

/** A running stage. `done` rejects on a fatal error (programmer error, broker gone): exit non-zero. */
export interface RunningStage {
  readonly name: string;
  /** The group and topics it consumes, so an exporter can report its consumer lag. */
  readonly groupId: string;
  readonly topics: readonly string[] | RegExp;
  readonly done: Promise<void>;
  stats(): StageStats;
  /** Graceful stop: stop fetching, finish in-flight work, flush, commit, leave the group. */
  stop(options?: { readonly abandonAfterMs?: number }): Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a stage over a transport: consume → decode → handle → produce → commit. Offsets are
 * committed only up to the lowest unfinished record, after its outputs are acknowledged.
 * Bad records go to `<topic>.dlq` with the reason and the original bytes; the stage goes on.
 */
export async function startStage<In>(spec: StageSpec<In>, deps: StageDeps): Promise<RunningStage> {
  const consumer: Consumer = await deps.transport.consumer({ groupId: spec.groupId, topics: spec.topics, fromBeginning: true });
  const tracker = new OffsetTracker();
  const highWaterMark = spec.highWaterMark ?? spec.concurrency * 4;
  const sleep = deps.sleep ?? defaultSleep;
  // Jitter only spreads retries out in time; it never affects outputs, so Math.random is acceptable here.
  const random = deps.random ?? Math.random;
  let received = 0;
  let completed = 0;
  let deadLettered = 0;
  let outstanding = 0; // received and not yet finished: what backpressure bounds
  let paused = false;
  let stopping = false;
  let closed = false;
  let fatal: unknown;
  let owned = new Set<string>();
  let commitChain: Promise<void> = Promise.resolve();
  let commitQueued = false;
  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // Callers may only await stop(); keep an unobserved rejection from crashing the process.
  done.catch(() => undefined);

  // Commits run one at a time and coalesce: a call while one is queued and not yet started joins
  // it (it will read the tracker when it starts, so it covers the caller's progress). One commit
  // request per finished record would cost a broker round trip each, and over Kafka a commit
  // waits behind the consumer's fetch on the same connection.
  const commit = (): Promise<void> => {
    if (commitQueued) return commitChain;
    commitQueued = true;
    commitChain = commitChain.then(async () => {
      commitQueued = false;
      const offsets = tracker.committable();
      if (offsets.length > 0) await consumer.commit(offsets);
    });
    return commitChain;
  };

  const deadLetter = async (record: ConsumedRecord, error: AppError): Promise<void> => {
    const letter: DeadLetter = {
      source_topic: record.topic,
      source_partition: record.partition,
      source_offset: record.offset,
      key: record.key,
      value_base64: Buffer.from(record.value).toString('base64'),
      stage: spec.name,
      error_kind: error.kind,
      retriable: error.retriable,
      reason: error.message,
      failed_at: deps.clock(),
    };
    deps.logger.warn(`${spec.name}: record ${record.topic}[${record.partition}]@${record.offset} sent to DLQ`, { kind: error.kind, reason: error.message });
    deps.metrics.increment(`${spec.name}.dead_lettered`);
    deps.metrics.increment('stage.dead_letters', 1, { stage: spec.name, topic: record.topic, kind: error.kind });
    deadLettered += 1;
    await deps.producer.send(dlqTopicOf(record.topic), [{ key: record.key, value: DeadLetterCodec.encode(letter) }]);
  };

  const handleRecord = async (record: ConsumedRecord): Promise<void> => {
    const decoded = spec.decode(record.value);
    if (!decoded.ok) {
      await deadLetter(record, decoded.error);
      return;
    }
    let outcome: StageOutcome;
    try {
      outcome = await withRetry(
        async () => {
          const result = await spec.handle(decoded.value, record);
          if (!result.ok) throw result.error;
          return result.value;
        },
        spec.retry ?? DEFAULT_RETRY,
        { sleep, random, onRetry: (error, attempt, delayMs) => deps.logger.warn(`${spec.name}: retry ${attempt} in ${delayMs} ms`, { reason: error.message }) },
      );
    } catch (error) {
      // A full or read-only disk fails every record alike: stop (uncommitted) rather than fill the DLQ.
      // And once the stage has failed, what fails after (a sink that fatal error closed: "encoder is
      // closed") is in-flight work left uncommitted for the restart, not bad input: seen beside a
      // CPU hog, records reaching the Parquet sink just after its ENOSPC were dead-lettered.
      if (fatal !== undefined || isProgrammerError(error) || isStorageError(error)) throw error;
      await deadLetter(record, toAppError(error));
      return;
    }
    try {
      for (const output of outcome.outputs) {
        if (output.records.length === 0) continue;
        await deps.producer.send(output.topic, output.records);
        deps.metrics.increment('stage.records_out', output.records.length, { stage: spec.name, topic: output.topic });
      }
    } catch (error) {
      // An output the topic refuses for its size would refuse again on every redelivery: the
      // input goes to the DLQ with the reason instead of stopping the stage.
      if (error instanceof AppError && error.kind === 'too_large') await deadLetter(record, error);
      else throw error;
    }
  };

  const onFinished = (record: ConsumedRecord): void => {
    // Work abandoned by a stop finishes into the void: its offsets must stay uncommitted.
    if (closed) return;
    outstanding -= 1;
    completed += 1;
    if (owned.has(`${record.topic}:${record.partition}`)) tracker.done(record);
    void commit().catch((error: unknown) => fail(error));
    if (paused && !stopping && outstanding <= highWaterMark / 2) {
      paused = false;
      consumer.resume();
    }
  };

  const fail = (error: unknown): void => {
    if (fatal !== undefined) return;
    fatal = error;
    deps.logger.error(`${spec.name}: fatal error, stopping without committing in-flight work`, { error: String(error) });
    subscription.unsubscribe();
    assignmentSub.unsubscribe();
    void consumer.close().finally(() => rejectDone(error));
  };

  const assignmentSub: Subscription = consumer.assignments.subscribe((assignment) => {
    const next = new Set(assignment.partitions.map((p) => `${p.topic}:${p.partition}`));
    const revoked = [...owned].filter((key) => !next.has(key)).map((key) => {
      const at = key.lastIndexOf(':');
      return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
    });
    if (revoked.length > 0) tracker.forget(revoked);
    owned = next;
    spec.onAssignment?.(assignment);
  });

  const onArrival = (record: ConsumedRecord): void => {
    // Track on arrival (not when mergeMap starts the record) so commits never pass a buffered record.
    received += 1;
    outstanding += 1;
    deps.metrics.increment('stage.records_in', 1, { stage: spec.name, topic: record.topic });
    owned.add(`${record.topic}:${record.partition}`);
    tracker.track(record);
    if (!paused && outstanding >= highWaterMark) {
      paused = true;
      consumer.pause();
    }
  };

  const subscription: Subscription = consumer.records
    .pipe(
      tap(onArrival),
      mergeMap(async (record) => {
        await handleRecord(record);
        return record;
      }, spec.concurrency),
    )
    .subscribe({
      next: onFinished,
      error: (error: unknown) => fail(error),
    });

  const stop = async (options: { readonly abandonAfterMs?: number } = {}): Promise<void> => {
    if (stopping) return done;
    stopping = true;
    consumer.pause();
    const pollMs = 10;
    let waitsLeft = Math.ceil((options.abandonAfterMs ?? 30_000) / pollMs);
    // Finish in-flight work; what is still running at the deadline is abandoned uncommitted (redone on restart).
    while (outstanding > 0 && fatal === undefined && waitsLeft-- > 0) {
      if (spec.flush) await spec.flush();
      await sleep(pollMs);
    }
    if (fatal !== undefined) return done;
    if (spec.flush) await spec.flush();
    await commit();
    closed = true;
    subscription.unsubscribe();
    assignmentSub.unsubscribe();
    await consumer.close();
    resolveDone();
    return done;
  };

  return {
    name: spec.name,
    groupId: spec.groupId,
    topics: spec.topics,
    done,
    stats: () => ({ received, completed, deadLettered, inFlight: outstanding, paused }),
    stop,
  };
}
