import { Worker } from 'node:worker_threads';
import { AppError } from '../../operators/common/errors.js';
import { fromWire, type RebuildResult, type RebuildWorkerData, type RecordBatch, type WireOutcome } from './rebuildBatch.js';

export interface RebuildPoolConfig extends RebuildWorkerData {
  /** Worker threads (≥ 1). */
  readonly workers: number;
}

// A batch is posted once it holds this many records or bytes, or at the next turn of the event
// loop: few enough messages to keep posting cheap, small enough to keep every worker busy.
const BATCH_RECORDS = 32;
const BATCH_BYTES = 1 << 20;

interface Waiter {
  readonly resolve: (result: RebuildResult) => void;
  readonly reject: (error: Error) => void;
}

type Reply = { readonly id: number; readonly outcomes: WireOutcome[] } | { readonly id: number; readonly error: string };

/**
 * Worker threads that decode, label and linearize recorded trees (rebuildWorker.js) while the
 * replay's main thread keeps consuming: `submit` takes a record's bytes and resolves with its
 * outcome. Traces come back with their `messages` rebuilt, so rows are exactly the in-thread ones.
 * Only for the built-in domains and their own verifiers: a worker cannot be handed functions.
 */
export class RebuildPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Waiter[]>();
  private batch: { values: Uint8Array[]; bytes: number; waiters: Waiter[] } = { values: [], bytes: 0, waiters: [] };
  private flushScheduled = false;
  private nextId = 0;
  private nextWorker = 0;
  // Set once a worker fails: every waiting and later record fails with it.
  private crashed: Error | undefined;

  private constructor(config: RebuildPoolConfig) {
    const data: RebuildWorkerData = { encoding: config.encoding, linearize: config.linearize, keepLabelled: config.keepLabelled };
    this.workers = Array.from({ length: Math.max(1, config.workers) }, () => {
      const worker = new Worker(new URL('./rebuildWorker.js', import.meta.url), { workerData: data });
      worker.on('message', (reply: Reply) => this.settle(reply));
      worker.on('error', (error) => this.failAll(error));
      worker.on('exit', (code) => this.failAll(new AppError('internal', `replay rebuild worker exited with code ${code}`)));
      return worker;
    });
  }

  static start(config: RebuildPoolConfig): RebuildPool {
    return new RebuildPool(config);
  }

  /** Queues one record (its bytes are copied); resolves with its outcome. */
  submit(value: Uint8Array): Promise<RebuildResult> {
    if (this.crashed !== undefined) return Promise.reject(this.crashed);
    return new Promise<RebuildResult>((resolve, reject) => {
      this.batch.values.push(value);
      this.batch.bytes += value.byteLength;
      this.batch.waiters.push({ resolve, reject });
      if (this.batch.values.length >= BATCH_RECORDS || this.batch.bytes >= BATCH_BYTES) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Batches posted and not answered yet, plus the one being filled: how far the workers are behind. */
  backlog(): number {
    return this.pending.size + (this.batch.values.length > 0 ? 1 : 0);
  }

  /** Stops the workers (records still queued fail). */
  async close(): Promise<void> {
    for (const w of this.workers) w.removeAllListeners('exit');
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.failAll(new AppError('internal', 'replay rebuild pool closed'));
  }

  private flush(): void {
    this.flushScheduled = false;
    const { values, bytes: total, waiters } = this.batch;
    if (values.length === 0) return;
    this.batch = { values: [], bytes: 0, waiters: [] };
    // One buffer per batch: record values are views into the consumer's fetch buffers, which cannot be transferred.
    const bytes = new Uint8Array(total);
    const ends: number[] = [];
    let at = 0;
    for (const v of values) {
      bytes.set(v, at);
      at += v.byteLength;
      ends.push(at);
    }
    const message: RecordBatch = { id: this.nextId++, bytes, ends };
    this.pending.set(message.id, waiters);
    const worker = this.workers[this.nextWorker] as Worker;
    this.nextWorker = (this.nextWorker + 1) % this.workers.length;
    worker.postMessage(message, [bytes.buffer]);
  }

  private settle(reply: Reply): void {
    const waiters = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (waiters === undefined) return;
    if ('error' in reply) {
      const error = new AppError('internal', `replay rebuild worker failed: ${reply.error}`);
      for (const w of waiters) w.reject(error);
      return;
    }
    waiters.forEach((w, i) => {
      const outcome = reply.outcomes[i];
      if (outcome === undefined) {
        w.reject(new AppError('internal', `replay rebuild worker answered ${reply.outcomes.length} of ${waiters.length} records`));
        return;
      }
      w.resolve(outcome.ok && outcome.outcome !== null ? { ...outcome, outcome: { ...outcome.outcome, traces: outcome.outcome.traces.map(fromWire) } } : (outcome as RebuildResult));
    });
  }

  private failAll(error: Error): void {
    this.crashed ??= error;
    for (const waiters of this.pending.values()) for (const w of waiters) w.reject(error);
    this.pending.clear();
    for (const w of this.batch.waiters) w.reject(error);
    this.batch = { values: [], bytes: 0, waiters: [] };
  }
}
