import type { TreeNode } from '../../schemas/searchTree.js';

/** What PUCT reads from a node. */
export type SelectableNode = Pick<TreeNode, 'visits' | 'value_sum' | 'rollout_estimate' | 'prior' | 'expanded'>;

/**
 * Q(s) of a node: `value_sum / visits` once visited; an unvisited node (a child the paper's
 * backup created with N = 0) has Q = its own estimate R (ASTRO-METHOD §2).
 */
export function nodeQ(node: Pick<TreeNode, 'visits' | 'value_sum' | 'rollout_estimate'>): number {
  return node.visits > 0 ? node.value_sum / node.visits : node.rollout_estimate;
}

/**
 * PUCT score of a child (ASTRO-METHOD §2): `Q(c) + c_puct · P(c) · sqrt(N(parent)) / (1 + N(c))`.
 * `virtualVisits` are visits with value 0 of in-flight iterations (virtual loss): they count in
 * N(c) and pull Q(c) down, so concurrent iterations spread out. `parentVisits` includes the
 * parent's own.
 */
export function puctScore(child: SelectableNode, parentVisits: number, cPuct: number, virtualVisits = 0): number {
  const n = child.visits + virtualVisits;
  const q = child.visits > 0 ? child.value_sum / n : virtualVisits > 0 ? 0 : child.rollout_estimate;
  return q + (cPuct * child.prior * Math.sqrt(parentVisits)) / (1 + n);
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
  return rankChildren(nodes, parentId, childIds, cPuct, [])[0];
}

/** Child ids from the highest PUCT score down; equal scores in id order. */
function rankChildren(nodes: readonly SelectableNode[], parentId: number, childIds: readonly number[], cPuct: number, virtual: readonly number[]): number[] {
  const parent = nodes[parentId];
  if (parent === undefined) throw new RangeError(`no node ${parentId}`);
  const parentVisits = parent.visits + (virtual[parentId] ?? 0);
  const scored = childIds.map((id) => {
    const child = nodes[id];
    if (child === undefined) throw new RangeError(`no node ${id}`);
    return { id, score: puctScore(child, parentVisits, cPuct, virtual[id] ?? 0) };
  });
  // Stable sort on score only: ids were ascending, so ties keep the lowest id first.
  return scored.sort((a, b) => b.score - a.score).map((s) => s.id);
}

/** What selection may not enter, and the virtual loss of in-flight iterations. */
export interface SelectionOptions {
  /** Nodes selection must not enter (a leaf being expanded, a spent subtree); default none. */
  readonly blocked?: (id: number) => boolean;
  /** Virtual visits by node id (see {@link puctScore}); default none. */
  readonly virtual?: readonly number[];
}

/**
 * Selection: from the root (id 0), descend by PUCT until a node that is not expanded, or that is
 * expanded but has no children (an empty expansion). When the best child is blocked (or
 * everything below it is), the next best is tried, so the path is the best unblocked one.
 * Returns the path of node ids, root first, or null when every path is blocked.
 */
export function selectPath(
  nodes: readonly SelectableNode[],
  children: readonly (readonly number[])[],
  cPuct: number,
  options: SelectionOptions = {},
): number[] | null {
  const blocked = options.blocked ?? (() => false);
  const virtual = options.virtual ?? [];
  const descend = (id: number, path: number[]): number[] | null => {
    const node = nodes[id];
    if (node === undefined) throw new RangeError(`no node ${id}`);
    if (blocked(id)) return null;
    path.push(id);
    const kids = children[id] ?? [];
    if (!node.expanded || kids.length === 0) return path;
    for (const next of rankChildren(nodes, id, kids, cPuct, virtual)) {
      const found = descend(next, path);
      if (found !== null) return found;
    }
    path.pop();
    return null;
  };
  return descend(0, []);
}

/** Child id lists (ascending) for each node of a flat tree, from the `parent` links. */
export function childrenOf(nodes: readonly Pick<TreeNode, 'id' | 'parent'>[]): number[][] {
  const children: number[][] = nodes.map(() => []);
  for (const node of nodes) {
    if (node.parent >= 0) children[node.parent]?.push(node.id);
  }
  return children;
}
