import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, type Result } from '../../operators/common/result.js';
import { RolloutGroupCodec, ROLLOUTS_TOPIC, type RolloutGroup } from '../../schemas/rolloutGroup.js';
import { NO_OUTPUT, type StageOutcome, type StageSpec } from '../stages/stageRuntime.js';
import { RL_BATCHES_SUBDIR, RL_MANIFEST_FILE, type RlBatchManifest, type RlBatchSink } from './rlBatchSink.js';

export interface RlBatchStageConfig {
  /** Rollout groups per written step. */
  readonly groupsPerStep: number;
  /** A partial step is written this long after its first group (ms). */
  readonly lingerMs: number;
  /** Output directory (the sink writes under `<dir>/rl/`). */
  readonly dir: string;
  readonly groupId?: string;
}

/**
 * `astro.rollouts.v1` → per-step verl/TRL Parquet batches for an external trainer. Each record's
 * handler resolves only once the step holding it is written (both files and the manifest), so its
 * offset is committed after the data is on disk: a crash redoes at most the unwritten step.
 * Concurrency equals the step size so a whole step can be waiting at once.
 */
export async function rlBatchStageSpec(config: RlBatchStageConfig, sink: RlBatchSink): Promise<StageSpec<RolloutGroup>> {
  // Step numbers continue after the last step in the manifest, so a restart never overwrites one.
  let step = await lastStep(config.dir);
  let pending: { group: RolloutGroup; done: (error?: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    step += 1;
    try {
      await sink.writeStep(step, batch.map((p) => p.group));
      for (const p of batch) p.done();
    } catch (error) {
      for (const p of batch) p.done(error);
    }
  };

  return {
    name: 'sink-rl-batches',
    groupId: config.groupId ?? 'astro.sink.rl-batches',
    topics: [ROLLOUTS_TOPIC],
    decode: RolloutGroupCodec.decode,
    concurrency: config.groupsPerStep,
    flush,
    handle: (group): Promise<Result<StageOutcome>> =>
      new Promise((resolve, reject) => {
        pending.push({ group, done: (error) => (error === undefined ? resolve(ok(NO_OUTPUT)) : reject(error)) });
        if (pending.length >= config.groupsPerStep) void flush();
        else timer ??= setTimeout(() => void flush(), config.lingerMs);
      }),
  };
}

async function lastStep(dir: string): Promise<number> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, RL_BATCHES_SUBDIR, RL_MANIFEST_FILE), 'utf8')) as RlBatchManifest;
    return manifest.steps.reduce((m, s) => Math.max(m, s.step), 0);
  } catch {
    return 0;
  }
}
