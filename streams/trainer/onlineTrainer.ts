import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { sha256Hex } from '../../operators/common/hash.js';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import { createRng } from '../../operators/common/rng.js';
import { alphaZeroTargets, type AlphaZeroTargetConfig } from '../../operators/rl/alphaZeroTargets.js';
import { packBatch } from '../../operators/rl/packBatch.js';
import { countdownStartOf, rolloutSequences } from '../../operators/rl/rolloutSequences.js';
import { judgeStaleness, parsePolicyVersionNumber, type StalenessConfig } from '../../operators/rl/staleness.js';
import type { PolicySequence, StateExample } from '../../operators/rl/trainingExamples.js';
import { buildPolicyValueModel } from '../../models/onnxGraph.js';
import { POLICY_TOPIC, PolicyVersionCodec, type PolicyVersion } from '../../schemas/policyVersion.js';
import type { RolloutGroup } from '../../schemas/rolloutGroup.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import { writeFileAtomic } from '../sinks/atomicFile.js';
import type { Producer } from '../transport/transport.js';
import type { TrainStepStats } from './tfjsTrainer.js';

/** Settings of the online trainer (units in the names). */
export interface OnlineTrainerConfig {
  /** Policy family published, e.g. `countdown-mlp`. */
  readonly policyName: string;
  /** Directory of content-addressed models: `<dir>/<sha256>.onnx` (usually `OUT/policies`). */
  readonly policiesDir: string;
  /** AlphaZero rows sampled from the replay buffer per step. */
  readonly batchSize: number;
  /** Most GRPO sequences (queued, each used once) per step. */
  readonly maxSequencesPerStep: number;
  /** K: export and publish a new version every K optimizer steps. */
  readonly exportEverySteps: number;
  /** Replay buffer capacity (AlphaZero rows); the oldest rows are overwritten. */
  readonly replayCapacity: number;
  /** New rows that must arrive per optimizer step (bounds reuse of old data: the replay ratio). */
  readonly newRowsPerStep: number;
  /** Rows in the buffer before the first step. */
  readonly minReplayRows: number;
  readonly staleness: StalenessConfig;
  readonly targets?: AlphaZeroTargetConfig;
  /** Seeds batch sampling from the replay buffer. */
  readonly seed: number;
}

/** Something that takes optimizer steps and hands back weights: the tfjs worker, or a stub in tests. */
export interface StepTrainer {
  train(batch: ReturnType<typeof packBatch>): Promise<TrainStepStats>;
  exportWeights(): Promise<Parameters<typeof buildPolicyValueModel>[0]>;
}

export interface OnlineTrainerDeps {
  readonly trainer: StepTrainer;
  readonly producer: Producer;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  /** Version the trainer starts from (0 = the initial network). */
  readonly startVersion?: number;
}

/** Throughput and the time split the trainer benchmark reports. */
export interface OnlineTrainerStats {
  readonly version: number;
  readonly steps: number;
  readonly rowsTrained: number;
  readonly trainMs: number;
  readonly waitingForDataMs: number;
  readonly exportMs: number;
  readonly bufferRows: number;
  readonly queuedSequences: number;
  readonly published: readonly PolicyVersion[];
}

/** Whether a record was taken for training or is too stale (the caller routes it). */
export type Admission = { readonly fresh: true } | { readonly fresh: false; readonly lag: number };

/** The trainer's state: replay buffer, GRPO queue, version counter, and the step loop. */
export interface OnlineTrainer {
  /** Adds a verified tree's AlphaZero targets (or reports it too stale). */
  addTree(tree: VerifiedTree): Admission;
  /** Adds a rollout group's GRPO sequences (or reports it too stale). */
  addRollouts(group: RolloutGroup): Admission;
  /** Newest published version number. */
  version(): number;
  stats(): OnlineTrainerStats;
  /** Starts the step loop; resolves when stopped (rejects on a trainer failure). */
  run(): Promise<void>;
  /** Holds the loop (no steps) until `resume()`: how tests stall the trainer. */
  pause(): void;
  resume(): void;
  /** Stops after the current step; exports a final version when steps were taken since the last one. */
  stop(options?: { readonly publishFinal?: boolean }): Promise<void>;
}

/**
 * The online trainer: verified trees become AlphaZero rows in a replay buffer, rollout groups
 * become GRPO sequences in a queue; a loop takes one optimizer step whenever enough new data has
 * arrived, and every K steps writes the model content-addressed and publishes a PolicyVersion.
 * Records whose policy is more than `maxPolicyLag` versions behind are refused (the stage routes
 * them to the stale topic and counts them).
 */
export function createOnlineTrainer(config: OnlineTrainerConfig, deps: OnlineTrainerDeps): OnlineTrainer {
  const { metrics, clock } = deps;
  const buffer: StateExample[] = [];
  let writeAt = 0;
  const queue: PolicySequence[] = [];
  let credit = 0; // new rows not yet "paid for" by a step
  let version = deps.startVersion ?? 0;
  let steps = 0;
  let stepsAtExport = 0;
  let rowsTrained = 0;
  let trainMs = 0;
  let waitingMs = 0;
  let exportMs = 0;
  let paused = false;
  let stopping = false;
  const published: PolicyVersion[] = [];
  const rng = createRng(config.seed);
  let wake: (() => void) | undefined;
  let lastStats: TrainStepStats | undefined;
  let loop: Promise<void> | undefined;

  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const admit = (policyVersion: string, kind: string): Admission => {
    const verdict = judgeStaleness(parsePolicyVersionNumber(policyVersion), version, config.staleness);
    metrics.observe('trainer.policy_lag', verdict.lag);
    if (verdict.fresh) return { fresh: true };
    metrics.increment(`trainer.stale_${kind}`);
    return { fresh: false, lag: verdict.lag };
  };

  const pushRows = (rows: readonly StateExample[]): void => {
    for (const row of rows) {
      if (buffer.length < config.replayCapacity) buffer.push(row);
      else {
        buffer[writeAt] = row;
        writeAt = (writeAt + 1) % config.replayCapacity;
      }
    }
    credit += rows.length;
  };

  const ready = (): boolean => !paused && ((buffer.length >= config.minReplayRows && credit >= config.newRowsPerStep) || queue.length > 0);

  const publish = async (): Promise<void> => {
    const started = clock();
    const bytes = buildPolicyValueModel(await deps.trainer.exportWeights());
    const sha256 = sha256Hex(bytes);
    await mkdir(config.policiesDir, { recursive: true });
    const path = join(config.policiesDir, `${sha256}.onnx`);
    await writeFileAtomic(path, bytes);
    const record: PolicyVersion = {
      policy: config.policyName,
      version: version + 1,
      path,
      sha256,
      step: steps,
      metrics: [
        { name: 'loss', value: lastStats?.loss ?? 0 },
        { name: 'policy_ce', value: lastStats?.az ?? 0 },
        { name: 'value_bce', value: lastStats?.value ?? 0 },
        { name: 'grpo_surrogate_loss', value: lastStats?.pg ?? 0 },
        { name: 'rows_trained', value: rowsTrained },
      ],
      created_at: clock(),
    };
    await deps.producer.send(POLICY_TOPIC, [{ key: config.policyName, value: PolicyVersionCodec.encode(record) }]);
    version = record.version;
    stepsAtExport = steps;
    published.push(record);
    exportMs += clock() - started;
    metrics.increment('trainer.versions');
    metrics.gauge?.('trainer.policy_version', version);
    deps.logger.info(`trainer: published ${config.policyName} v${version} at step ${steps}`, { sha256, loss: lastStats?.loss });
  };

  const step = async (): Promise<void> => {
    const examples: StateExample[] = [];
    if (buffer.length >= config.minReplayRows) for (let i = 0; i < config.batchSize; i++) examples.push(buffer[rng.int(buffer.length)] as StateExample);
    const sequences = queue.splice(0, config.maxSequencesPerStep);
    credit = Math.max(0, credit - config.newRowsPerStep);
    const batch = packBatch(examples, sequences);
    const started = clock();
    lastStats = await deps.trainer.train(batch);
    trainMs += clock() - started;
    steps++;
    rowsTrained += batch.size;
    metrics.increment('trainer.steps');
    for (const component of ['loss', 'az', 'value', 'pg'] as const) metrics.gauge?.('trainer.loss', lastStats[component], { component });
    metrics.increment('trainer.rows', batch.size);
    if (steps - stepsAtExport >= config.exportEverySteps) await publish();
  };

  const runLoop = async (): Promise<void> => {
    while (!stopping) {
      if (!ready()) {
        const since = clock();
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        // Paused time is a stalled trainer, not a trainer starved of data.
        if (!paused) waitingMs += clock() - since;
        continue;
      }
      await step();
    }
  };

  return {
    addTree: (tree) => {
      const admission = admit(tree.policy_version, 'trees');
      if (!admission.fresh) return admission;
      const targets = alphaZeroTargets(tree, config.targets);
      metrics.increment('trainer.trees');
      metrics.increment('trainer.az_rows', targets.examples.length);
      if (targets.unreplayable > 0) metrics.increment('trainer.unreplayable_nodes', targets.unreplayable);
      pushRows(targets.examples);
      notify();
      return admission;
    },
    addRollouts: (group) => {
      const admission = admit(group.policy_version, 'rollouts');
      if (!admission.fresh) return admission;
      const result = rolloutSequences(group, countdownStartOf);
      metrics.increment('trainer.rollout_groups');
      if (result.skippedEqual) metrics.increment('trainer.groups_equal_rewards_skipped');
      if (result.unreplayable > 0) metrics.increment('trainer.unreplayable_samples', result.unreplayable);
      queue.push(...result.sequences);
      notify();
      return admission;
    },
    version: () => version,
    stats: () => ({ version, steps, rowsTrained, trainMs, waitingForDataMs: waitingMs, exportMs, bufferRows: buffer.length, queuedSequences: queue.length, published: [...published] }),
    run: () => {
      loop ??= runLoop();
      return loop;
    },
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      notify();
    },
    stop: async (options = {}) => {
      stopping = true;
      notify();
      await loop;
      if ((options.publishFinal ?? true) && steps > stepsAtExport) await publish();
    },
  };
}
