import { describe, expect, it } from 'vitest';
import { ACTION_COUNT, FEATURE_COUNT } from '../../../domains/countdown/actions.js';
import { alphaZeroTargets } from '../../../operators/rl/alphaZeroTargets.js';
import { combine, smallTree } from './fixtures.js';

const sum = (a: Float32Array): number => a.reduce((s, x) => s + x, 0);

describe('alphaZeroTargets', () => {
  it('uses the children visit distribution as the policy target and "solved below" as the value target', () => {
    const { tree } = smallTree();
    const { examples, unreplayable, lowVisits } = alphaZeroTargets(tree, { visitTemperature: 1, solvedOnly: false, minVisits: 1 });
    expect(unreplayable).toBe(0);
    expect(lowVisits).toBe(0);
    // Non-terminal nodes: root, 2+3, 4-3, 5*4.
    expect(examples).toHaveLength(4);
    const root = examples[0];
    expect(root?.features).toHaveLength(FEATURE_COUNT);
    expect(root?.policyTarget).toHaveLength(ACTION_COUNT);
    const target = root?.policyTarget as Float32Array;
    expect(sum(target)).toBeCloseTo(1, 6);
    expect(target[combine(0, 1, 0)]).toBeCloseTo(4 / 5, 6);
    expect(target[combine(2, 1, 1)]).toBeCloseTo(1 / 5, 6);
    // Every target entry is on a legal action.
    for (let a = 0; a < ACTION_COUNT; a++) if ((target[a] ?? 0) > 0) expect(root?.mask[a]).toBe(1);
    expect(examples.map((e) => e.valueTarget)).toEqual([1, 1, 0, 1]);
    // A leaf with no children teaches only the value head.
    expect(examples[2]?.policyTarget).toBeNull();
  });

  it('sharpens with a visit temperature below 1', () => {
    const { tree } = smallTree();
    const t = alphaZeroTargets(tree, { visitTemperature: 0.5, solvedOnly: false, minVisits: 1 }).examples[0]?.policyTarget as Float32Array;
    expect(t[combine(0, 1, 0)]).toBeCloseTo(16 / 17, 6);
  });

  it('by default trains the policy only where a correct answer was found below', () => {
    const { tree } = smallTree();
    const unsolved = { ...tree, nodes: tree.nodes.map((n) => (n.correct === true ? { ...n, correct: false } : n)), valid: false };
    const { examples } = alphaZeroTargets(unsolved);
    expect(examples.every((e) => e.policyTarget === null && e.valueTarget === 0)).toBe(true);
    expect(alphaZeroTargets(tree).examples.filter((e) => e.policyTarget !== null)).toHaveLength(3); // root, 2+3, 5*4
  });

  it('counts nodes whose steps do not replay instead of guessing', () => {
    const { tree } = smallTree();
    const broken = { ...tree, nodes: tree.nodes.map((n) => (n.id === 1 ? { ...n, step: 'Step 1: 2 + 3 = 6. Remaining: 6, 4.' } : n)) };
    const { unreplayable } = alphaZeroTargets(broken, { solvedOnly: false });
    expect(unreplayable).toBe(2); // node 1 and its child 3
  });
});
