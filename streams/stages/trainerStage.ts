import { ok, type Result } from '../../operators/common/result.js';
import { RolloutGroupCodec, ROLLOUTS_TOPIC, type RolloutGroup } from '../../schemas/rolloutGroup.js';
import { STALE_ROLLOUTS_TOPIC } from '../../schemas/topics.js';
import { VerifiedTreeCodec, VERIFIED_TREES_TOPIC, type VerifiedTree } from '../../schemas/verifiedTree.js';
import type { OnlineTrainer } from '../trainer/onlineTrainer.js';
import { STAGE_GROUPS } from './groups.js';
import { NO_OUTPUT, type StageOutcome, type StageSpec } from './stageRuntime.js';

/** Consumer groups of the trainer's two inputs (one trainer process reads both). */
export const TRAINER_GROUPS = { rollouts: `${STAGE_GROUPS.trainer}.rollouts`, trees: `${STAGE_GROUPS.trainer}.trees` } as const;

/**
 * `astro.rollouts.v1` → the trainer's GRPO queue. A group whose policy is more than the lag bound
 * behind the trainer is routed unchanged to `astro.rollouts.stale.v1` (counted as
 * `trainer.stale_rollouts`), never dropped. The offset is committed once the group is queued or
 * routed: a crash loses at most the queued, untrained groups (the policy versions already
 * published are durable).
 */
export function trainerRolloutsStageSpec(trainer: OnlineTrainer, options: { readonly concurrency?: number } = {}): StageSpec<RolloutGroup> {
  return {
    name: 'trainer-rollouts',
    groupId: TRAINER_GROUPS.rollouts,
    topics: [ROLLOUTS_TOPIC],
    decode: RolloutGroupCodec.decode,
    concurrency: options.concurrency ?? 4,
    handle: (group, record): Promise<Result<StageOutcome>> => {
      const admission = trainer.addRollouts(group);
      if (admission.fresh) return Promise.resolve(ok(NO_OUTPUT));
      return Promise.resolve(
        ok({ outputs: [{ topic: STALE_ROLLOUTS_TOPIC, records: [{ key: record.key, value: record.value, headers: { 'x-astro-policy-lag': String(admission.lag) } }] }] }),
      );
    },
  };
}

/**
 * `astro.trees.verified.v1` → AlphaZero targets in the trainer's replay buffer. Trees too stale
 * to train on are counted (`trainer.stale_trees`) and stay on their topic (kept forever), so
 * nothing is lost.
 */
export function trainerTreesStageSpec(trainer: OnlineTrainer, options: { readonly concurrency?: number } = {}): StageSpec<VerifiedTree> {
  return {
    name: 'trainer-trees',
    groupId: TRAINER_GROUPS.trees,
    topics: [VERIFIED_TREES_TOPIC],
    decode: VerifiedTreeCodec.decode,
    concurrency: options.concurrency ?? 4,
    handle: (tree): Promise<Result<StageOutcome>> => {
      trainer.addTree(tree);
      return Promise.resolve(ok(NO_OUTPUT));
    },
  };
}
