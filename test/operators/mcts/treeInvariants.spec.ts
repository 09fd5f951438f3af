import { describe, expect, it } from 'vitest';
import { checkTreeInvariants } from '../../../operators/mcts/treeInvariants.js';
import type { TreeNode } from '../../../schemas/searchTree.js';

const n = (over: Partial<TreeNode> & Pick<TreeNode, 'id' | 'parent' | 'depth'>): TreeNode => ({
  step: over.parent === -1 ? '' : `s${over.id}`,
  prior: 0.5,
  visits: 1,
  value_sum: 0,
  rollout_estimate: 0,
  rollouts: 0,
  terminal: false,
  expanded: false,
  answer: null,
  correct: null,
  ...over,
});

/** root (R .5) -> 1 (R .5, rolled out) and 2 (terminal, correct, revisited once). */
const sound = (): TreeNode[] => [
  n({ id: 0, parent: -1, depth: 0, prior: 1, visits: 4, value_sum: 0.5 + 0.5 + 2, rollout_estimate: 0.5, rollouts: 4, expanded: true }),
  n({ id: 1, parent: 0, depth: 1, visits: 1, value_sum: 0.5, rollout_estimate: 0.5, rollouts: 4 }),
  n({ id: 2, parent: 0, depth: 1, visits: 2, value_sum: 2, rollout_estimate: 1, terminal: true, answer: '7', correct: true }),
];

const withNode = (i: number, over: Partial<TreeNode>): TreeNode[] => sound().map((x) => (x.id === i ? { ...x, ...over } : x));

describe('checkTreeInvariants', () => {
  it('accepts a sound tree', () => {
    expect(checkTreeInvariants({ nodes: sound() })).toEqual([]);
  });

  it.each([
    ['visits identity', withNode(0, { visits: 5 }), /visits 5 != 1 \+ Σ children visits = 4/],
    ['value_sum identity', withNode(0, { value_sum: 2.9 }), /value_sum 2.9 != R \+ Σ children value_sum/],
    ['leaf value_sum = R · visits', withNode(2, { value_sum: 1.5, visits: 2 }), /leaf value_sum 1.5 != R · visits = 2/],
    ['Q above 1', withNode(1, { value_sum: 1.5, rollout_estimate: 1.5 }), /R 1.5 outside|Q 1.5 outside/],
    ['depth', withNode(1, { depth: 2 }), /node 1: depth 2 but parent depth 0/],
    ['parent order', withNode(1, { parent: 2 }), /node 1: parent 2 is not an earlier node/],
    ['terminal answer', withNode(2, { answer: null }), /terminal without an answer/],
    ['terminal verdict', withNode(2, { correct: null }), /terminal without a verdict/],
    ['terminal expanded', withNode(2, { expanded: true }), /terminal marked expanded/],
    ['sibling priors', withNode(1, { prior: 0.2 }), /children priors sum to 0.7/],
    ['children of an unexpanded node', withNode(0, { expanded: false }), /has children but is not expanded/],
    ['root shape', withNode(0, { step: 'x' }), /node 0 must be the root/],
    ['ids are indices', withNode(1, { id: 5 }), /node at index 1 has id 5/],
  ])('reports %s', (_name, nodes, message) => {
    const errors = checkTreeInvariants({ nodes });
    expect(errors.some((e) => message.test(e)), errors.join('\n')).toBe(true);
  });

  it('reports terminals with children', () => {
    const nodes = [
      ...withNode(2, { visits: 3, value_sum: 2.5 }).map((x) => (x.id === 0 ? { ...x, visits: 5, value_sum: 3.5 } : x)),
      n({ id: 3, parent: 2, depth: 2, prior: 1, visits: 1, value_sum: 0.5, rollout_estimate: 0.5 }),
    ];
    expect(checkTreeInvariants({ nodes })).toContain('node 2: terminal with children');
  });

  it('accepts an unparseable terminal judged wrong, and tolerates float error', () => {
    const nodes = withNode(2, { answer: null, correct: false, rollout_estimate: 0, value_sum: 0 }).map((x) =>
      x.id === 0 ? { ...x, value_sum: 1 + 1e-13 } : x,
    );
    expect(checkTreeInvariants({ nodes })).toEqual([]);
  });

  it('rejects an empty tree', () => {
    expect(checkTreeInvariants({ nodes: [] })).toEqual(['tree has no nodes']);
  });
});

describe('checkTreeInvariants with the paper backup', () => {
  // Root (R .5) visited at creation, expanded by it1; it2 visited 1 (R .5) for the first time and
  // expanded it; 2 (a correct terminal) was never visited. So N(root) = 3 = iterations + 1.
  const settings = { backup: 'paper' as const, max_depth: 5 };
  const paperTree = (): TreeNode[] => [
    n({ id: 0, parent: -1, depth: 0, prior: 1, visits: 3, value_sum: 3 * ((0.5 + 0.5) / 2), rollout_estimate: 0.5, rollouts: 4, expanded: true }),
    n({ id: 1, parent: 0, depth: 1, visits: 1, value_sum: 0.5, rollout_estimate: 0.5, rollouts: 4, expanded: true }),
    n({ id: 2, parent: 0, depth: 1, visits: 0, value_sum: 0, rollout_estimate: 1, terminal: true, answer: '7', correct: true }),
    n({ id: 3, parent: 1, depth: 2, prior: 1, visits: 0, value_sum: 0, rollout_estimate: 0.25, rollouts: 4 }),
  ];
  const paperWith = (i: number, over: Partial<TreeNode>): TreeNode[] => paperTree().map((x) => (x.id === i ? { ...x, ...over } : x));

  it('accepts a sound tree, whose legacy reading would not be', () => {
    expect(checkTreeInvariants({ nodes: paperTree(), settings, stats: { iterations: 2 } })).toEqual([]);
    expect(checkTreeInvariants({ nodes: paperTree() }).length).toBeGreaterThan(0);
  });

  it.each([
    ['root visits = iterations + 1', paperTree(), { iterations: 3 }, /root visits 3 != iterations \+ 1 = 4/],
    ['visits below the root', paperWith(1, { visits: 2, value_sum: 1 }), { iterations: 2 }, /node 1: visits 2 != 1 \+ Σ children visits = 1/],
    ['root visits identity', paperWith(0, { visits: 4, value_sum: 2 }), undefined, /node 0: visits 4 != 2 \+ Σ children visits = 3/],
    ["the paper's Q", paperWith(0, { value_sum: 2.1 }), { iterations: 2 }, /node 0: Q 0.7\d* != \(R \+ Σ children value_sum\) \/ \(1 \+ Σ children visits\) = 0.5/],
    ['an unvisited node has no value', paperWith(3, { value_sum: 0.25 }), { iterations: 2 }, /node 3: unvisited with value_sum 0.25/],
    ['an unvisited node is not expanded', paperWith(2, { terminal: false, answer: null, correct: null, expanded: true }), { iterations: 2 }, /node 2: unvisited but expanded/],
    ['a visited open leaf', paperWith(3, { visits: 1, value_sum: 0.25 }).map((x) => (x.id === 1 ? { ...x, visits: 2, value_sum: 0.75 } : x.id === 0 ? { ...x, visits: 4, value_sum: 4 * (1.25 / 3) } : x)), { iterations: 3 }, /node 3: visited but neither expanded, terminal nor at the depth cap/],
  ])('reports %s', (_name, nodes, stats, message) => {
    const errors = checkTreeInvariants({ nodes, settings, ...(stats === undefined ? {} : { stats }) });
    expect(errors.some((e) => message.test(e)), errors.join('\n')).toBe(true);
  });
});
