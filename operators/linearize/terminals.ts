import type { TreeNode } from '../../schemas/searchTree.js';
import type { TreeIndex } from './treeIndex.js';

/** Terminal sets of a labelled tree (ASTRO-METHOD §3.1). */
export interface TerminalSets {
  /** Ψ: correct terminals, in depth-first order. */
  readonly correct: readonly TreeNode[];
  /** Λ: incorrect terminals, in depth-first order. */
  readonly incorrect: readonly TreeNode[];
}

/**
 * Depth-first walk of the tree collecting correct terminals Ψ and incorrect terminals Λ. Only tree
 * nodes count, never rollouts (§7.5); a terminal whose verdict is unknown (`correct: null`) is in
 * neither set.
 */
export function collectTerminals(index: TreeIndex): TerminalSets {
  const correct: TreeNode[] = [];
  const incorrect: TreeNode[] = [];
  if (index.nodes.length === 0) return { correct, incorrect };
  // Explicit stack: a depth-50 chain is fine for recursion, but trees from files may be deeper.
  const stack: number[] = [0];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    const n = index.node(id);
    if (n.terminal && n.correct === true) correct.push(n);
    else if (n.terminal && n.correct === false) incorrect.push(n);
    const kids = index.children[id] ?? [];
    stack.push(...[...kids].reverse());
  }
  return { correct, incorrect };
}
