import { firstValueFrom, of } from 'rxjs';
import type { Metrics } from '../../operators/common/metrics.js';
import { ok, type Result } from '../../operators/common/result.js';
import type { Verifier } from '../../operators/verify/verifier.js';
import { verifyTrees } from '../../operators/verify/verifyTrees.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../../schemas/searchTree.js';
import { VerifiedTreeCodec, VERIFIED_TREES_TOPIC } from '../../schemas/verifiedTree.js';
import { STAGE_GROUPS } from './groups.js';
import type { StageOutcome, StageSpec } from './stageRuntime.js';

export interface VerifyStageConfig {
  readonly concurrency: number;
  /** Time limit for labelling one tree (ms). */
  readonly timeoutMs: number;
  readonly groupId?: string;
}

export interface VerifyStageDeps {
  readonly verifier: Verifier;
  /** The verifier for a tree's problem (its domain's); default: `verifier` for every tree. */
  readonly verifierOf?: (problem: SearchTree['problem']) => Verifier;
  readonly metrics: Metrics;
}

/** `astro.trees.v1` → label every terminal with a versioned verifier → `astro.trees.verified.v1` (invalid trees flagged, kept). */
export function verifyStageSpec(config: VerifyStageConfig, deps: VerifyStageDeps): StageSpec<SearchTree> {
  const operator = verifyTrees({ concurrency: 1, timeoutMs: config.timeoutMs }, { verifier: deps.verifier, metrics: deps.metrics });
  return {
    name: 'verify',
    groupId: config.groupId ?? STAGE_GROUPS.verify,
    topics: [TREES_TOPIC],
    decode: SearchTreeCodec.decode,
    concurrency: config.concurrency,
    handle: async (tree): Promise<Result<StageOutcome>> => {
      const own = deps.verifierOf?.(tree.problem);
      const op = own === undefined || own === deps.verifier ? operator : verifyTrees({ concurrency: 1, timeoutMs: config.timeoutMs }, { verifier: own, metrics: deps.metrics });
      const result = await firstValueFrom(of(tree).pipe(op));
      if (!result.ok) return result;
      return ok({ outputs: [{ topic: VERIFIED_TREES_TOPIC, records: [{ key: tree.problem_id, value: VerifiedTreeCodec.encode(result.value) }] }] });
    },
  };
}
