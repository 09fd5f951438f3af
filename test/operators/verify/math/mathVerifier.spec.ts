import { describe, expect, it } from 'vitest';
import { createMathVerifier, goldAnswerOf } from '../../../../operators/verify/math/mathVerifier.js';
import { verifierId } from '../../../../operators/verify/verifier.js';
import type { Problem } from '../../../../schemas/problem.js';

const problem = (answer: string, solution?: string): Problem => ({ id: 'p', domain: 'math', source: 't', question: 'q?', answer, ...(solution === undefined ? {} : { solution }) });

describe('createMathVerifier', () => {
  it('is named math@1.0.0 with a config hash that changes with the config', () => {
    const v = createMathVerifier();
    expect(verifierId(v)).toBe('math@1.0.0');
    expect(v.configHash).toMatch(/^[0-9a-f]{16}$/);
    expect(createMathVerifier({ floatDecimals: 4 }).configHash).not.toBe(v.configHash);
    expect(createMathVerifier().configHash).toBe(v.configHash);
  });
  it('judges a full solution by its last box and reports extracted and normalized forms', async () => {
    const v = createMathVerifier();
    const right = await v.verify(problem('\\frac{14}{3}'), 'We get \\boxed{3} first, then fix it: \\boxed{\\dfrac{14}{3}}.');
    expect(right).toEqual({ correct: true, extracted: '\\dfrac{14}{3}', normalized: '\\frac{14}{3}' });
    const wrong = await v.verify(problem('\\frac{14}{3}'), 'So \\boxed{\\frac{3}{14}}');
    expect(wrong.correct).toBe(false);
    expect(wrong.reason).toContain('not equal to gold');
  });
  it('says why when there is no answer', async () => {
    const v = createMathVerifier();
    expect(await v.verify(problem('5'), '')).toMatchObject({ correct: false, extracted: null, reason: 'no final answer found' });
    expect(await v.verify(problem(''), '\\boxed{5}')).toMatchObject({ correct: false, reason: 'problem has no gold answer' });
  });
  it('takes the gold from a GSM8K-style answer or from the solution', () => {
    expect(goldAnswerOf({ answer: 'She makes 18.\n#### 18' })).toBe('18');
    expect(goldAnswerOf({ answer: '', solution: 'thus \\boxed{42}' })).toBe('42');
    expect(goldAnswerOf({ answer: ' 7 ' })).toBe('7');
  });
});
