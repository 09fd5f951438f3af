import { describe, expect, it } from 'vitest';
import { childrenOf, nodeQ, puctScore, selectChild, selectPath, type SelectableNode } from '../../../operators/mcts/selection.js';

/** A hand-built node: value_sum = q · visits. */
const node = (visits: number, q: number, prior: number, expanded = false): SelectableNode => ({
  visits,
  value_sum: q * visits,
  rollout_estimate: q,
  prior,
  expanded,
});

describe('puctScore', () => {
  it('is Q + c · P · sqrt(N(parent)) / (1 + N(child))', () => {
    expect(puctScore(node(3, 0.5, 0.4), 16, 2)).toBeCloseTo(0.5 + (2 * 0.4 * 4) / 4, 12);
    expect(puctScore(node(1, 1, 1), 9, 0)).toBe(1);
  });
});

describe('nodeQ and unvisited children', () => {
  it('is value_sum / visits once visited, and R for an unvisited child (the paper backup starts children at N = 0)', () => {
    expect(nodeQ({ visits: 4, value_sum: 3, rollout_estimate: 0.1 })).toBe(0.75);
    expect(nodeQ({ visits: 0, value_sum: 0, rollout_estimate: 0.3 })).toBe(0.3);
    // Unvisited: Q = R and the full exploration term c · P · sqrt(N(parent)) / (1 + 0).
    expect(puctScore({ visits: 0, value_sum: 0, rollout_estimate: 0.3, prior: 0.5, expanded: false }, 4, 1)).toBeCloseTo(0.3 + 0.5 * 2, 12);
  });

  it('counts virtual visits as visits with value 0', () => {
    expect(puctScore(node(2, 0.5, 0.5), 9, 1, 2)).toBeCloseTo(1 / 4 + (0.5 * 3) / 5, 12);
  });
});

describe('selectChild', () => {
  it('uses sqrt of the parent visit count (not 1 + Σ children, not N itself)', () => {
    // N(parent) = 4 = 1 + (1 + 2). sqrt(4): c1 = .4 + .5·2/2 = .9 > c2 = .555 + .5·2/3 ≈ .888.
    // sqrt(3) (Σ children only) would give c2; N without the root (linear 4) gives c1 by more.
    const nodes = [node(4, 0.5, 1, true), node(1, 0.4, 0.5), node(2, 0.555, 0.5)];
    expect(selectChild(nodes, 0, [1, 2], 1)).toBe(1);
    const withoutSelf = [node(3, 0.5, 1, true), node(1, 0.4, 0.5), node(2, 0.555, 0.5)];
    expect(selectChild(withoutSelf, 0, [1, 2], 1)).toBe(2);
  });

  it('with c_puct = 0 picks the highest Q', () => {
    const nodes = [node(10, 0.5, 1, true), node(3, 0.3, 0.9), node(3, 0.6, 0.05), node(3, 0.5, 0.05)];
    expect(selectChild(nodes, 0, [1, 2, 3], 0)).toBe(2);
  });

  it('prefers the unexplored high-prior child when Q ties', () => {
    const nodes = [node(10, 0.5, 1, true), node(5, 0.5, 0.5), node(1, 0.5, 0.5)];
    expect(selectChild(nodes, 0, [1, 2], 1)).toBe(2);
  });

  it('breaks exact ties by the lowest node id', () => {
    const nodes = [node(4, 0.5, 1, true), node(1, 0.5, 1 / 3), node(1, 0.5, 1 / 3), node(1, 0.5, 1 / 3)];
    expect(selectChild(nodes, 0, [1, 2, 3], 1)).toBe(1);
    expect(selectChild(nodes, 0, [2, 3], 1)).toBe(2);
  });

  it('returns undefined without children and throws on unknown ids', () => {
    expect(selectChild([node(1, 0, 1)], 0, [], 1)).toBeUndefined();
    expect(() => selectChild([node(1, 0, 1)], 0, [7], 1)).toThrow(RangeError);
  });
});

describe('selectPath', () => {
  // 0 ─┬─ 1 (expanded) ─┬─ 3 (leaf, not expanded)
  //    │                └─ 4
  //    └─ 2 (expanded, no children: empty expansion)
  const parents = [-1, 0, 0, 1, 1];
  const ids = parents.map((parent, id) => ({ id, parent }));

  it('descends by PUCT to a node that is not expanded', () => {
    const nodes = [node(7, 0.5, 1, true), node(5, 0.8, 0.5, true), node(1, 0.1, 0.5, true), node(2, 0.9, 0.5), node(2, 0.6, 0.5)];
    expect(selectPath(nodes, childrenOf(ids), 0)).toEqual([0, 1, 3]);
  });

  it('stops at an expanded node without children', () => {
    const nodes = [node(7, 0.5, 1, true), node(5, 0.1, 0.5, true), node(1, 0.9, 0.5, true), node(2, 0.1, 0.5), node(2, 0.1, 0.5)];
    expect(selectPath(nodes, childrenOf(ids), 0)).toEqual([0, 2]);
  });

  it('stops at the root when it is not expanded', () => {
    expect(selectPath([node(1, 0, 1)], [[]], 1)).toEqual([0]);
  });

  it('falls through to the next best child when a subtree is blocked, and returns null when all are', () => {
    const nodes = [node(7, 0.5, 1, true), node(5, 0.8, 0.5, true), node(1, 0.1, 0.5, true), node(2, 0.9, 0.5), node(2, 0.6, 0.5)];
    expect(selectPath(nodes, childrenOf(ids), 0, { blocked: (id) => id === 3 })).toEqual([0, 1, 4]);
    expect(selectPath(nodes, childrenOf(ids), 0, { blocked: (id) => id === 3 || id === 4 })).toEqual([0, 2]);
    expect(selectPath(nodes, childrenOf(ids), 0, { blocked: (id) => id !== 0 })).toBeNull();
  });
});

describe('childrenOf', () => {
  it('lists children in ascending id order', () => {
    expect(childrenOf([{ id: 0, parent: -1 }, { id: 1, parent: 0 }, { id: 2, parent: 1 }, { id: 3, parent: 0 }])).toEqual([[1, 3], [2], [], []]);
  });
});
