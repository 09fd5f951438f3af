import { AppError } from '../common/errors.js';
import type { TreeIndex } from './treeIndex.js';

/** One move of the linearized walk. */
export type SequenceEvent =
  /** Forward to a child of the previous node: its step is written. */
  | { readonly kind: 'step'; readonly node: number }
  /** After a complete wrong solution `from`, return to its ancestor `to` (0 = restart). */
  | { readonly kind: 'backtrack'; readonly from: number; readonly to: number };

/** The node sequence of one trace (ASTRO-METHOD §3.5). */
export interface NodeSequence {
  readonly events: readonly SequenceEvent[];
  /** Node ids in visit order, root first; a backtrack target appears again where we return to it. */
  readonly path: readonly number[];
  /** The wrong terminals in the order they are visited. */
  readonly wrongTerminals: readonly number[];
  /** n*, the correct terminal the sequence ends at. */
  readonly target: number;
  readonly backtracks: number;
}

/**
 * Builds the node sequence for n* = `target` and the chosen wrong terminals: for each terminal in
 * turn (the wrong ones, then n*), append the part of its root→node path not already in the
 * sequence; when that path leaves the sequence, backtrack to the deepest shared ancestor (the
 * branching point; the root means a restart). Backtracks therefore happen only after a complete
 * wrong solution, and the sequence ends at n*.
 *
 * The wrong terminals are visited in depth-first order with n*'s branch explored last. The method
 * leaves their order open; this one makes every branching point an ancestor of the wrong
 * terminal just written (in DFS order the deepest common ancestor with all earlier terminals is
 * the one with the previous terminal), so each backtrack returns up the path the text just took.
 *
 * Throws AppError `linearize` when a chosen terminal lies on another's path (an expanded
 * terminal): no honest backtrack exists there, and the record belongs in the DLQ.
 */
export function nodeSequence(index: TreeIndex, target: number, wrong: readonly number[]): NodeSequence {
  const targetPath = new Set(index.pathTo(target));
  const ordered = orderForWalk(index, targetPath, wrong);
  const visited = new Set<number>([0]);
  const events: SequenceEvent[] = [];
  const path: number[] = [0];
  let current = 0;
  let backtracks = 0;
  for (const terminal of [...ordered, target]) {
    const p = index.pathTo(terminal);
    let firstNew = 0;
    while (firstNew < p.length && visited.has(p[firstNew] as number)) firstNew += 1;
    const branch = p[firstNew - 1];
    if (firstNew === p.length || branch === undefined || (current !== 0 && branch === current)) {
      throw new AppError('linearize', `terminal ${terminal} lies on the path of another chosen terminal (tree has expanded terminals)`);
    }
    if (branch !== current) {
      events.push({ kind: 'backtrack', from: current, to: branch });
      path.push(branch);
      backtracks += 1;
    }
    for (const id of p.slice(firstNew)) {
      events.push({ kind: 'step', node: id });
      path.push(id);
      visited.add(id);
    }
    current = terminal;
  }
  return { events, path, wrongTerminals: ordered, target, backtracks };
}

/** Sorts terminals in depth-first order, where the child leading to n* is always visited last. */
function orderForWalk(index: TreeIndex, targetPath: ReadonlySet<number>, wrong: readonly number[]): number[] {
  const key = (id: number): number => (targetPath.has(id) ? Number.POSITIVE_INFINITY : id);
  const paths = new Map(wrong.map((id) => [id, index.pathTo(id)]));
  return [...wrong].sort((a, b) => {
    const pa = paths.get(a) ?? [];
    const pb = paths.get(b) ?? [];
    for (let i = 0; i < Math.min(pa.length, pb.length); i += 1) {
      const x = pa[i] as number;
      const y = pb[i] as number;
      if (x !== y) return key(x) - key(y);
    }
    return pa.length - pb.length;
  });
}
