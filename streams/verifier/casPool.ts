import { Worker } from 'node:worker_threads';
import type { Metrics } from '../../operators/common/metrics.js';
import type { AnswerText, CompareConfig } from '../../operators/verify/math/compare.js';
import type { CasResult, CasRunner } from '../../operators/verify/math/mathVerifier.js';
import type { CasReply, CasRequest } from './casTask.js';

/** Settings of a {@link CasPool}. */
export interface CasPoolConfig {
  /** Worker threads (≥ 1), started on the first request. */
  readonly workers: number;
  /** Heap limit of one worker in MiB: a CAS that allocates without end crashes its worker, not the process. */
  readonly maxHeapMb: number;
  /**
   * How long pairs may wait for the pool's workers to start (load compute-engine) while none is
   * ready, before they time out; their own deadline starts once a worker is ready (default 60 s).
   */
  readonly startMs?: number;
}

/** Defaults: two workers (the CAS is rarely needed; two keep one slow pair from queueing the rest). */
export const DEFAULT_CAS_POOL_CONFIG: CasPoolConfig = { workers: 2, maxHeapMb: 256, startMs: 60_000 };

/** Capabilities of a {@link CasPool}. */
export interface CasPoolDeps {
  /** Counts `verify.cas_calls`, `verify.cas_timeouts`, `verify.cas_failures`, `verify.cas_worker_restarts`. */
  readonly metrics?: Metrics;
}

interface Task {
  readonly request: CasRequest;
  readonly resolve: (result: CasResult) => void;
  readonly timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  /** The pair's own deadline runs (false while it waits for the pool's first ready worker). */
  armed: boolean;
  slot: Slot | null;
  done: boolean;
}

type Counter = 'calls' | 'timeouts' | 'failures' | 'restarts';

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  task: Task | null;
}

type Message = CasReply | { readonly ready: true };

/**
 * Worker threads that run the CAS part of answer comparison (`casWorker.js`) so that no CAS call
 * ever runs on a stage's event loop. Each request has a hard deadline counted from the call,
 * waiting included: a request still queued at its deadline resolves `timeout`; a worker still
 * busy at its deadline is terminated and a fresh one started in its place. Time during which no
 * worker is ready because the pool's workers are starting is not the pair's: its deadline starts
 * once one is (bounded by `startMs`). Worker start-up loads compute-engine, which takes seconds on
 * a loaded machine; counted against the pair it turned correct answers into load-dependent
 * `timeout` verdicts (the first CAS pair of a run, the pairs queued behind a replacement). Workers start on the
 * first request and are unref'd, so an idle pool never keeps a process alive; `close()` stops
 * them. Pending timers keep the process alive while a request is outstanding.
 */
export class CasPool implements CasRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;
  private readonly counts: Record<Counter, number> = { calls: 0, timeouts: 0, failures: 0, restarts: 0 };

  constructor(
    private readonly config: CasPoolConfig = DEFAULT_CAS_POOL_CONFIG,
    private readonly deps: CasPoolDeps = {},
  ) {}

  /** Compares one pair with the CAS within `timeoutMs` (see `compareAnswers`). Never rejects. */
  compare(gold: AnswerText, pred: AnswerText, config: CompareConfig, timeoutMs: number): Promise<CasResult> {
    this.count('calls');
    if (this.closed) return Promise.resolve({ kind: 'failed', reason: 'CAS pool closed' });
    return new Promise<CasResult>((resolve) => {
      const task: Task = { request: { id: this.nextId++, gold, pred, config }, resolve, timeoutMs, timer: undefined, armed: false, slot: null, done: false };
      this.queue.push(task);
      while (this.slots.length < Math.max(1, this.config.workers)) this.slots.push(this.spawn());
      if (this.slots.some((s) => s.ready)) this.arm(task);
      else task.timer = setTimeout(() => this.expire(task), this.config.startMs ?? DEFAULT_CAS_POOL_CONFIG.startMs);
      this.dispatch();
    });
  }

  /** Counts since creation: CAS calls, timeouts, worker failures, worker replacements. */
  stats(): { readonly calls: number; readonly timeouts: number; readonly failures: number; readonly restarts: number } {
    return { ...this.counts };
  }

  /** Stops the workers; requests still waiting resolve `failed`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of [...this.queue, ...this.slots.map((s) => s.task)]) if (task !== null) this.settle(task, { kind: 'failed', reason: 'CAS pool closed' });
    this.queue.length = 0;
    const workers = this.slots.splice(0).map((s) => s.worker);
    await Promise.all(workers.map((w) => this.stop(w)));
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./casWorker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.config.maxHeapMb },
      // Library output has nowhere to go: a verdict is the only result.
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.unref();
    const slot: Slot = { worker, ready: false, task: null };
    worker.on('message', (message: Message) => {
      if ('ready' in message) {
        slot.ready = true;
        for (const task of this.queue) if (!task.armed) this.arm(task);
        this.dispatch();
      } else this.finish(slot, message);
    });
    worker.on('error', (error) => this.crash(slot, error.message));
    worker.on('exit', (code) => this.crash(slot, `CAS worker exited with code ${code}`));
    return slot;
  }

  /** Starts the pair's own deadline (replacing its wait-for-start-up timer, if any). */
  private arm(task: Task): void {
    if (task.timer !== undefined) clearTimeout(task.timer);
    task.armed = true;
    task.timer = setTimeout(() => this.expire(task), task.timeoutMs);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.task !== null) continue;
      const task = this.queue.shift();
      if (task === undefined) return;
      slot.task = task;
      task.slot = slot;
      slot.worker.postMessage(task.request);
    }
  }

  private finish(slot: Slot, reply: CasReply): void {
    const task = slot.task;
    if (task === null || task.request.id !== reply.id) return;
    slot.task = null;
    if ('error' in reply) {
      this.count('failures');
      this.settle(task, { kind: 'failed', reason: reply.error });
    } else this.settle(task, { kind: 'compared', comparison: reply.comparison });
    this.dispatch();
  }

  private expire(task: Task): void {
    task.timer = undefined;
    this.count('timeouts');
    if (task.slot === null) {
      const i = this.queue.indexOf(task);
      if (i >= 0) this.queue.splice(i, 1);
    } else this.replace(task.slot);
    this.settle(task, { kind: 'timeout' });
  }

  // A worker that crashed (heap limit, a bug) fails its pair and is replaced like a timed-out one.
  private crash(slot: Slot, reason: string): void {
    if (!this.slots.includes(slot)) return;
    const task = slot.task;
    this.count('failures');
    this.replace(slot);
    if (task !== null) this.settle(task, { kind: 'failed', reason });
  }

  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    slot.task = null;
    void this.stop(slot.worker);
    this.count('restarts');
    if (this.closed) this.slots.splice(i, 1);
    else this.slots[i] = this.spawn();
  }

  private async stop(worker: Worker): Promise<void> {
    worker.removeAllListeners();
    // Termination may still report an error; nobody is waiting for it any more.
    worker.on('error', () => undefined);
    await worker.terminate();
  }

  private settle(task: Task, result: CasResult): void {
    if (task.done) return;
    task.done = true;
    if (task.timer !== undefined) clearTimeout(task.timer);
    task.timer = undefined;
    task.slot = null;
    task.resolve(result);
  }

  private count(what: Counter): void {
    this.counts[what]++;
    this.deps.metrics?.increment(`verify.cas_${what === 'restarts' ? 'worker_restarts' : what}`);
  }
}
