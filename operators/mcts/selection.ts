import type { TreeNode } from '../../schemas/searchTree.js';

/** What PUCT reads from a node. */
export type SelectableNode = Pick<TreeNode, 'visits' | 'value_sum' | 'prior' | 'expanded'>;

/**
 * PUCT score of a child (ASTRO-METHOD §2): `Q(c) + c_puct · P(c) · sqrt(N(parent)) / (1 + N(c))`,
 * with `Q(c) = value_sum / visits` (0 for an unvisited child, which search never creates).
 */
export function puctScore(child: SelectableNode, parentVisits: number, cPuct: number): number {
  const q = child.visits > 0 ? child.value_sum / child.visits : 0;
  return q + (cPuct * child.prior * Math.sqrt(parentVisits)) / (1 + child.visits);
}

/**
 * Picks the child with the highest PUCT score; ties go to the lowest node id. `childIds` must be
 * in ascending id order (search appends children in id order). Returns undefined for no children.
 */
export function selectChild(
  nodes: readonly SelectableNode[],
  parentId: number,
  childIds: readonly number[],
  cPuct: number,
): number | undefined {
  const parent = nodes[parentId];
  if (parent === undefined) throw new RangeError(`no node ${parentId}`);
  let best: number | undefined;
  let bestScore = -Infinity;
  for (const id of childIds) {
    const child = nodes[id];
    if (child === undefined) throw new RangeError(`no node ${id}`);
    const score = puctScore(child, parent.visits, cPuct);
    // Strict `>` keeps the first (lowest id) of equal scores.
    if (score > bestScore) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Selection: from the root (id 0), descend by {@link selectChild} until a node that is not
 * expanded, or that is expanded but has no children (an empty expansion, a dead end from then on).
 * Returns the path of node ids, root first.
 */
export function selectPath(
  nodes: readonly SelectableNode[],
  children: readonly (readonly number[])[],
  cPuct: number,
): number[] {
  const path = [0];
  let current = 0;
  for (;;) {
    const node = nodes[current];
    if (node === undefined) throw new RangeError(`no node ${current}`);
    if (!node.expanded) return path;
    const next = selectChild(nodes, current, children[current] ?? [], cPuct);
    if (next === undefined) return path;
    path.push(next);
    current = next;
  }
}

/** Child id lists (ascending) for each node of a flat tree, from the `parent` links. */
export function childrenOf(nodes: readonly Pick<TreeNode, 'id' | 'parent'>[]): number[][] {
  const children: number[][] = nodes.map(() => []);
  for (const node of nodes) {
    if (node.parent >= 0) children[node.parent]?.push(node.id);
  }
  return children;
}
