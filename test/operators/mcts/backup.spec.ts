import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backupLegacy, backupPaper, markSpent } from '../../../operators/mcts/backup.js';
import { childrenOf, nodeQ } from '../../../operators/mcts/selection.js';
import { checkTreeInvariants } from '../../../operators/mcts/treeInvariants.js';
import type { TreeNode } from '../../../schemas/searchTree.js';

type Node = { -readonly [K in keyof TreeNode]: TreeNode[K] };

const MAX_DEPTH = 4;

const root = (r: number): Node => ({
  id: 0, parent: -1, depth: 0, step: '', prior: 1, visits: 1, value_sum: r, rollout_estimate: r, rollouts: 4,
  terminal: false, expanded: false, answer: null, correct: null,
});

/** One iteration's choices: which child to follow at each level, and what an expansion yields. */
const iterationArb = fc.record({
  picks: fc.array(fc.nat(), { minLength: MAX_DEPTH + 1, maxLength: MAX_DEPTH + 1 }),
  born: fc.array(fc.record({ terminal: fc.boolean(), correct: fc.boolean(), r: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 4 }),
});

/**
 * Runs the paper's backup over any sequence of selections (not only PUCT's: the invariants must
 * not depend on which path is chosen) and expansions, checking after every iteration.
 */
describe('backupPaper (ASTRO-METHOD §2)', () => {
  it('adds exactly one visit along the path, starts children unvisited with Q = R, keeps Q in [0, 1] and the tree sound', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.array(iterationArb, { minLength: 1, maxLength: 40 }), (r0, iterations) => {
        const nodes: Node[] = [root(r0)];
        const spent: boolean[] = [false];
        iterations.forEach((it, t) => {
          const children = childrenOf(nodes);
          const path = [0];
          for (let level = 0; ; level += 1) {
            const at = nodes[path[path.length - 1] as number] as Node;
            const kids = children[at.id] ?? [];
            if (!at.expanded || kids.length === 0) break;
            path.push(kids[(it.picks[level] ?? 0) % kids.length] as number);
          }
          const leaf = nodes[path[path.length - 1] as number] as Node;
          const born: number[] = [];
          if (!leaf.expanded && !leaf.terminal && leaf.depth < MAX_DEPTH) {
            leaf.expanded = true;
            for (const b of it.born) {
              const r = b.terminal ? (b.correct ? 1 : 0) : b.r;
              born.push(nodes.length);
              nodes.push({
                id: nodes.length, parent: leaf.id, depth: leaf.depth + 1, step: `s${nodes.length}`, prior: 1 / it.born.length, visits: 0, value_sum: 0,
                rollout_estimate: r, rollouts: b.terminal ? 0 : 4, terminal: b.terminal, expanded: false, answer: b.terminal ? String(r) : null, correct: b.terminal ? b.correct : null,
              });
              spent.push(false);
            }
          }
          const before = nodes.map((n) => n.visits);
          backupPaper(nodes, childrenOf(nodes), path);
          markSpent(nodes, childrenOf(nodes), path, MAX_DEPTH, spent);
          const onPath = new Set(path);
          nodes.forEach((n, i) => expect(n.visits - (before[i] ?? 0)).toBe(onPath.has(i) ? 1 : 0));
          for (const id of born) {
            const child = nodes[id] as Node;
            expect(child.visits).toBe(0);
            expect(nodeQ(child)).toBe(child.rollout_estimate);
          }
          for (const n of nodes) {
            expect(nodeQ(n)).toBeGreaterThanOrEqual(0);
            expect(nodeQ(n)).toBeLessThanOrEqual(1 + 1e-12);
          }
          expect(checkTreeInvariants({ nodes, settings: { backup: 'paper', max_depth: MAX_DEPTH }, stats: { iterations: t + 1 } })).toEqual([]);
        });
        expect(nodes[0]?.visits).toBe(iterations.length + 1);
      }),
      { numRuns: 200, seed: 1313 },
    );
  });

  it('recomputes Q from the children on the path: a new child enters its parent\'s mean when first visited', () => {
    const nodes: Node[] = [root(0.5)];
    nodes[0] = { ...(nodes[0] as Node), expanded: true };
    nodes.push({ ...root(0.9), id: 1, parent: 0, depth: 1, step: 'a', prior: 0.5, visits: 0, value_sum: 0, rollout_estimate: 0.9 });
    nodes.push({ ...root(0), id: 2, parent: 0, depth: 1, step: 'b', prior: 0.5, visits: 0, value_sum: 0, rollout_estimate: 0.1 });
    const children = childrenOf(nodes);
    backupPaper(nodes, children, [0]); // the root's expansion: its children weigh nothing yet
    expect(nodes[0]).toMatchObject({ visits: 2 });
    expect(nodeQ(nodes[0] as Node)).toBeCloseTo(0.5, 12);
    backupPaper(nodes, children, [0, 1]); // first visit of child 1 (R .9)
    expect(nodeQ(nodes[1] as Node)).toBeCloseTo(0.9, 12);
    expect(nodeQ(nodes[0] as Node)).toBeCloseTo((0.9 * 1 + 0.5) / (1 + 1), 12);
    expect(nodes[0]?.visits).toBe(3);
  });
});

describe('backupLegacy', () => {
  it('adds the given visits and value to every node on the path', () => {
    const nodes: Node[] = [root(0.5), { ...root(0.2), id: 1, parent: 0, depth: 1, step: 'a', value_sum: 0.2 }];
    backupLegacy(nodes, [0, 1], 3, 1.5);
    expect(nodes.map((n) => [n.visits, n.value_sum])).toEqual([[4, 2], [4, 1.7]]);
  });
});

describe('markSpent', () => {
  it('spends visited terminals and dead ends, then parents whose children are all spent; never unvisited nodes', () => {
    const base = { step: 's', prior: 0.5, value_sum: 0, rollout_estimate: 0, rollouts: 0, answer: null, correct: null };
    const nodes: Node[] = [
      { ...root(0), expanded: true, visits: 3 },
      { ...base, id: 1, parent: 0, depth: 1, visits: 1, terminal: true, expanded: false, correct: false, answer: '1' },
      { ...base, id: 2, parent: 0, depth: 1, visits: 0, terminal: true, expanded: false, correct: true, answer: '2' },
    ];
    const spent = [false, false, false];
    markSpent(nodes, childrenOf(nodes), [0, 1], 3, spent);
    expect(spent).toEqual([false, true, false]);
    (nodes[2] as Node).visits = 1;
    markSpent(nodes, childrenOf(nodes), [0, 2], 3, spent);
    expect(spent).toEqual([true, true, true]);
  });
});
