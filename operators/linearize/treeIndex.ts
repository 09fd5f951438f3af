import type { TreeNode } from '../../schemas/searchTree.js';
import { nodeQ } from '../mcts/selection.js';

/** Read-only navigation over a tree's flat node array (node `i` has id `i`, root = 0). */
export interface TreeIndex {
  readonly nodes: readonly TreeNode[];
  /** Children of each node, in id order (the order the search created them). */
  readonly children: readonly (readonly number[])[];
  node(id: number): TreeNode;
  /** Node ids from the root to `id`, both included. */
  pathTo(id: number): number[];
  /** Q(s) = value_sum / visits; the rollout estimate for a never-visited node. */
  q(id: number): number;
}

/**
 * Indexes a tree's nodes. Throws RangeError on a malformed tree (ids out of place, a parent that
 * does not exist or a cycle): schema validation upstream makes that a programmer error.
 */
export function indexTree(nodes: readonly TreeNode[]): TreeIndex {
  const children: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    if (n.id !== i) throw new RangeError(`node at index ${i} has id ${n.id}`);
    if (i === 0) {
      if (n.parent !== -1) throw new RangeError('node 0 must be the root (parent -1)');
      return;
    }
    const siblings = children[n.parent];
    if (siblings === undefined || n.parent === i) throw new RangeError(`node ${i} has a missing parent ${n.parent}`);
    siblings.push(i);
  });
  const node = (id: number): TreeNode => {
    const n = nodes[id];
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  };
  const pathTo = (id: number): number[] => {
    const path: number[] = [];
    // A parent chain longer than the tree means a cycle.
    for (let at = id; at !== -1; at = node(at).parent) {
      path.push(at);
      if (path.length > nodes.length) throw new RangeError(`cycle above node ${id}`);
    }
    return path.reverse();
  };
  const q = (id: number): number => nodeQ(node(id));
  return { nodes, children, node, pathTo, q };
}
