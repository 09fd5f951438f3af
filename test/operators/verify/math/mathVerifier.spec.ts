import { describe, expect, it } from 'vitest';
import type { AnswerText } from '../../../../operators/verify/math/compare.js';
import { createMathVerifier, goldAnswerOf, type CasResult, type CasRunner } from '../../../../operators/verify/math/mathVerifier.js';
import { verifierId } from '../../../../operators/verify/verifier.js';
import type { Problem } from '../../../../schemas/problem.js';

const problem = (answer: string, solution?: string): Problem => ({ id: 'p', domain: 'math', source: 't', question: 'q?', answer, ...(solution === undefined ? {} : { solution }) });

/** A CAS runner that answers with a fixed result and records what it was asked. */
function scriptedCas(result: CasResult): CasRunner & { asked: [AnswerText, AnswerText][] } {
  const asked: [AnswerText, AnswerText][] = [];
  return {
    asked,
    compare: (gold, pred) => {
      asked.push([gold, pred]);
      return Promise.resolve(result);
    },
  };
}

describe('createMathVerifier', () => {
  it('is named math@2.0.0 with a config hash that changes with the config', () => {
    const v = createMathVerifier();
    expect(verifierId(v)).toBe('math@2.0.0');
    expect(v.configHash).toMatch(/^[0-9a-f]{16}$/);
    expect(createMathVerifier({ floatDecimals: 4 }).configHash).not.toBe(v.configHash);
    expect(createMathVerifier({ timeoutMs: 500 }).configHash).not.toBe(v.configHash);
    expect(createMathVerifier().configHash).toBe(v.configHash);
  });

  it('judges a full solution by its final answer and records extracted and normalized forms and the method', async () => {
    const v = createMathVerifier();
    const right = await v.verify(problem('\\frac{14}{3}'), 'We get \\boxed{3} first. After fixing the arithmetic error in step two, it becomes \\boxed{\\dfrac{14}{3}}.');
    expect(right).toEqual({ correct: true, extracted: '\\dfrac{14}{3}', normalized: '\\frac{14}{3}', method: 'string' });
    const wrong = await v.verify(problem('\\frac{14}{3}'), 'So \\boxed{\\frac{3}{14}}');
    expect(wrong).toMatchObject({ correct: false, method: 'numeric' });
    expect(wrong.reason).toContain('not equal to gold');
  });

  it('says why when there is no answer', async () => {
    const v = createMathVerifier();
    expect(await v.verify(problem('5'), '')).toMatchObject({ correct: false, extracted: null, reason: 'no final answer found', method: 'no-answer' });
    expect(await v.verify(problem(''), '\\boxed{5}')).toMatchObject({ correct: false, reason: 'problem has no gold answer' });
  });

  it('takes the gold from a GSM8K-style answer or from the solution', () => {
    expect(goldAnswerOf({ answer: 'She makes 18.\n#### 18' })).toBe('18');
    expect(goldAnswerOf({ answer: '', solution: 'thus \\boxed{42}' })).toBe('42');
    expect(goldAnswerOf({ answer: ' 7 ' })).toBe('7');
  });

  it('offers a synchronous verifyNow only without a CAS: with one, CAS work is never waited for inline', () => {
    expect(createMathVerifier().verifyNow).toBeTypeOf('function');
    expect(createMathVerifier({}, { cas: scriptedCas({ kind: 'timeout' }) }).verifyNow).toBeUndefined();
  });

  it('asks the CAS only for pairs the inline checks cannot settle', async () => {
    const cas = scriptedCas({ kind: 'compared', comparison: { equal: true, method: 'cas', goldNormalized: 'g', predNormalized: 'p', needsCas: false } });
    const v = createMathVerifier({}, { cas });
    expect((await v.verify(problem('\\frac12'), '\\boxed{0.5}')).method).toBe('numeric');
    expect((await v.verify(problem('3'), '\\boxed{(99!)!}')).method).toBe('guard');
    expect(cas.asked).toHaveLength(0);
    const decided = await v.verify(problem('-2'), '\\boxed{\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}');
    expect(decided).toMatchObject({ correct: true, method: 'cas' });
    expect(cas.asked).toHaveLength(1);
    // Remembered: the same pair again costs no CAS call.
    await v.verify(problem('-2'), 'so \\boxed{\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}');
    expect(cas.asked).toHaveLength(1);
  });

  it('reads a CAS timeout as "not equal" with method timeout, and does not remember it', async () => {
    const cas = scriptedCas({ kind: 'timeout' });
    const v = createMathVerifier({ timeoutMs: 50 }, { cas });
    const response = '\\boxed{\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}';
    expect(await v.verify(problem('-2'), response)).toMatchObject({ correct: false, method: 'timeout', reason: 'the CAS did not decide within the time bound' });
    await v.verify(problem('-2'), response);
    expect(cas.asked).toHaveLength(2);
  });
});
