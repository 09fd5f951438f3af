import { describe, expect, it } from 'vitest';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { HELD_OUT_FRACTION, isHeldOutProblem } from '../../../operators/rl/heldOut.js';
import { heldOutProblems } from '../../../streams/cli/commands/eval.js';

const key = (p: { numbers?: number[]; target?: number }): string => `${[...(p.numbers ?? [])].sort((a, b) => a - b).join(',')}>${p.target}`;

describe('held-out split', () => {
  it('reserves about 10% of problems, by content (same numbers and target → same side)', () => {
    const problems = generateCountdownProblems({ count: 4000, seed: 7, numbers: 4 });
    const share = problems.filter((p) => isHeldOutProblem(p)).length / problems.length;
    expect(share).toBeGreaterThan(HELD_OUT_FRACTION - 0.02);
    expect(share).toBeLessThan(HELD_OUT_FRACTION + 0.02);
    const p = problems[0];
    expect(p).toBeDefined();
    if (p === undefined || p.numbers === undefined) return;
    expect(isHeldOutProblem({ ...p, id: 'other', numbers: [...p.numbers].reverse() })).toBe(isHeldOutProblem(p));
  });

  it("eval's held-out set is disjoint from what training may see", () => {
    const held = heldOutProblems(200, 1, 4);
    expect(held).toHaveLength(200);
    expect(held.every((p) => isHeldOutProblem(p))).toBe(true);
    const trainable = new Set(generateCountdownProblems({ count: 4000, seed: 7, numbers: 4 }).filter((p) => !isHeldOutProblem(p)).map(key));
    expect(held.filter((p) => trainable.has(key(p)))).toHaveLength(0);
  });
});
