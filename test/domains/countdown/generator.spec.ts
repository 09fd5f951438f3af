import { describe, expect, it } from 'vitest';
import { ANSWER_OFFSET, ACTION_COUNT, initialState, legalMask, replaySteps, type CountdownState } from '../../../domains/countdown/actions.js';
import { COUNTDOWN_POOL, generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { judgeCountdown } from '../../../domains/countdown/verifier.js';
import { STEP_DELIMITER } from '../../../operators/mcts/policy.js';
import { Problem } from '../../../schemas/problem.js';

// Independent brute force over Countdown rules (positive integer intermediates), not the action module.
const solvable = (numbers: readonly number[], target: number): boolean => {
  if (numbers.includes(target)) return true;
  for (let i = 0; i < numbers.length; i++) {
    for (let j = 0; j < numbers.length; j++) {
      if (i === j) continue;
      const a = numbers[i] ?? 0;
      const b = numbers[j] ?? 0;
      const rest = numbers.filter((_, k) => k !== i && k !== j);
      const results = [a + b, a * b, a - b, b !== 0 && a % b === 0 ? a / b : -1].filter((v) => v > 0);
      for (const v of results) if (solvable([v, ...rest], target)) return true;
    }
  }
  return false;
};

describe('generateCountdownProblems', () => {
  it('is deterministic and prefix-stable', () => {
    const a = generateCountdownProblems({ count: 20, seed: 42 });
    const b = generateCountdownProblems({ count: 20, seed: 42 });
    const c = generateCountdownProblems({ count: 35, seed: 42 });
    expect(b).toEqual(a);
    expect(c.slice(0, 20)).toEqual(a);
    const other = generateCountdownProblems({ count: 20, seed: 43 });
    expect(other.map((p) => p.id)).not.toEqual(a.map((p) => p.id));
    expect(new Set(c.map((p) => p.id)).size).toBe(35);
    // Settings are part of the id: same seed and index, different difficulty, different problem.
    expect(generateCountdownProblems({ count: 1, seed: 42, numbers: 5 })[0]?.id).not.toBe(a[0]?.id);
  });

  it('produces valid records with the documented fields', () => {
    for (const p of generateCountdownProblems({ count: 30, seed: 1, numbers: 4 })) {
      expect(Problem.parse(p)).toEqual(p);
      expect(p.domain).toBe('countdown');
      expect(p.source).toBe('countdown-generator');
      expect(p.id).toMatch(/^countdown_[0-9a-f]{24}$/);
      expect(p.numbers).toHaveLength(4);
      expect(p.difficulty).toBe(4);
      expect(p.answer).toBe(String(p.target));
      expect(p.target).toBeGreaterThanOrEqual(10);
      expect(p.target).toBeLessThanOrEqual(999);
      expect(p.numbers).not.toContain(p.target);
      expect(p.question).toBe(`Using the numbers ${p.numbers?.join(', ')}, make ${p.target}. You may use +, -, *, / and each number at most once.`);
      // Drawn without replacement from the card pool: no card used more often than it exists.
      for (const n of p.numbers ?? []) {
        expect((p.numbers ?? []).filter((m) => m === n).length).toBeLessThanOrEqual(COUNTDOWN_POOL.filter((m) => m === n).length);
      }
    }
  });

  it('guarantees a solution: the stored one verifies and its steps replay', () => {
    for (const numbers of [3, 4, 5, 6]) {
      for (const p of generateCountdownProblems({ count: 40, seed: 9, numbers })) {
        const meta = JSON.parse(p.meta_json ?? '{}') as { solution?: string };
        const verdict = judgeCountdown(p.numbers ?? [], p.target ?? -1, `\\boxed{${meta.solution ?? ''}}`);
        expect(verdict.reason).toBeUndefined();
        expect(verdict.correct).toBe(true);
        const steps = (p.solution ?? '').split(STEP_DELIMITER);
        const state = replaySteps(p, steps);
        if ('error' in state) throw new Error(state.error);
        expect(state.answered).toBe(meta.solution);
        expect(judgeCountdown(p.numbers ?? [], p.target ?? -1, steps.at(-1) ?? '').correct).toBe(true);
        // At least max(2, n - 1) numbers are used.
        expect(steps.length - 1).toBeGreaterThanOrEqual(Math.max(1, numbers - 2));
      }
    }
  });

  it('is confirmed solvable by an independent brute-force solver (small n)', () => {
    const problems = [...generateCountdownProblems({ count: 60, seed: 3, numbers: 3 }), ...generateCountdownProblems({ count: 30, seed: 3, numbers: 4 })];
    for (const p of problems) expect(solvable(p.numbers ?? [], p.target ?? -1), p.question).toBe(true);
  });

  it('honours target ranges and defaults per difficulty', () => {
    for (const p of generateCountdownProblems({ count: 30, seed: 5, numbers: 3 })) expect(p.target).toBeLessThanOrEqual(100);
    for (const p of generateCountdownProblems({ count: 30, seed: 5, numbers: 6 })) {
      expect(p.target).toBeGreaterThanOrEqual(100);
      expect(p.target).toBeLessThanOrEqual(999);
    }
    for (const p of generateCountdownProblems({ count: 30, seed: 5, numbers: 5, targetMin: 500, targetMax: 600 })) {
      expect(p.target).toBeGreaterThanOrEqual(500);
      expect(p.target).toBeLessThanOrEqual(600);
    }
  });

  it('rejects bad settings with config errors', () => {
    expect(() => generateCountdownProblems({ count: 1, seed: 1, numbers: 2 })).toThrow(/numbers must be 3–6/);
    expect(() => generateCountdownProblems({ count: 1, seed: 1, numbers: 7 })).toThrow(/numbers must be 3–6/);
    expect(() => generateCountdownProblems({ count: -1, seed: 1 })).toThrow(/count/);
    expect(() => generateCountdownProblems({ count: 1, seed: 1, targetMin: 50, targetMax: 10 })).toThrow(/targetMin/);
    // Unreachable: three numbers from the pool can never make a million.
    expect(() => generateCountdownProblems({ count: 1, seed: 1, numbers: 3, targetMin: 1_000_000, targetMax: 2_000_000 })).toThrow(/no countdown problem/);
    expect(generateCountdownProblems({ count: 0, seed: 1 })).toEqual([]);
  });

  it('leaves the search something to do: the initial state is not already answered correctly', () => {
    for (const p of generateCountdownProblems({ count: 20, seed: 11, numbers: 6 })) {
      const s: CountdownState = initialState(p);
      const mask = new Float32Array(ACTION_COUNT);
      expect(legalMask(s, mask)).toBeGreaterThan(6);
      // No given number is the target, so nothing may be boxed before a combine.
      for (let k = 0; k < 6; k++) expect(mask[ANSWER_OFFSET + k]).toBe(0);
      expect(p.numbers).not.toContain(p.target);
    }
  });
});
