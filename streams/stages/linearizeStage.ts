import { firstValueFrom, of } from 'rxjs';
import type { Metrics } from '../../operators/common/metrics.js';
import { ok, type Result } from '../../operators/common/result.js';
import { createCompletionDeduper } from '../../operators/linearize/completionDeduper.js';
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
  /** Completions remembered to drop repeats across trees of a problem (default 250 000, ~25 MB). */
  readonly dedupeEntries?: number;
}

/**
 * Optional passes of the linearizer: self-evaluation of Ψ and rewriting (both off when absent),
 * and the policy's tokenizer for `maxTraceTokens` (default: the domain's, else an estimate).
 */
export type LinearizeExtras = Pick<LinearizeTreeDeps, 'selfEval' | 'rewrite' | 'tokenizer'>;

export interface LinearizeStageDeps extends LinearizeExtras {
  /** The domain of each tree (by `problem.domain`). */
  readonly domainOf: (name: string) => Domain;
  readonly metrics: Metrics;
}

/**
 * `astro.trees.verified.v1` → traces (k mix, reflections, backtracks) → `astro.traces.v1`, keyed by
 * tree id. Verified trees are keyed by problem id, so every tree of a problem reaches the same
 * process: a completion another tree of the problem already gave is dropped
 * (`linearize.repeat_completion_dropped`).
 */
export function linearizeStageSpec(config: LinearizeStageConfig, deps: LinearizeStageDeps): StageSpec<VerifiedTree> {
  const deduper = createCompletionDeduper({ maxEntries: config.dedupeEntries ?? 250_000 });
  return {
    name: 'linearize',
    groupId: config.groupId ?? STAGE_GROUPS.linearize,
    topics: [VERIFIED_TREES_TOPIC],
    decode: VerifiedTreeCodec.decode,
    concurrency: config.concurrency,
    handle: async (tree): Promise<Result<StageOutcome>> => {
      const domain = deps.domainOf(tree.problem.domain);
      const tokenizer = deps.tokenizer ?? domain.tokenizer;
      const operator = linearizeTrees(config.linearize, {
        domain,
        verifier: domain.verifier,
        metrics: deps.metrics,
        ...(deps.selfEval === undefined ? {} : { selfEval: deps.selfEval }),
        ...(deps.rewrite === undefined ? {} : { rewrite: deps.rewrite }),
        ...(tokenizer === undefined ? {} : { tokenizer }),
      });
      const result = await firstValueFrom(of(tree).pipe(operator));
      if (!result.ok) return result;
      const traces = result.value.filter((trace) => deduper.admit(trace));
      deps.metrics.increment('linearize.repeat_completion_dropped', result.value.length - traces.length);
      const records = traces.map((trace) => ({ key: tree.tree_id, value: TraceCodec.encode(trace) }));
      return ok({ outputs: [{ topic: TRACES_TOPIC, records }] });
    },
  };
}
