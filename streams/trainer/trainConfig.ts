import { z } from 'zod';

/** Settings of `run --train` on top of the run config, validated once at the edge. */
export const TrainConfig = z
  .object({
    /** Wall-clock length of the training run (minutes, may be fractional). */
    minutes: z.number().positive().default(10),
    /** Also stop once the trainer has taken this many optimizer steps (whichever comes first); tests use it to fix the amount of work rather than wall time. */
    untilSteps: z.number().int().positive().optional(),
    /** G: completions per prompt in the rollout stage (the paper's 4). */
    groupSize: z.number().int().positive().default(4),
    /** Problems sampled by the rollout stage at once. */
    rolloutConcurrency: z.number().int().positive().default(2),
    /** Adam learning rate. */
    learningRate: z.number().positive().default(1e-3),
    /** Clip range ε of the GRPO surrogate. */
    clipEpsilon: z.number().positive().max(1).default(0.2),
    /** Weight of the value loss. */
    valueWeight: z.number().nonnegative().default(0.5),
    /** AlphaZero rows per optimizer step. */
    batchSize: z.number().int().positive().default(256),
    /** GRPO sequences per optimizer step at most. */
    maxSequencesPerStep: z.number().int().positive().default(64),
    /** K: publish a new policy version every K steps. */
    exportEverySteps: z.number().int().positive().default(20),
    replayCapacity: z.number().int().positive().default(20_000),
    /** New rows required per step (the replay ratio is batchSize / newRowsPerStep). */
    newRowsPerStep: z.number().int().positive().default(24),
    minReplayRows: z.number().int().nonnegative().default(256),
    /** Visit temperature of the AlphaZero policy target. */
    visitTemperature: z.number().positive().default(0.5),
    /** Versions a record may lag the trainer and still be trained on. */
    maxPolicyLag: z.number().int().nonnegative().default(4),
    /** Records a producer may publish per policy version before pausing for the trainer. */
    maxRecordsPerVersion: z.number().int().positive().default(400),
    /** Rollout groups per verl/TRL Parquet step under `OUT/rl/` (the external-trainer bridge); 0 = off. */
    rlBatchGroups: z.number().int().nonnegative().default(0),
    /** Problems kept queued ahead of the search stage by the built-in source. */
    sourceAhead: z.number().int().positive().default(16),
  })
  .strict();
export type TrainConfig = z.infer<typeof TrainConfig>;

/** Parses a (partial) train config; missing fields take the defaults above. */
export function parseTrainConfig(input: unknown): TrainConfig {
  return TrainConfig.parse(input ?? {});
}
