import { describe, expect, it } from 'vitest';
import { nodeSequence } from '../../../operators/linearize/nodeSequence.js';
import { collectTerminals } from '../../../operators/linearize/terminals.js';
import { indexTree } from '../../../operators/linearize/treeIndex.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import { buildTree, testVerifier } from '../../helpers/treeArbitraries.js';

// 0 ─┬─ 1 A ─┬─ 2 B ── 3 \boxed{5} (wrong)
//    │       └─ 4 C ── 5 \boxed{3} (n*)
//    └─ 6 D ── 7 \boxed{4} (wrong)
const tree = buildTree([
  { step: 'Step A.', children: [{ step: 'Step B.', children: [{ step: 'So \\boxed{5}.' }] }, { step: 'Step C.', children: [{ step: 'So \\boxed{3}.' }] }] },
  { step: 'Step D.', children: [{ step: 'So \\boxed{4}.' }] },
]);
const index = indexTree(tree.nodes);

describe('treeIndex and terminals', () => {
  it('walks depth-first for Ψ and Λ', async () => {
    const sets = collectTerminals(indexTree((await labelTree(tree, testVerifier)).nodes));
    expect(sets.correct.map((n) => n.id)).toEqual([5]);
    expect(sets.incorrect.map((n) => n.id)).toEqual([3, 7]);
  });

  it('gives root paths, children and Q', () => {
    expect(index.pathTo(5)).toEqual([0, 1, 4, 5]);
    expect(index.children[1]).toEqual([2, 4]);
    // Q(C) = (R(C) + 1) / 2 with R = 0.5
    expect(index.q(4)).toBeCloseTo(0.75, 12);
  });

  it('rejects malformed trees', () => {
    const bad = tree.nodes.map((n) => (n.id === 3 ? { ...n, parent: 42 } : n));
    expect(() => indexTree(bad)).toThrow(RangeError);
  });
});

describe('nodeSequence', () => {
  it('direct: the root→n* path, no backtrack', () => {
    const s = nodeSequence(index, 5, []);
    expect(s.path).toEqual([0, 1, 4, 5]);
    expect(s.backtracks).toBe(0);
    expect(s.events).toEqual([{ kind: 'step', node: 1 }, { kind: 'step', node: 4 }, { kind: 'step', node: 5 }]);
  });

  it('one wrong terminal sharing a prefix: backtrack to the branching point, shared prefix written once', () => {
    const s = nodeSequence(index, 5, [3]);
    expect(s.path).toEqual([0, 1, 2, 3, 1, 4, 5]);
    expect(s.events).toContainEqual({ kind: 'backtrack', from: 3, to: 1 });
    expect(s.backtracks).toBe(1);
  });

  it('a wrong terminal in another branch: restart at the root', () => {
    const s = nodeSequence(index, 5, [7]);
    expect(s.path).toEqual([0, 6, 7, 0, 1, 4, 5]);
    expect(s.events[2]).toEqual({ kind: 'backtrack', from: 7, to: 0 });
  });

  it('orders wrong terminals depth-first with n*’s branch last, whatever order they were picked in', () => {
    for (const wrong of [[3, 7], [7, 3]]) {
      const s = nodeSequence(index, 5, wrong);
      expect(s.wrongTerminals).toEqual([7, 3]);
      expect(s.path).toEqual([0, 6, 7, 0, 1, 2, 3, 1, 4, 5]);
      expect(s.backtracks).toBe(2);
    }
  });

  it('refuses a chosen terminal on another chosen terminal’s path', () => {
    const expanded = buildTree([{ step: 'So \\boxed{4}.', children: [{ step: 'So \\boxed{3}.' }] }]);
    expect(() => nodeSequence(indexTree(expanded.nodes), 2, [1])).toThrow(expect.objectContaining({ kind: 'linearize' }));
    expect(() => nodeSequence(index, 5, [3, 3])).toThrow(expect.objectContaining({ kind: 'linearize' }));
  });
});
