import { firstValueFrom, of } from 'rxjs';
import type { Metrics } from '../../operators/common/metrics.js';
import { AppError } from '../../operators/common/errors.js';
import { fail, ok, type Result } from '../../operators/common/result.js';
import type { Policy } from '../../operators/mcts/policy.js';
import type { SearchConfig } from '../../operators/mcts/searchConfig.js';
import { searchTreeParallel } from '../../operators/mcts/parallelSearch.js';
import { searchProblems } from '../../operators/mcts/searchProblems.js';
import type { Verifier } from '../../operators/verify/verifier.js';
import { ProblemCodec, type Problem } from '../../schemas/problem.js';
import { SearchTreeCodec, TREES_TOPIC } from '../../schemas/searchTree.js';
import { PROBLEM_SOURCE_PATTERN } from '../../schemas/topics.js';
import { countSearchTimeouts } from '../metrics/countVerdicts.js';
import { STAGE_GROUPS } from './groups.js';
import type { StageOutcome, StageSpec } from './stageRuntime.js';

export interface SearchStageConfig {
  readonly search: SearchConfig;
  /** Problems searched at once by this process. */
  readonly concurrency: number;
  /** Iterations of one tree in flight at once (virtual loss, operators/mcts/parallelSearch.ts); default 1 = sequential. */
  readonly parallelIterations?: number;
  readonly groupId?: string;
}

export interface SearchStageDeps {
  /** Read at each problem, so a hot-swapped policy is used from the next problem on. */
  readonly policy: () => Policy;
  readonly verifier: Verifier;
  /** The verifier for a problem (its domain's); default: `verifier` for every problem. */
  readonly verifierOf?: (problem: Problem) => Verifier;
  readonly clock: () => number;
  readonly metrics: Metrics;
  /**
   * Why the policy cannot search a domain, or undefined when it can (factory's
   * `policyDomainMismatch`). A problem of such a domain (a topic mixing domains) goes to the DLQ
   * instead of becoming a root-only tree. Absent: every domain is searched.
   */
  readonly domainMismatch?: (domain: string) => string | undefined;
}

/**
 * problems (every `astro.problems[.<source>].v1` topic, by pattern, so new sources plug in
 * without a restart) → MCTS → `astro.trees.v1`, keyed by problem id. A problem whose domain the
 * policy cannot search is dead-lettered with the reason; the others go on.
 */
export function searchStageSpec(config: SearchStageConfig, deps: SearchStageDeps): StageSpec<Problem> {
  // Each domain's verifier wrapped once: search-time verdicts that ran out of time are counted
  // (`search.verdict_timeouts`), as the verify stage counts its own.
  const counted = new WeakMap<Verifier, Verifier>();
  const verifierFor = (problem: Problem): Verifier => {
    const verifier = deps.verifierOf?.(problem) ?? deps.verifier;
    let wrapped = counted.get(verifier);
    if (wrapped === undefined) {
      wrapped = countSearchTimeouts(verifier, deps.metrics);
      counted.set(verifier, wrapped);
    }
    return wrapped;
  };
  return {
    name: 'search',
    groupId: config.groupId ?? STAGE_GROUPS.search,
    topics: PROBLEM_SOURCE_PATTERN,
    decode: ProblemCodec.decode,
    concurrency: config.concurrency,
    handle: async (problem, record): Promise<Result<StageOutcome>> => {
      const mismatch = deps.domainMismatch?.(problem.domain);
      if (mismatch !== undefined) return fail(new AppError('config', `problem ${problem.id} (domain ${problem.domain}): ${mismatch}`));
      const parallelIterations = config.parallelIterations ?? 1;
      const operator = searchProblems(
        { search: config.search, concurrency: 1 },
        {
          policy: deps.policy(),
          verifier: verifierFor(problem),
          clock: deps.clock,
          metrics: deps.metrics,
          ...(parallelIterations > 1 ? { search: (p, c, d) => searchTreeParallel(p, { ...c, parallelIterations }, d) } : {}),
        },
      );
      const result = await firstValueFrom(of(problem).pipe(operator));
      if (!result.ok) return result;
      deps.metrics.increment('search.trees');
      const tree = { ...result.value, problem_topic: record.topic };
      return ok({ outputs: [{ topic: TREES_TOPIC, records: [{ key: problem.id, value: SearchTreeCodec.encode(tree) }] }] });
    },
  };
}
