import { describe, expect, it } from 'vitest';
import { majorityCorrect, scoreSamples, type JudgedResponse } from '../../../operators/eval/scoreSamples.js';
import { pearson } from '../../../operators/common/stats.js';

const r = (voteKey: string | null, correct: boolean, backtracks = 0, truncated = false): JudgedResponse => ({ voteKey, correct, backtracks, truncated });

describe('majorityCorrect', () => {
  it('takes the most voted answer; abstentions do not vote; ties go to the answer seen first', () => {
    expect(majorityCorrect([r('4', false), r('3', true), r('3', true)])).toBe(true);
    expect(majorityCorrect([r('4', false), r('4', false), r('3', true), r(null, false), r(null, false), r(null, false)])).toBe(false);
    expect(majorityCorrect([r('3', true), r('4', false)])).toBe(true);
    expect(majorityCorrect([r('4', false), r('3', true)])).toBe(false);
    expect(majorityCorrect([r(null, false)])).toBe(false);
    expect(majorityCorrect([])).toBe(false);
  });
});

describe('scoreSamples', () => {
  it('averages pass@1 over the samples of each problem, votes over the first k, and counts backtracks', () => {
    const scores = scoreSamples(
      [
        // 2 of 4 correct; the first 3 vote 4, 3, 3: majority correct.
        [r('4', false, 0), r('3', true, 2), r('3', true, 1), r('5', false, 0)],
        // 1 of 4 correct; the first 3 vote 7, 7, 9: majority wrong.
        [r('7', false, 0), r('7', false, 0), r('9', true, 3), r(null, false, 0, true)],
      ],
      3,
    );
    expect(scores.problems).toBe(2);
    expect(scores.samples).toBe(4);
    expect(scores.pass_at_1).toBeCloseTo((2 / 4 + 1 / 4) / 2, 12);
    expect(scores.maj_k).toBe(3);
    expect(scores.maj_at_k).toBe(0.5);
    expect(scores.avg_backtracks).toBeCloseTo(6 / 8, 12);
    expect(scores.backtracks_by_correctness).toEqual({ '0': { correct: 0, incorrect: 5 }, '1': { correct: 1, incorrect: 0 }, '2': { correct: 1, incorrect: 0 }, '3': { correct: 1, incorrect: 0 } });
    expect(scores.unanswered).toBe(1);
    expect(scores.truncated).toBe(1);
    // Backtracks go with correctness here: a strong positive correlation.
    expect(scores.backtracks_correct_pearson).toBeGreaterThan(0.8);
    // Both problems average 0.75 backtracks: per problem there is nothing to correlate.
    expect(scores.problem_backtracks_pass_pearson).toBeNull();
    const three = scoreSamples([[r('1', true, 2)], [r('1', false, 0)], [r('1', true, 1)]], 1);
    expect(three.problem_backtracks_pass_pearson).toBeCloseTo(pearson([[2, 1], [0, 0], [1, 1]]) ?? Number.NaN, 12);
  });

  it('has no correlation to report when nothing varies', () => {
    const scores = scoreSamples([[r('1', false), r('1', false)]], 8);
    expect(scores.backtracks_correct_pearson).toBeNull();
    expect(scores.pass_at_1).toBe(0);
  });
});

describe('pearson', () => {
  it('is the textbook coefficient, null when undefined', () => {
    expect(pearson([[1, 2], [2, 4], [3, 6]])).toBeCloseTo(1, 12);
    expect(pearson([[1, 3], [2, 2], [3, 1]])).toBeCloseTo(-1, 12);
    // x = 0,1,2,3; y = 0,0,1,1: r = 2 / sqrt(5 · 1) .
    expect(pearson([[0, 0], [1, 0], [2, 1], [3, 1]])).toBeCloseTo(2 / Math.sqrt(5), 12);
    expect(pearson([[1, 1], [1, 2]])).toBeNull();
    expect(pearson([[1, 1]])).toBeNull();
    expect(pearson([[1e9, 1], [1e9 + 1, 2], [1e9 + 2, 3]])).toBeCloseTo(1, 9);
  });
});
