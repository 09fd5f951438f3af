import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTION_COUNT,
  ANSWER_OFFSET,
  FEATURE_COUNT,
  MAX_NUMBERS,
  OPS,
  applyAction,
  canAnswer,
  encodeState,
  initialState,
  isLegalAction,
  legalMask,
  replaySteps,
  stepToAction,
  type CountdownState,
} from '../../../domains/countdown/actions.js';
import { evaluateExpression } from '../../../domains/countdown/expression.js';
import type { Problem } from '../../../schemas/problem.js';

const problem = (numbers: number[], target: number): Problem => ({
  id: 'p',
  domain: 'countdown',
  source: 'test',
  question: 'q',
  answer: String(target),
  numbers,
  target,
});

const combine = (i: number, j: number, op: number): number => (i * MAX_NUMBERS + j) * 4 + op;

const legalActions = (state: CountdownState): number[] => {
  const mask = new Float32Array(ACTION_COUNT);
  legalMask(state, mask);
  return [...mask.keys()].filter((a) => mask[a] === 1);
};

const expectConsistent = (state: CountdownState): void => {
  expect(state.exprs).toHaveLength(state.numbers.length);
  state.exprs.forEach((expr, k) => {
    const r = evaluateExpression(expr, { maxLength: 10_000 });
    expect(r.ok, expr).toBe(true);
    if (r.ok) expect(r.value).toEqual({ num: BigInt(state.numbers[k] ?? -1), den: 1n });
  });
};

describe('action space constants', () => {
  it('matches the agreed layout', () => {
    expect(MAX_NUMBERS).toBe(6);
    expect(OPS).toEqual(['+', '-', '*', '/']);
    expect(ANSWER_OFFSET).toBe(144);
    expect(ACTION_COUNT).toBe(150);
    expect(combine(5, 5, 3)).toBe(143);
    expect(combine(0, 1, 2)).toBe(6);
  });
});

describe('legalMask', () => {
  it('applies the canonical-order, positivity and divisibility rules', () => {
    const s = initialState(problem([75, 25, 2, 8], 100));
    const mask = new Float32Array(ACTION_COUNT + 10).fill(7);
    const count = legalMask(s, mask, 5);
    const at = (a: number): number => mask[5 + a] ?? -1;
    expect(mask[4]).toBe(7); // untouched before offset
    expect(mask[5 + ACTION_COUNT]).toBe(7); // untouched after
    expect(at(combine(0, 1, 0))).toBe(1); // 75 + 25
    expect(at(combine(1, 0, 0))).toBe(0); // 25 + 75 duplicates it
    expect(at(combine(0, 1, 2))).toBe(1);
    expect(at(combine(1, 0, 2))).toBe(0);
    expect(at(combine(0, 1, 1))).toBe(1); // 75 - 25
    expect(at(combine(1, 0, 1))).toBe(0); // 25 - 75 < 0
    expect(at(combine(0, 1, 3))).toBe(1); // 75 / 25
    expect(at(combine(0, 3, 3))).toBe(0); // 75 / 8 not integral
    expect(at(combine(3, 2, 3))).toBe(1); // 8 / 2
    expect(at(combine(0, 0, 0))).toBe(0); // i = j
    expect(at(combine(0, 4, 0))).toBe(0); // empty slot
    // No slot is 100 and four numbers are left: boxing any of them would be a give-up, not an attempt.
    for (let p = 0; p < 6; p++) expect(at(ANSWER_OFFSET + p)).toBe(0);
    // 6 pairs × (+, *) = 12; '-' for 6 pairs (all distinct) = 6; '/': 75/25, 8/2 = 2; no answers.
    expect(count).toBe(12 + 6 + 2);
    expect(legalActions(s)).toHaveLength(count);
  });

  it('forbids division by 1 and equal subtraction, allows *1', () => {
    const s = initialState(problem([7, 1, 7], 10));
    expect(isLegalAction(s, combine(0, 1, 3))).toBe(false);
    expect(isLegalAction(s, combine(0, 2, 1))).toBe(false);
    expect(isLegalAction(s, combine(0, 1, 2))).toBe(true);
    expect(isLegalAction(s, combine(0, 2, 3))).toBe(true); // 7 / 7
  });

  it('answers only a claimed solution: a slot holding the target, or the last number left', () => {
    const s = initialState(problem([75, 25, 2, 100], 100));
    expect([0, 1, 2, 3].map((p) => isLegalAction(s, ANSWER_OFFSET + p))).toEqual([false, false, false, true]);
    expect([0, 1, 2, 3].map((p) => canAnswer(s, p))).toEqual([false, false, false, true]);
    // Combined down to one number that misses the target: boxing it is a complete (wrong) attempt.
    const last = applyAction(applyAction(initialState(problem([3, 4, 5], 50)), combine(0, 1, 0)).state, combine(0, 1, 2)).state;
    expect(last.numbers).toEqual([35]);
    expect(legalActions(last)).toEqual([ANSWER_OFFSET]);
    expect(applyAction(last, ANSWER_OFFSET).step).toBe('Step 3: 35 = (3+4)*5. The answer is \\boxed{(3+4)*5}.');
  });

  it('always has a legal move before the answer, and nothing once answered', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 200 }), fc.array(fc.nat(), { maxLength: 8 }), (numbers, target, picks) => {
        let s = initialState(problem(numbers, target));
        for (const pick of picks) {
          const legal = legalActions(s);
          if (s.answered !== null) {
            expect(legal).toEqual([]);
            return;
          }
          expect(legal.length).toBeGreaterThan(0);
          s = applyAction(s, legal[pick % legal.length] ?? -1).state;
        }
      }),
      { numRuns: 300, seed: 13 },
    );
    const s = applyAction(initialState(problem([3, 4], 7)), combine(0, 1, 0)).state;
    const answered = applyAction(s, ANSWER_OFFSET).state;
    expect(legalActions(answered)).toEqual([]);
    expect(legalMask(answered, new Float32Array(ACTION_COUNT))).toBe(0);
  });
});

describe('applyAction', () => {
  it('renders combine and answer steps exactly', () => {
    const p = problem([75, 25, 2, 8], 100);
    const a = applyAction(initialState(p), combine(0, 1, 1));
    expect(a.step).toBe('Step 1: 75 - 25 = 50. Remaining: 50, 2, 8.');
    expect(a.terminal).toBe(false);
    expect(a.state).toEqual({ numbers: [50, 2, 8], exprs: ['75-25', '2', '8'], target: 100, step: 1, answered: null });
    const b = applyAction(a.state, combine(0, 1, 2));
    expect(b.step).toBe('Step 2: 50 * 2 = 100. Remaining: 100, 8.');
    expect(b.state.exprs).toEqual(['(75-25)*2', '8']);
    const c = applyAction(b.state, ANSWER_OFFSET);
    expect(c.step).toBe('Step 3: 100 = (75-25)*2. The answer is \\boxed{(75-25)*2}.');
    expect(c.terminal).toBe(true);
    expect(c.state.answered).toBe('(75-25)*2');
  });

  it('puts the result first and keeps the others in order', () => {
    const s = initialState(problem([3, 9, 4, 6, 2], 24));
    const r = applyAction(s, combine(1, 3, 1)); // 9 - 6
    expect(r.state.numbers).toEqual([3, 3, 4, 2]);
    expect(r.state.exprs).toEqual(['9-6', '3', '4', '2']);
    expect(r.step).toBe('Step 1: 9 - 6 = 3. Remaining: 3, 3, 4, 2.');
  });

  it('throws RangeError on illegal actions', () => {
    const s = initialState(problem([3, 9], 5));
    expect(() => applyAction(s, combine(1, 0, 0))).toThrow(RangeError);
    expect(() => applyAction(s, 150)).toThrow(RangeError);
    expect(() => applyAction(s, ANSWER_OFFSET + 2)).toThrow(RangeError);
  });

  it('parenthesizes minimally but correctly', () => {
    const p = problem([10, 6, 3, 2], 1);
    let s = initialState(p);
    s = applyAction(s, combine(1, 2, 1)).state; // 6-3 = 3 → [3, 10, 2]
    s = applyAction(s, combine(1, 0, 1)).state; // 10-(6-3) = 7
    expect(s.exprs[0]).toBe('10-(6-3)');
    s = applyAction(s, combine(0, 1, 2)).state; // (10-(6-3))*2
    expect(s.exprs[0]).toBe('(10-(6-3))*2');
    expectConsistent(s);
  });
});

// Random legal walks: the core invariants hold at every step.
const walkArb = fc.record({
  numbers: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 2, maxLength: 6 }),
  target: fc.integer({ min: 1, max: 999 }),
  picks: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
});

describe('random legal walks', () => {
  it('keep exprs evaluating to numbers, replay to the same state, and encode within [0, 1]', () => {
    fc.assert(
      fc.property(walkArb, ({ numbers, target, picks }) => {
        const p = problem(numbers, target);
        let s = initialState(p);
        const steps: string[] = [];
        const features = new Float32Array(FEATURE_COUNT);
        let everDuplicated = new Set(numbers).size !== numbers.length;
        for (const pick of picks) {
          const legal = legalActions(s);
          if (legal.length === 0) break;
          const { state, step } = applyAction(s, legal[pick % legal.length] ?? -1);
          steps.push(step);
          expect(step.startsWith(`Step ${steps.length}: `)).toBe(true);
          expectConsistent(state);
          encodeState(state, features);
          expect(features.every((f) => f >= 0 && f <= 1)).toBe(true);
          s = state;
          if (new Set(s.numbers).size !== s.numbers.length) everDuplicated = true;
        }
        const replayed = replaySteps(p, steps);
        if ('error' in replayed) throw new Error(replayed.error);
        expect(replayed.numbers).toEqual(s.numbers);
        expect(replayed.step).toBe(s.step);
        expect(replayed.answered === null).toBe(s.answered === null);
        if (!everDuplicated) {
          // No duplicate values anywhere: the slot choice is unambiguous.
          expect(replayed).toEqual(s);
        }
        expectConsistent(replayed);
      }),
      { numRuns: 300 },
    );
  });
});

describe('stepToAction / replaySteps', () => {
  const p = problem([75, 25, 2, 8], 100);
  const s0 = initialState(p);

  it('tolerates spaces, unicode operators, markdown prefixes and operand order', () => {
    expect(stepToAction(s0, 'Step 1:   75  −  25 = 50.  Remaining: 50, 2, 8.')).toBe(combine(0, 1, 1));
    expect(stepToAction(s0, '## Step 1: 25 × 75 = 1875. Remaining: 1875, 2, 8.')).toBe(combine(0, 1, 2));
    expect(stepToAction(s0, '8 ÷ 2 = 4')).toBe(combine(3, 2, 3));
    expect(stepToAction(s0, 'Step 1:\u200375\t-\u00a025 = 50.\nRemaining: 50, 2, 8.')).toBe(combine(0, 1, 1));
    expect(stepToAction(s0, '**Step 1:** 75 – 25 = 50, remaining numbers: 50, 2, 8')).toBe(combine(0, 1, 1));
    expect(stepToAction(s0, 'Step 1: 75 - 25 = 50. Remaining numbers are 50, 2, 8.')).toBe(combine(0, 1, 1));
    expect(stepToAction(s0, 'Step 1: 8 + 2 = 10. Remaining: 75, 10, 25.')).toBe(combine(2, 3, 0)); // any order
    expect(stepToAction(s0, 'Step 1: 8 + 2 = 10. Remaining: 8, 10, 75.')).toEqual({ error: 'remaining numbers would be 10, 75, 25, not 8, 10, 75' });
  });

  it('reports unparseable and illegal steps by number', () => {
    const wrong = replaySteps(p, ['Step 1: 75 - 25 = 50. Remaining: 50, 2, 8.', 'Step 2: 50 - 7 = 43.']);
    expect(wrong).toEqual({ error: expect.stringContaining('step 2') });
    expect('error' in wrong && wrong.error).toContain('7 is not among the remaining numbers');
    expect(replaySteps(p, ['Step 1: 25 - 75 = -50.'])).toEqual({ error: expect.stringContaining('not of the form') });
    expect(replaySteps(p, ['Step 1: 2 - 8 = 6.'])).toEqual({ error: expect.stringContaining('not be positive') });
    expect(replaySteps(p, ['Step 1: 75 / 8 = 9.'])).toEqual({ error: expect.stringContaining('not divisible') });
    expect(replaySteps(p, ['Step 1: 75 + 25 = 101.'])).toEqual({ error: expect.stringContaining('is 100, not 101') });
    expect(replaySteps(p, ['I think we should add things.'])).toEqual({ error: expect.stringContaining('step 1') });
    expect(replaySteps(p, ['Step 1: 2 * 2 = 4.'])).toEqual({ error: expect.stringContaining('besides 2') });
    const started = performance.now();
    expect(stepToAction(s0, `75 - 25 = 50 remaining ${' ,'.repeat(180)}x`)).toEqual({ error: expect.stringContaining('not of the form') });
    expect(stepToAction(s0, `75 - 25 = 50 remaining ${' ,'.repeat(5000)}x`)).toEqual({ error: 'step longer than 400 characters' });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('maps answers by expression, or by value and literals', () => {
    const mid = replaySteps(p, ['Step 1: 75 - 25 = 50. Remaining: 50, 2, 8.', 'Step 2: 50 * 2 = 100. Remaining: 100, 8.']);
    if ('error' in mid) throw new Error(mid.error);
    expect(stepToAction(mid, 'Step 3: 100 = (75-25)*2. The answer is \\boxed{(75 - 25) * 2}.')).toBe(ANSWER_OFFSET);
    expect(stepToAction(mid, 'So \\boxed{2*(75-25)}')).toBe(ANSWER_OFFSET);
    expect(stepToAction(mid, 'So \\boxed{8}')).toEqual({ error: 'boxes 8 = 8, which is neither the target 100 nor the last number left' });
    expect(stepToAction(mid, 'So \\boxed{100}')).toBe(ANSWER_OFFSET); // by value: a wrong but legal terminal
    expect(stepToAction(mid, 'So \\boxed{99}')).toEqual({ error: expect.stringContaining('does not match') });
    expect(stepToAction(mid, 'So \\boxed{(75-25)*2')).toEqual({ error: 'unclosed \\boxed{' });
    const done = replaySteps(p, ['75 - 25 = 50', '50 * 2 = 100', 'The answer is \\boxed{(75-25)*2}.']);
    expect(done).toMatchObject({ answered: '(75-25)*2', step: 3 });
    expect(replaySteps(p, ['\\boxed{75}', '8 / 2 = 4'])).toEqual({ error: expect.stringContaining('neither the target') });
    expect(replaySteps(p, ['75 - 25 = 50', '50 * 2 = 100', 'The answer is \\boxed{(75-25)*2}.', '8 / 2 = 4'])).toEqual({ error: expect.stringContaining('already answered') });
  });

  it('rejects bad problems as errors, not throws', () => {
    expect(replaySteps(problem([1, 2, 3, 4, 5, 6, 7], 3), [])).toEqual({ error: expect.stringContaining('7 numbers') });
    expect(() => initialState(problem([0, 2], 3))).toThrow(/positive integers/);
  });
});

describe('encodeState', () => {
  it('documents its layout: slot features and globals', () => {
    expect(FEATURE_COUNT).toBe(52);
    const s = initialState(problem([100, 25, 4], 100));
    const f = new Float32Array(FEATURE_COUNT + 2).fill(9);
    encodeState(s, f, 1);
    expect(f[0]).toBe(9);
    expect(f[FEATURE_COUNT + 1]).toBe(9);
    const slot = (k: number, feature: number): number => f[1 + k * 8 + feature] ?? -1;
    expect(slot(0, 0)).toBe(1);
    expect(slot(0, 1)).toBeCloseTo(0.5);
    expect(slot(0, 3)).toBe(1); // 100 is the target
    expect(slot(1, 3)).toBe(0);
    expect(slot(1, 4)).toBe(1); // 25 divides 100
    expect(slot(1, 7)).toBe(1); // 25 * 4 = 100
    expect(slot(3, 0)).toBe(0); // empty slot
    expect(f[1 + 48]).toBeCloseTo(Math.log10(101) / 6);
    expect(f[1 + 49]).toBe(0);
    expect(f[1 + 50]).toBeCloseTo(0.5);
    expect(f[1 + 51]).toBe(0);
  });
});

describe('step parsing cost', () => {
  it('stays linear on adversarial whitespace and separators', () => {
    const s0 = initialState(problem([75, 25, 2, 8], 100));
    const inputs = [
      `75 - 25 = 50 remaining${' '.repeat(370)}x`,
      `75 - 25 = 50${' '.repeat(380)}x`,
      `75 - 25 = 50 remaining ${'1 , '.repeat(90)}x`,
      `${'1'.repeat(395)}x`,
      `Step 1: ${' '.repeat(300)}75 - 25 = 50. Remaining: 50, 2, 8.`,
    ];
    const started = performance.now();
    for (let k = 0; k < 50; k++) for (const text of inputs) stepToAction(s0, text);
    expect(performance.now() - started).toBeLessThan(500);
    expect(stepToAction(s0, inputs[4] ?? '')).toBe(combine(0, 1, 1));
    expect(stepToAction(s0, 'Step 1: 75 - 25 = 50. Remaining: 50, 2 and 8.')).toBe(combine(0, 1, 1));
    expect(stepToAction(s0, 'Step 1: 75 - 25 = 50. Remaining: 50, two, 8.')).toEqual({ error: expect.stringContaining('not of the form') });
  });
});

describe('wrong terminals are complete attempts (issue 13)', () => {
  it('any legal play ends by boxing the target or an expression over every given number, never a bare leftover number', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 2, maxLength: 6 }), fc.integer({ min: 1, max: 300 }), fc.array(fc.nat(), { minLength: 12, maxLength: 12 }), (numbers, target, picks) => {
        const p = problem(numbers, target);
        let s = initialState(p);
        let step = '';
        for (const pick of picks) {
          if (s.answered !== null) break;
          const legal = legalActions(s);
          const applied = applyAction(s, legal[pick % legal.length] ?? -1);
          s = applied.state;
          step = applied.step;
        }
        if (s.answered === null) return;
        const boxed = /\\boxed\{(.*)\}/.exec(step)?.[1] ?? '';
        const value = evaluateExpression(boxed);
        expect(value.ok).toBe(true);
        if (!value.ok) return;
        if (value.value.num === BigInt(target) && value.value.den === 1n) return;
        // A miss: the whole attempt, every given number used once.
        expect([...value.numbers].sort((a, b) => a - b)).toEqual([...numbers].sort((a, b) => a - b));
        expect(/^\d+$/.test(boxed)).toBe(false);
      }),
      { numRuns: 400, seed: 2026 },
    );
  });
});
