import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { domainOf } from '../../domains/registry.js';
import { configHash } from '../../operators/common/hash.js';
import { InMemoryMetrics, type Logger } from '../../operators/common/metrics.js';
import { linearizeConfigHash, linearizerId, parseLinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import { parseSearchConfig } from '../../operators/mcts/searchConfig.js';
import { isHeldOutProblem } from '../../operators/rl/heldOut.js';
import { formatPolicyVersion } from '../../operators/rl/staleness.js';
import { verifierId } from '../../operators/verify/verifier.js';
import { readPolicyValueWeights } from '../../models/onnxGraph.js';
import { initialCountdownModelPath } from '../../models/paths.js';
import { PolicyValueNet } from '../../models/policyValueNet.js';
import { PROBLEMS_TOPIC, ProblemCodec } from '../../schemas/problem.js';
import { allTopicSpecs } from '../../schemas/topics.js';
import { SINK_LINGER_TRAINING_MS, type RunConfig } from '../cli/runConfig.js';
import { ASTRO_STREAM_VERSION } from '../cli/util.js';
import { createCountdownNetPolicy } from '../policies/onnxPolicy.js';
import { startPolicyWatcher } from '../policies/policyWatcher.js';
import { sourcesFromFiles, writeManifest } from '../sinks/manifest.js';
import { ParquetEncoder } from '../sinks/parquetEncoder.js';
import { createRlBatchSink } from '../sinks/rlBatchSink.js';
import { rlBatchStageSpec } from '../sinks/rlBatchStage.js';
import { lagOf } from '../stages/drain.js';
import { STAGE_GROUPS } from '../stages/groups.js';
import { rolloutStageSpec } from '../stages/rolloutStage.js';
import { searchStageSpec } from '../stages/searchStage.js';
import { startStage, type RunningStage, type StageDeps } from '../stages/stageRuntime.js';
import { startTopology } from '../stages/topology.js';
import { trainerRolloutsStageSpec, trainerTreesStageSpec } from '../stages/trainerStage.js';
import { createMemoryTransport } from '../transport/memoryTransport.js';
import type { Transport } from '../transport/transport.js';
import { createOnlineTrainer, type OnlineTrainerStats } from './onlineTrainer.js';
import { createStalenessGate, gateStage } from './stalenessGate.js';
import { TfjsTrainer } from './tfjsTrainer.js';
import type { TrainConfig } from './trainConfig.js';
import type { PipelineExporter } from '../metrics/metricsEndpoint.js';

/** Policy family the built-in trainer publishes. */
export const COUNTDOWN_POLICY_NAME = 'countdown-mlp';

export interface TrainingRunDeps {
  readonly transport?: Transport;
  readonly logger?: Logger;
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called every few seconds with progress (versions, steps, problems fed). */
  readonly onProgress?: (p: TrainingProgress) => void;
  /** The command line, recorded in the manifest. */
  readonly command?: string;
  /** Prometheus exporter (`--metrics-port`): receives every count and watches the stages. */
  readonly exporter?: PipelineExporter;
  /**
   * Polled: once it returns a reason (a signal's name), the run stops feeding problems and shuts
   * down as at its deadline (in-flight work finished or abandoned, sinks flushed, final version
   * published), and the manifest and summary say it was interrupted.
   */
  readonly stopRequested?: () => string | undefined;
}

export interface TrainingProgress {
  readonly elapsedMs: number;
  readonly problemsFed: number;
  readonly trees: number;
  readonly rolloutGroups: number;
  readonly version: number;
  readonly steps: number;
}

/** What a training run did, for the CLI summary and the benchmarks. */
export interface TrainingSummary {
  /** Clock at the start of the run (epoch ms): versions' `created_at` minus this is their wall time. */
  readonly startedAt: number;
  readonly wallMs: number;
  readonly problemsFed: number;
  readonly trees: number;
  readonly validTrees: number;
  readonly traces: number;
  readonly rolloutGroups: number;
  readonly trainer: OnlineTrainerStats;
  /** Newest policy file (`OUT/policies/<sha256>.onnx`), or null when no version was published. */
  readonly newestPolicy: string | null;
  /** Producers' time blocked at the staleness bound (ms, summed over search and rollout). */
  readonly producersWaitingMs: number;
  readonly counters: Readonly<Record<string, number>>;
  /** Why the run stopped before its deadline (`SIGINT`), or null. */
  readonly interrupted: string | null;
}

/**
 * `astro-stream run --train`: the whole closed loop in one process for `train.minutes` —
 * a generated problem stream → search (MCTS, hot-swapped policy) → verify → linearize → sinks,
 * plus the rollout stage and the trainer, which publishes versions the searchers pick up.
 * Problems are generated on demand (seed `config.seed`), kept `sourceAhead` ahead of the search;
 * problems in the evaluation split (`isHeldOutProblem`) are skipped and counted.
 * Stops after `train.minutes`, or earlier once `train.untilSteps` optimizer steps are taken.
 */
export async function runTraining(config: RunConfig, train: TrainConfig, deps: TrainingRunDeps = {}): Promise<TrainingSummary> {
  const clock = deps.clock ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const logger = deps.logger ?? { info: () => undefined, warn: () => undefined, error: () => undefined };
  const started = clock();
  const metrics = new InMemoryMetrics(deps.exporter?.metrics);
  const search = parseSearchConfig({ ...config.search, seed: config.search.seed ?? config.seed });
  const linearize = parseLinearizeConfig({ ...config.linearize, seed: config.linearize.seed ?? config.seed });
  const domain = domainOf(config.domain);
  const generate = domain.generate;
  if (generate === undefined) throw new Error(`domain ${domain.name} has no generator`);
  const policiesDir = join(config.out, 'policies');
  await mkdir(policiesDir, { recursive: true });

  // Runs for as long as asked: without trimming, the in-process logs would keep every record.
  const transport = deps.transport ?? createMemoryTransport({ clock, trimConsumed: true });
  await transport.createTopics(allTopicSpecs({ partitions: config.partitions }));
  const producer = await transport.producer();
  const encoder = ParquetEncoder.create({ workers: 1 }, { metrics });
  const modelPath = config.policy.model ?? initialCountdownModelPath();
  const initialNet = await PolicyValueNet.load(modelPath, { maxBatch: config.policy.maxBatch });
  const initialPolicy = createCountdownNetPolicy(initialNet);
  const staleness = { maxPolicyLag: train.maxPolicyLag, maxRecordsPerVersion: train.maxRecordsPerVersion };
  const searchGate = createStalenessGate('search', staleness, { metrics, clock });
  const rolloutGate = createStalenessGate('rollout', staleness, { metrics, clock });
  const watcher = await startPolicyWatcher(
    { policyName: COUNTDOWN_POLICY_NAME, groupId: `astro.policy-watch.run-${started}`, maxBatch: config.policy.maxBatch },
    {
      transport,
      logger,
      metrics,
      initial: { version: 0, net: initialNet, policy: initialPolicy },
      onSwap: (loaded) => {
        searchGate.onVersion(loaded.version);
        rolloutGate.onVersion(loaded.version);
      },
    },
  );
  searchGate.onVersion(0);
  rolloutGate.onVersion(0);
  const tfjs = await TfjsTrainer.start(readPolicyValueWeights(new Uint8Array(await readFile(modelPath))), {
    learningRate: train.learningRate,
    clipEpsilon: train.clipEpsilon,
    valueWeight: train.valueWeight,
  });
  const trainer = createOnlineTrainer(
    {
      policyName: COUNTDOWN_POLICY_NAME,
      policiesDir,
      batchSize: train.batchSize,
      maxSequencesPerStep: train.maxSequencesPerStep,
      exportEverySteps: train.exportEverySteps,
      replayCapacity: train.replayCapacity,
      newRowsPerStep: train.newRowsPerStep,
      minReplayRows: train.minReplayRows,
      staleness,
      targets: { visitTemperature: train.visitTemperature },
      seed: config.seed,
    },
    { trainer: tfjs, producer, logger, metrics, clock },
  );

  const stageDeps: StageDeps = { transport, producer, logger, metrics, clock };
  const stages: RunningStage[] = [];
  stages.push(
    await startStage(
      gateStage(searchStageSpec({ search, concurrency: config.concurrency }, { policy: () => watcher.current(), verifier: domain.verifier, clock, metrics }), searchGate),
      stageDeps,
    ),
  );
  const topology = await startTopology(
    { search, linearize, searchConcurrency: config.concurrency, verifyTimeoutMs: config.verifyTimeoutMs, out: config.out, sink: { maxRecords: config.sink.maxRecords, lingerMs: config.sink.lingerMs ?? SINK_LINGER_TRAINING_MS } },
    { transport, producer, policy: () => watcher.current(), domainOf, encoder, metrics, logger, clock },
    ['verify', 'linearize', 'sink'],
  );
  stages.push(
    await startStage(
      gateStage(rolloutStageSpec({ groupSize: train.groupSize, concurrency: train.rolloutConcurrency, seed: config.seed }, { policy: () => watcher.currentLoaded(), domainOf, clock, metrics }), rolloutGate),
      stageDeps,
    ),
  );
  stages.push(await startStage(trainerTreesStageSpec(trainer), stageDeps), await startStage(trainerRolloutsStageSpec(trainer), stageDeps));
  if (train.rlBatchGroups > 0) {
    stages.push(await startStage(await rlBatchStageSpec({ groupsPerStep: train.rlBatchGroups, lingerMs: 1_000, dir: config.out }, createRlBatchSink({ dir: config.out })), stageDeps));
  }
  deps.exporter?.watch({ stages: () => [...stages, ...topology.stages], transport, files: () => topology.files() });
  let fatal: unknown;
  const loop = trainer.run().catch((error: unknown) => {
    fatal ??= error;
  });
  for (const s of [...stages, ...topology.stages]) s.done.catch((error: unknown) => (fatal ??= error));

  let fed = 0;
  let generatedCount = 0;
  let heldOutSkipped = 0;
  let lastProgress = started;
  let interrupted: string | undefined;
  const deadline = started + train.minutes * 60_000;
  try {
    while (clock() < deadline && fatal === undefined && (train.untilSteps === undefined || trainer.stats().steps < train.untilSteps)) {
      interrupted = deps.stopRequested?.();
      if (interrupted !== undefined) break;
      // On-demand source: problem i depends only on (seed, i), so feeding in slices equals one long list.
      const lag = await lagOf(transport, { groupId: STAGE_GROUPS.search, topic: PROBLEMS_TOPIC });
      if (lag < train.sourceAhead) {
        const slice = generate({ count: generatedCount + train.sourceAhead, seed: config.seed, difficulty: config.numbers }).slice(generatedCount);
        generatedCount += slice.length;
        // The evaluation split never reaches training (eval's held-out set is drawn from it).
        const batch = slice.filter((p) => !isHeldOutProblem(p));
        heldOutSkipped += slice.length - batch.length;
        await producer.send(PROBLEMS_TOPIC, batch.map((p) => ({ key: p.id, value: ProblemCodec.encode(p) })));
        fed += batch.length;
      }
      if (deps.onProgress && clock() - lastProgress >= 5_000) {
        lastProgress = clock();
        const s = trainer.stats();
        deps.onProgress({ elapsedMs: clock() - started, problemsFed: fed, trees: metrics.counter('search.trees'), rolloutGroups: metrics.counter('rollout.groups'), version: s.version, steps: s.steps });
      }
      await sleep(50);
    }
    if (fatal !== undefined) throw fatal;
  } finally {
    // Producers first (releasing any gate so blocked handlers can finish), then the trainer.
    searchGate.open();
    rolloutGate.open();
    for (const stage of stages.slice(0, 2)) await stage.stop({ abandonAfterMs: 5_000 });
    await topology.stop();
    for (const stage of stages.slice(2)) await stage.stop({ abandonAfterMs: 5_000 });
    await deps.exporter?.refresh();
    await trainer.stop({ publishFinal: fatal === undefined });
    await loop;
    await tfjs.close();
    await watcher.stop();
    await initialNet.close();
    await encoder.close();
    await producer.close();
    if (deps.transport === undefined) await transport.close();
  }
  const stats = trainer.stats();
  const counters: Readonly<Record<string, number>> = { ...metrics.snapshot().counters, 'source.held_out_skipped': heldOutSkipped };
  // Written last, as by `run`: its presence marks a complete dataset (traces/, trees/), and its
  // lineage names every policy version the searchers could have used (the files in policies/).
  const files = topology.files();
  const policyVersions = [initialPolicy.version, ...stats.published.map((v) => formatPolicyVersion(COUNTDOWN_POLICY_NAME, v.version, v.sha256))];
  await writeManifest(config.out, {
    format: 'astro-dataset@1',
    created_at: clock(),
    command: deps.command ?? 'astro-stream run --train',
    configs: { run: config, train, search, linearize, policies: stats.published.map((v) => ({ version: v.version, step: v.step, sha256: v.sha256, path: v.path })) },
    config_hashes: { search: configHash(search), linearize: linearizeConfigHash(linearize), verifier: domain.verifier.configHash },
    versions: { astro_stream: ASTRO_STREAM_VERSION, policy: policyVersions.join(','), verifier: verifierId(domain.verifier), linearizer: linearizerId },
    counts: { ...counters, problems: fed },
    sources: sourcesFromFiles(files),
    files,
    ...(interrupted === undefined ? {} : { interrupted: { reason: interrupted, at: clock() } }),
  });
  return {
    startedAt: started,
    wallMs: clock() - started,
    problemsFed: fed,
    trees: counters['search.trees'] ?? 0,
    validTrees: (counters['search.trees'] ?? 0) - (counters['verify.invalid_trees'] ?? 0),
    traces: counters['traces.written'] ?? 0,
    rolloutGroups: counters['rollout.groups'] ?? 0,
    trainer: stats,
    newestPolicy: stats.published.at(-1)?.path ?? null,
    producersWaitingMs: searchGate.waitedMs() + rolloutGate.waitedMs(),
    counters,
    interrupted: interrupted ?? null,
  };
}

/** Human-readable summary of a training run (what `run --train` prints without `--json`). */
export function formatTrainingSummary(s: TrainingSummary): string {
  const pct = (ms: number): string => `${((ms / Math.max(s.wallMs, 1)) * 100).toFixed(1)}%`;
  return [
    s.interrupted === null ? '' : `INTERRUPTED: ${s.interrupted} (the dataset and manifest hold what was complete)`,
    `trained for ${(s.wallMs / 60_000).toFixed(1)} min: ${s.problemsFed} problems, ${s.trees} trees (${s.validTrees} valid), ${s.traces} traces, ${s.rolloutGroups} rollout groups`,
    `trainer: ${s.trainer.steps} steps, ${s.trainer.rowsTrained} rows, ${s.trainer.published.length} versions (newest v${s.trainer.version})`,
    `time: trainer waiting for data ${pct(s.trainer.waitingForDataMs)}, producers waiting for the trainer ${pct(s.producersWaitingMs)}`,
    `stale: ${s.counters['trainer.stale_rollouts'] ?? 0} rollout groups routed to astro.rollouts.stale.v1, ${s.counters['trainer.stale_trees'] ?? 0} trees not trained on; ${s.counters['trainer.groups_equal_rewards_skipped'] ?? 0} groups with equal rewards skipped`,
    `newest policy: ${s.newestPolicy ?? '(none published)'}`,
    s.newestPolicy ? `evaluate: astro-stream eval --policy ${s.newestPolicy} --problems 500 --seed 1` : '',
    '',
  ].filter((line, i, all) => line !== '' || i === all.length - 1).join('\n');
}
