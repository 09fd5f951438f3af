import { describe, expect, it } from 'vitest';
import { extractAnswer, lastBoxed } from '../../../../operators/verify/math/extract.js';

describe('lastBoxed', () => {
  it('returns the last \\boxed content with nested braces', () => {
    expect(lastBoxed('first \\boxed{1} then \\boxed{\\frac{1}{2}}.')).toBe('\\frac{1}{2}');
    expect(lastBoxed('\\boxed{\\left\\{ 1, 2 \\right\\}}')).toBe('\\left\\{ 1, 2 \\right\\}');
  });
  it('reads \\fbox and the space form \\boxed 5', () => {
    expect(lastBoxed('so \\fbox{42}')).toBe('42');
    expect(lastBoxed('$\\boxed 5$')).toBe('5');
  });
  it('falls back to an earlier box when the last one is unbalanced, null when none', () => {
    expect(lastBoxed('\\boxed{3} and \\boxed{4')).toBe('3');
    expect(lastBoxed('no box here')).toBeNull();
  });
});

describe('extractAnswer', () => {
  it('prefers the box, then GSM8K ####, then "final answer is"', () => {
    expect(extractAnswer('x \\boxed{7}\n#### 9')).toEqual({ answer: '7', method: 'boxed' });
    expect(extractAnswer('She makes 9 * 2 = $18.\n#### 18')).toEqual({ answer: '18', method: 'gsm8k' });
    expect(extractAnswer('Long reasoning. The final answer is $\\frac{3}{4}$. I hope it is correct.')).toEqual({ answer: '$\\frac{3}{4}$', method: 'final-answer' });
    expect(extractAnswer('Final Answer: 2.5')).toEqual({ answer: '2.5', method: 'final-answer' });
  });
  it('takes a short bare response whole, and the last math or number of long prose', () => {
    expect(extractAnswer('  (1, 2) ')).toEqual({ answer: '(1, 2)', method: 'whole' });
    expect(extractAnswer(`${'We compute things. '.repeat(10)}So we get $x = 4$ at the end. Then done.`)?.answer).toBe('x = 4');
    expect(extractAnswer(`${'Words and more words. '.repeat(10)}It is 12 apples. Really.`)?.answer).toBe('12');
    expect(extractAnswer('   ')).toBeNull();
  });
});

describe('extractAnswer on hostile input', () => {
  it('terminates on an unbalanced box at offset 0 (regression: lastIndexOf clamps to 0)', () => {
    expect(lastBoxed('\\boxed{\\frac{1}{2')).toBeNull();
    expect(extractAnswer('\\boxed{\\frac{1}{2')?.method).toBe('whole');
  });
});

describe('extractAnswer on short model outputs', () => {
  it.each([
    ['The answer is 5', '5', 'final-answer'],
    ['Answer: \\frac{1}{2}.', '\\frac{1}{2}', 'final-answer'],
    ['so we get 12', '12', 'last-number'],
    ['Evelyn', 'Evelyn', 'whole'],
    ['5 apples', '5 apples', 'whole'],
    ['\\frac{\\sqrt{3}}{2}', '\\frac{\\sqrt{3}}{2}', 'whole'],
  ])('%s → %s (%s)', (text, answer, method) => {
    expect(extractAnswer(text)).toEqual({ answer, method });
  });
});
