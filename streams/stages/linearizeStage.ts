import { firstValueFrom, of } from 'rxjs';
import type { Metrics } from '../../operators/common/metrics.js';
import { ok, type Result } from '../../operators/common/result.js';
import type { LinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import type { LinearizeTreeDeps } from '../../operators/linearize/linearizeTree.js';
import { linearizeTrees } from '../../operators/linearize/linearizeTrees.js';
import type { Domain } from '../../domains/domain.js';
import { TraceCodec, TRACES_TOPIC } from '../../schemas/trace.js';
import { VerifiedTreeCodec, VERIFIED_TREES_TOPIC, type VerifiedTree } from '../../schemas/verifiedTree.js';
import { STAGE_GROUPS } from './groups.js';
import type { StageOutcome, StageSpec } from './stageRuntime.js';

export interface LinearizeStageConfig {
  readonly linearize: LinearizeConfig;
  readonly concurrency: number;
  readonly groupId?: string;
}

/** Optional LLM passes of the linearizer: self-evaluation of Ψ and rewriting (both off when absent). */
export type LinearizeExtras = Pick<LinearizeTreeDeps, 'selfEval' | 'rewrite'>;

export interface LinearizeStageDeps extends LinearizeExtras {
  /** The domain of each tree (by `problem.domain`). */
  readonly domainOf: (name: string) => Domain;
  readonly metrics: Metrics;
}

/** `astro.trees.verified.v1` → traces (k mix, reflections, backtracks) → `astro.traces.v1`, keyed by tree id. */
export function linearizeStageSpec(config: LinearizeStageConfig, deps: LinearizeStageDeps): StageSpec<VerifiedTree> {
  return {
    name: 'linearize',
    groupId: config.groupId ?? STAGE_GROUPS.linearize,
    topics: [VERIFIED_TREES_TOPIC],
    decode: VerifiedTreeCodec.decode,
    concurrency: config.concurrency,
    handle: async (tree): Promise<Result<StageOutcome>> => {
      const domain = deps.domainOf(tree.problem.domain);
      const operator = linearizeTrees(config.linearize, {
        domain,
        verifier: domain.verifier,
        metrics: deps.metrics,
        ...(deps.selfEval === undefined ? {} : { selfEval: deps.selfEval }),
        ...(deps.rewrite === undefined ? {} : { rewrite: deps.rewrite }),
      });
      const result = await firstValueFrom(of(tree).pipe(operator));
      if (!result.ok) return result;
      const records = result.value.map((trace) => ({ key: tree.tree_id, value: TraceCodec.encode(trace) }));
      return ok({ outputs: [{ topic: TRACES_TOPIC, records }] });
    },
  };
}
