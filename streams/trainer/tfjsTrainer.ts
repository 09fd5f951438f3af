import { Worker } from 'node:worker_threads';
import { AppError } from '../../operators/common/errors.js';
import type { TrainingBatch } from '../../operators/rl/packBatch.js';
import type { PolicyValueWeights } from '../../models/onnxGraph.js';

/** Optimizer settings of the tfjs trainer. */
export interface TfjsTrainerConfig {
  /** Adam learning rate. */
  readonly learningRate: number;
  /** Clip range ε of the GRPO surrogate. */
  readonly clipEpsilon: number;
  /** Weight of the value loss relative to the policy losses. */
  readonly valueWeight: number;
}

/** Loss parts of one optimizer step (means over the batch; `pg` over sequences). */
export interface TrainStepStats {
  readonly loss: number;
  readonly az: number;
  readonly value: number;
  readonly pg: number;
  readonly size: number;
}

type Reply = { id: number; ok: true; stats?: TrainStepStats; weights?: PolicyValueWeights; info?: { backend: string } } | { id: number; ok: false; error: string };

/**
 * The policy-value MLP trained with tfjs (wasm backend) in a worker thread, so optimizer steps
 * never block the event loop that runs the stages. Requests are answered in order.
 *
 * @example
 * const trainer = await TfjsTrainer.start(weights, { learningRate: 1e-3, clipEpsilon: 0.2, valueWeight: 0.5 });
 * await trainer.train(packBatch(examples, sequences));
 * const next = await trainer.exportWeights();
 */
export class TfjsTrainer {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  private crashed: Error | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      waiter?.resolve(reply);
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`trainer worker exited with code ${code}`)));
  }

  /** Starts the worker with initial weights (e.g. read from the current ONNX policy). */
  static async start(weights: PolicyValueWeights, config: TfjsTrainerConfig): Promise<TfjsTrainer> {
    const worker = new Worker(new URL('./trainerWorker.js', import.meta.url));
    const trainer = new TfjsTrainer(worker);
    await trainer.request({ type: 'init', weights, ...config });
    return trainer;
  }

  /** One optimizer step on the batch. */
  async train(batch: TrainingBatch): Promise<TrainStepStats> {
    const reply = await this.request({ type: 'train', batch });
    if (reply.stats === undefined) throw new AppError('internal', 'trainer worker sent no stats');
    return reply.stats;
  }

  /** The current weights, in the layout `buildPolicyValueModel` serializes. */
  async exportWeights(): Promise<PolicyValueWeights> {
    const reply = await this.request({ type: 'export' });
    if (reply.weights === undefined) throw new AppError('internal', 'trainer worker sent no weights');
    return reply.weights;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    this.crashed ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private request(message: Record<string, unknown>): Promise<Reply & { ok: true }> {
    if (this.crashed) return Promise.reject(new AppError('internal', `trainer worker is gone: ${this.crashed.message}`));
    const id = this.nextId++;
    return new Promise<Reply & { ok: true }>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (reply) => (reply.ok ? resolve(reply) : reject(new AppError('internal', `trainer worker: ${reply.error}`))),
        reject,
      });
      this.worker.postMessage({ ...message, id });
    });
  }
}
