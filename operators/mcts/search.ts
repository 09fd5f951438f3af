import type { Problem } from '../../schemas/problem.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import { searchTreeParallel, type SearchDeps } from './parallelSearch.js';
import type { SearchConfig } from './searchConfig.js';

export type { SearchDeps } from './parallelSearch.js';

/**
 * Runs MCTS on one problem exactly as ASTRO-METHOD §2 and returns the whole tree.
 *
 * - Node 0 is the root (empty step). Its R is the mean verified success of M rollouts from the
 *   problem itself, so Q(root) is defined from the start (`rollouts` = M on the root); that
 *   evaluation is the root's first visit.
 * - Each iteration selects a path by PUCT, expands its last node (k candidate steps, each new
 *   child scored: a terminal by the verifier, others by M rollouts) and backs up: every node on
 *   the path gets exactly one visit and Q(s) = (Σ_children Q(c)·N(c) + R(s)) / (Σ_children N(c) + 1)
 *   (backup.ts). New children start unvisited (N = 0, Q = R) and enter their parent's mean when
 *   first visited. So the root ends with iterations + 1 visits, and below it every expanded node
 *   has `visits = 1 + Σ child visits` and `value_sum = R + Σ child value_sum`.
 * - When selection ends at a node that cannot be expanded (a terminal, a non-terminal at the depth
 *   cap, or a node whose expansion kept no step), the iteration visits it: its first visit brings
 *   its estimate into the tree. A visited one has nothing more to give, and by default
 *   (`exhausted: 'skip'`) selection no longer enters it, nor a subtree made only of such nodes;
 *   when the whole tree is spent the search ends before its budget (`mcts.exhausted_trees`).
 *   With `exhausted: 'revisit'` such nodes are revisited (`mcts.revisits`).
 * - Every sample is seeded by what is sampled (`deriveSeed(seed, problem id, node id, kind)`), and
 *   one problem's search is sequential, so the tree does not depend on concurrency across problems.
 */
export async function searchTree(problem: Problem, config: SearchConfig, deps: SearchDeps): Promise<SearchTree> {
  // The sequential search is the parallel one with one iteration in flight, so there is one
  // implementation of selection, expansion and backup; the hand-worked trees of search.spec.ts
  // pin its behaviour node for node.
  return searchTreeParallel(problem, { ...config, parallelIterations: 1 }, deps);
}
