import { asyncScheduler, catchError, defer, map, mergeMap, of, throwError, timeout, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { AppError, isProgrammerError, toAppError } from '../common/errors.js';
import { fail, ok, type Result } from '../common/result.js';
import type { Metrics } from '../common/metrics.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import type { Verifier } from './verifier.js';
import { labelTree } from './labelTree.js';

/** Plain settings of {@link verifyTrees}. */
export interface VerifyTreesConfig {
  /** Trees labelled at once. Results may come out of input order when > 1. */
  readonly concurrency: number;
  /** Longest time one tree's labelling may take, in ms; past it the tree fails with kind `timeout`. */
  readonly timeoutMs: number;
}

/** Capabilities {@link verifyTrees} uses. */
export interface VerifyTreesDeps {
  readonly verifier: Verifier;
  /** Scheduler for the timeout (a TestScheduler in marble tests); defaults to asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  readonly metrics?: Metrics;
}

/**
 * Labels every terminal of each tree with the verifier's verdict; invalid trees are flagged, not
 * dropped (they come out as successful Results with `valid: false`).
 *
 * A tree whose labelling exceeds `timeoutMs` becomes a failed Result of kind `timeout`
 * (retriable), and a verifier failure one of kind `verifier`; both carry the input tree for the
 * DLQ. Counts `verify.trees`, `verify.invalid_trees`, `verify.relabelled` and `verify.timeouts`
 * (trees), and `verify.verdict_timeouts` (terminals judged "not equal" because the verifier's own
 * bound ran out, e.g. the math verifier's CAS deadline).
 * A timed-out verifier call cannot be cancelled (Verifier has no signal): its result is ignored.
 *
 * @example
 * trees$.pipe(verifyTrees({ concurrency: 4, timeoutMs: 30_000 }, { verifier, metrics }))
 */
export function verifyTrees(config: VerifyTreesConfig, deps: VerifyTreesDeps): OperatorFunction<SearchTree, Result<VerifiedTree, SearchTree>> {
  const scheduler = deps.scheduler ?? asyncScheduler;
  return (trees) =>
    trees.pipe(
      mergeMap(
        (tree) =>
          defer(() => labelTree(tree, deps.verifier, deps.metrics)).pipe(
            timeout({
              first: config.timeoutMs,
              scheduler,
              with: () => throwError(() => new AppError('timeout', `labelling tree ${tree.tree_id} exceeded ${config.timeoutMs} ms`, { retriable: true })),
            }),
            map((verified): Result<VerifiedTree, SearchTree> => {
              deps.metrics?.increment('verify.trees');
              if (!verified.valid) deps.metrics?.increment('verify.invalid_trees');
              if (verified.relabelled > 0) deps.metrics?.increment('verify.relabelled', verified.relabelled);
              return ok(verified);
            }),
            catchError((error: unknown) => {
              if (isProgrammerError(error)) return throwError(() => error);
              const appError = toAppError(error, 'verifier');
              if (appError.kind === 'timeout') deps.metrics?.increment('verify.timeouts');
              return of(fail(appError, tree));
            }),
          ),
        config.concurrency,
      ),
    );
}
