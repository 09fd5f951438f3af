import { catchError, defer, map, mergeMap, of, throwError, type ObservableInput, type OperatorFunction } from 'rxjs';
import type { Problem } from '../../schemas/problem.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import { AppError, isProgrammerError } from '../common/errors.js';
import { fail, ok, type Result } from '../common/result.js';
import { searchTree, type SearchDeps } from './search.js';
import type { SearchConfig } from './searchConfig.js';

/** How many problems are searched at once, and with which knobs. */
export interface SearchProblemsConfig {
  readonly search: SearchConfig;
  /** Problems in flight at once (mergeMap bound); the rest are buffered upstream. */
  readonly concurrency: number;
}

/** {@link SearchDeps}, plus an optional replacement for the search itself (marble tests). */
export interface SearchProblemsDeps extends SearchDeps {
  /** Defaults to {@link searchTree}; a synchronous fake makes virtual-time tests possible. */
  readonly search?: (problem: Problem, config: SearchConfig, deps: SearchDeps) => ObservableInput<SearchTree>;
}

/**
 * Searches each problem (MCTS, {@link searchTree}) with at most `concurrency` in flight; trees
 * come out in completion order. A failed search is a failed Result carrying the problem (for the
 * DLQ or a retry): an AppError keeps its kind and `retriable`; anything else becomes
 * `kind: 'policy'`, retriable when the error says `retriable: true`. Programmer errors
 * (TypeError, RangeError, ...) are rethrown so the stage stops with offsets uncommitted.
 *
 * @example problems$.pipe(searchProblems({ search: DEFAULT_SEARCH_CONFIG, concurrency: 8 }, { policy, verifier, clock }))
 */
export function searchProblems(
  config: SearchProblemsConfig,
  deps: SearchProblemsDeps,
): OperatorFunction<Problem, Result<SearchTree, Problem>> {
  const { search = searchTree, ...searchDeps } = deps;
  return (problems) =>
    problems.pipe(
      mergeMap(
        (problem) =>
          defer(() => search(problem, config.search, searchDeps)).pipe(
            map((tree): Result<SearchTree, Problem> => ok(tree)),
            catchError((error: unknown) =>
              isProgrammerError(error) ? throwError(() => error) : of(fail(toSearchError(error), problem)),
            ),
          ),
        config.concurrency,
      ),
    );
}

function toSearchError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const retriable =
    typeof error === 'object' && error !== null && 'retriable' in error && (error as { retriable: unknown }).retriable === true;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('policy', `search failed: ${message}`, { retriable, cause: error });
}
