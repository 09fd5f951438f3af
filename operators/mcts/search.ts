import type { Problem } from '../../schemas/problem.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { Metrics } from '../common/metrics.js';
import type { Verifier } from '../verify/verifier.js';
import { searchTreeParallel } from './parallelSearch.js';
import type { Policy } from './policy.js';
import type { SearchConfig } from './searchConfig.js';

/** Capabilities the search needs; all injected (STYLE.md). */
export interface SearchDeps {
  readonly policy: Policy;
  readonly verifier: Verifier;
  /** Epoch ms; stamps `created_at` and measures `duration_ms`. */
  readonly clock: () => number;
  readonly metrics?: Metrics;
}

/**
 * Runs MCTS on one problem exactly as ASTRO-METHOD §2 and returns the whole tree.
 *
 * - Node 0 is the root (empty step). Its R is the mean verified success of M rollouts from the
 *   problem itself, so Q(root) is defined from the start (`rollouts` = M on the root).
 * - Every node keeps sums: for a node with children `visits = 1 + Σ child visits` and
 *   `value_sum = R + Σ child value_sum`. Expanding a node adds each new child (visits 1,
 *   value_sum R) and adds those totals to every ancestor.
 * - When selection ends at a node that cannot be expanded (a terminal, a non-terminal at the depth
 *   cap, or a node whose expansion kept no step), the iteration is spent revisiting it: that node
 *   and its ancestors get visits += 1 and value_sum += its R. Such nodes stay leaves, so for a
 *   leaf `value_sum = R · visits`, and the identities above still hold for every inner node.
 * - Every sample is seeded by what is sampled (`deriveSeed(seed, problem id, node id, kind)`), and
 *   one problem's search is sequential, so the tree does not depend on concurrency across problems.
 */
export async function searchTree(problem: Problem, config: SearchConfig, deps: SearchDeps): Promise<SearchTree> {
  // The sequential search is the parallel one with one iteration in flight, so there is one
  // implementation of selection, expansion and backup; the hand-worked trees of search.spec.ts
  // pin its behaviour node for node.
  return searchTreeParallel(problem, { ...config, parallelIterations: 1 }, deps);
}
