import { readFile } from 'node:fs/promises';
// Before onnxruntime-node: it reads the telemetry switch once, when it starts.
import './ortTelemetryOff.js';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { sha256Hex } from '../operators/common/hash.js';
import { POLICY_VALUE_IO, buildPolicyValueModel, readPolicyValueWeights, type PolicyValueWeights } from './onnxGraph.js';
import type { PolicyValueOutput } from './forward.js';

/** Runtime settings for {@link PolicyValueNet}. */
export interface PolicyValueNetOptions {
  /**
   * Most states per onnxruntime call; bigger batches are split into several runs. 1 is the
   * "one state per call" baseline for benchmarks. Default 256.
   */
  readonly maxBatch?: number;
}

/**
 * The policy-value network run in-process by onnxruntime-node (CPU, one intra-op thread: the
 * pipeline parallelizes across stages and processes, not inside one small matmul).
 *
 * @example
 * const net = await PolicyValueNet.load('models/countdown/initial.onnx', { maxBatch: 128 });
 * const { priors, values } = await net.evaluate(features, mask, batch);
 */
export class PolicyValueNet {
  readonly featureCount: number;
  readonly actionCount: number;
  readonly maxBatch: number;
  /** Hex sha256 of the model bytes: names the weights in policy versions. */
  readonly sha256: string;
  private readonly session: InferenceSession;
  private sessionRuns = 0;
  // Requests waiting for the next session run (see flush()).
  private queue: PendingEvaluation[] = [];
  private queuedStates = 0;
  private flushTimer: NodeJS.Immediate | undefined;

  private constructor(session: InferenceSession, featureCount: number, actionCount: number, maxBatch: number, sha256: string) {
    this.session = session;
    this.featureCount = featureCount;
    this.actionCount = actionCount;
    this.maxBatch = maxBatch;
    this.sha256 = sha256;
  }

  /** Loads a model from a file path or from its bytes. */
  static async load(pathOrBytes: string | Uint8Array, options: PolicyValueNetOptions = {}): Promise<PolicyValueNet> {
    const maxBatch = options.maxBatch ?? 256;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    const bytes = typeof pathOrBytes === 'string' ? new Uint8Array(await readFile(pathOrBytes)) : pathOrBytes;
    // The initializers carry the shapes; reading them also rejects a model that is not ours.
    const weights = readPolicyValueWeights(bytes);
    const session = await InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new PolicyValueNet(session, weights.featureCount, weights.actionCount, maxBatch, sha256Hex(bytes));
  }

  /** Builds the ONNX model for `weights` and loads it (the trainer's path to a new version). */
  static fromWeights(weights: PolicyValueWeights, options: PolicyValueNetOptions = {}): Promise<PolicyValueNet> {
    return PolicyValueNet.load(buildPolicyValueModel(weights), options);
  }

  /** Session runs so far (one per chunk of at most `maxBatch` states). */
  runs(): number {
    return this.sessionRuns;
  }

  /**
   * Priors [batch, A] (0 on illegal actions, summing to 1 over legal ones) and values [batch] in
   * (0, 1) for `batch` states laid out row-major in `features` [batch, F] and `mask` [batch, A].
   */
  async evaluate(features: Float32Array, mask: Float32Array, batch: number): Promise<PolicyValueOutput> {
    const F = this.featureCount;
    const A = this.actionCount;
    if (features.length < batch * F || mask.length < batch * A) {
      throw new RangeError(`evaluate: ${batch} states need ${batch * F} features and ${batch * A} mask entries, got ${features.length} and ${mask.length}`);
    }
    if (batch === 0) return { priors: new Float32Array(0), values: new Float32Array(0) };
    return new Promise<PolicyValueOutput>((resolve, reject) => {
      this.queue.push({ features, mask, batch, resolve, reject });
      this.queuedStates += batch;
      // Full batch ready: run now; otherwise wait one macrotask so concurrent searches join in.
      if (this.queuedStates >= this.maxBatch) void this.flush();
      else this.flushTimer ??= setImmediate(() => void this.flush());
    });
  }

  /**
   * Runs every queued request as few session runs as possible. Requests from concurrent callers
   * (several trees searched at once) are concatenated, so batches grow with concurrency; each
   * caller gets back exactly its own rows, and a state's result does not depend on its batch.
   */
  private async flush(): Promise<void> {
    if (this.flushTimer !== undefined) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const requests = this.queue;
    if (requests.length === 0) return;
    this.queue = [];
    this.queuedStates = 0;
    const F = this.featureCount;
    const A = this.actionCount;
    const total = requests.reduce((sum, r) => sum + r.batch, 0);
    let features: Float32Array;
    let mask: Float32Array;
    if (requests.length === 1) {
      const only = requests[0] as PendingEvaluation;
      features = only.features;
      mask = only.mask;
    } else {
      features = new Float32Array(total * F);
      mask = new Float32Array(total * A);
      let at = 0;
      for (const r of requests) {
        features.set(r.features.subarray(0, r.batch * F), at * F);
        mask.set(r.mask.subarray(0, r.batch * A), at * A);
        at += r.batch;
      }
    }
    try {
      const priors = new Float32Array(total * A);
      const values = new Float32Array(total);
      for (let start = 0; start < total; start += this.maxBatch) {
        const n = Math.min(this.maxBatch, total - start);
        this.sessionRuns++;
        const out = await this.session.run({
          [POLICY_VALUE_IO.features]: new Tensor('float32', features.subarray(start * F, (start + n) * F), [n, F]),
          [POLICY_VALUE_IO.mask]: new Tensor('float32', mask.subarray(start * A, (start + n) * A), [n, A]),
        });
        priors.set(floatData(out[POLICY_VALUE_IO.policy], n * A), start * A);
        values.set(floatData(out[POLICY_VALUE_IO.value], n), start);
      }
      let at = 0;
      for (const r of requests) {
        r.resolve({ priors: priors.subarray(at * A, (at + r.batch) * A), values: values.subarray(at, at + r.batch) });
        at += r.batch;
      }
    } catch (error) {
      for (const r of requests) r.reject(error);
    }
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}

interface PendingEvaluation {
  readonly features: Float32Array;
  readonly mask: Float32Array;
  readonly batch: number;
  readonly resolve: (output: PolicyValueOutput) => void;
  readonly reject: (error: unknown) => void;
}

function floatData(tensor: Tensor | undefined, length: number): Float32Array {
  const data = tensor?.data;
  if (!(data instanceof Float32Array) || data.length !== length) throw new TypeError(`unexpected onnxruntime output (${tensor?.type}, ${data?.length})`);
  return data;
}
