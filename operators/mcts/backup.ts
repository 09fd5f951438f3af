import type { TreeNode } from '../../schemas/searchTree.js';

/** The node fields a backup writes. */
export type BackupNode = Pick<TreeNode, 'visits' | 'value_sum' | 'rollout_estimate'>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The paper's backup (ASTRO-METHOD §2) after one iteration whose selected path (root first) ended
 * at `path[last]`: every node on the path gets one visit, then, from the leaf up, its value is
 * recomputed from its children as
 *
 *     Q(s) = ( Σ_children Q(c)·N(c) + R(s) ) / ( Σ_children N(c) + 1 )
 *
 * and stored as the sum `value_sum = Q(s)·N(s)`. Unvisited children (N = 0) weigh nothing: a new
 * child enters its parent's mean on its first visit. A node without children has Q = R.
 *
 * Below the root every expanded node was visited exactly once before its children (the iteration
 * that expanded it), so N(s) = 1 + Σ N(c) and value_sum is the plain sum R(s) + Σ value_sum(c).
 * The root is visited once more (its estimate, before any iteration), so its value_sum is Q·N.
 */
export function backupPaper(nodes: readonly Mutable<BackupNode>[], children: readonly (readonly number[])[], path: readonly number[]): void {
  for (const id of path) (nodes[id] as Mutable<BackupNode>).visits += 1;
  for (let i = path.length - 1; i >= 0; i -= 1) {
    const id = path[i] as number;
    const node = nodes[id] as Mutable<BackupNode>;
    let childVisits = 0;
    let childValue = 0;
    for (const c of children[id] ?? []) {
      const child = nodes[c] as BackupNode;
      childVisits += child.visits;
      childValue += child.value_sum;
    }
    node.value_sum = (node.visits * (childValue + node.rollout_estimate)) / (childVisits + 1);
  }
}

/**
 * The backup this project used before the paper's, kept to compare (bench/backupRules.ts) and to
 * describe trees recorded with it: each new child is born with one visit and value R, and its
 * visit and value are added to every ancestor on the path; a revisit of a leaf adds one visit and
 * its R. So `visits = 1 + Σ child visits` and `value_sum = R + Σ child value_sum` at every inner node.
 */
export function backupLegacy(nodes: readonly Mutable<BackupNode>[], path: readonly number[], visits: number, value: number): void {
  for (const id of path) {
    const node = nodes[id] as Mutable<BackupNode>;
    node.visits += visits;
    node.value_sum += value;
  }
}

/** The node fields that decide whether a subtree is spent. */
export type SpendableNode = Pick<TreeNode, 'visits' | 'terminal' | 'expanded' | 'depth'>;

/**
 * Marks which nodes on `path` are spent after an iteration, from the leaf up: a visited terminal,
 * a visited dead end at the depth cap, or an expanded node all of whose children are spent (an
 * expansion that kept no step is spent at once). Unvisited nodes are never spent: their first
 * visit brings their estimate into the parent's mean. `spent` is indexed by node id.
 */
export function markSpent(nodes: readonly SpendableNode[], children: readonly (readonly number[])[], path: readonly number[], maxDepth: number, spent: boolean[]): void {
  for (let i = path.length - 1; i >= 0; i -= 1) {
    const id = path[i] as number;
    const node = nodes[id] as SpendableNode;
    const kids = children[id] ?? [];
    spent[id] =
      node.visits > 0 && (node.terminal || (!node.expanded && node.depth >= maxDepth) || (node.expanded && kids.every((c) => spent[c] === true)));
  }
}
