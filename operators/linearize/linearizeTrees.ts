import { mergeMap, type OperatorFunction } from 'rxjs';
import { attempt, type Result } from '../common/result.js';
import type { Trace } from '../../schemas/trace.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import type { LinearizeConfig } from './linearizeConfig.js';
import { linearizeTree, type LinearizeTreeDeps } from './linearizeTree.js';

/** Linearizer settings plus how many trees to work on at once (not part of the config hash). */
export type LinearizeTreesConfig = LinearizeConfig & {
  /** Trees in flight; > 1 may reorder outputs. Default 1. */
  readonly concurrency?: number;
};

/**
 * Turns verified trees into traces, one Result per tree: `ok([])` for an invalid tree (counted by
 * {@link linearizeTree}), a failed Result of kind `linearize` (or the verifier's kind) carrying
 * the tree when it cannot be linearized, e.g. an expanded terminal or a verifier that throws.
 *
 * @example
 * verified$.pipe(linearizeTrees({ ...defaultLinearizeConfig, seed: 7 }, { domain, verifier: domain.verifier, metrics }))
 */
export function linearizeTrees(config: LinearizeTreesConfig, deps: LinearizeTreeDeps): OperatorFunction<VerifiedTree, Result<Trace[], VerifiedTree>> {
  const { concurrency = 1, ...linearize } = config;
  return (trees) => trees.pipe(mergeMap((tree) => attempt(() => linearizeTree(tree, linearize, deps), 'linearize', tree), concurrency));
}
