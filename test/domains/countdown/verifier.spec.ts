import { describe, expect, it } from 'vitest';
import { createCountdownVerifier, judgeCountdown } from '../../../domains/countdown/verifier.js';
import { AppError } from '../../../operators/common/errors.js';
import { configHash } from '../../../operators/common/hash.js';
import type { Problem } from '../../../schemas/problem.js';

const problem: Problem = {
  id: 'cd1',
  domain: 'countdown',
  source: 'test',
  question: 'Using the numbers 75, 25, 2, 8, make 100.',
  answer: '100',
  numbers: [75, 25, 2, 8],
  target: 100,
};
const verifier = createCountdownVerifier();
const verify = (response: string) => verifier.verify(problem, response);

describe('createCountdownVerifier', () => {
  it('is named, versioned and hashed', () => {
    expect(verifier.name).toBe('countdown');
    expect(verifier.version).toBe('1.0.0');
    expect(verifier.configHash).toMatch(/^[0-9a-f]{16}$/);
    expect(verifier.configHash).toBe(createCountdownVerifier().configHash);
    expect(verifier.configHash).toBe(configHash({ name: 'countdown', version: '1.0.0', maxLength: 200, maxDepth: 32 }));
  });

  it('accepts a correct boxed expression', async () => {
    const v = await verify('Step 1: 75 - 25 = 50.\n\nStep 2: 100 = (75-25)*2. The answer is \\boxed{(75 - 25) * 2}.');
    expect(v).toEqual({ correct: true, extracted: '(75 - 25) * 2', normalized: '(75-25)*2' });
  });

  it('accepts the equal-value forms that exact arithmetic allows', async () => {
    expect((await verify('\\boxed{75+25}')).correct).toBe(true);
    expect((await verify('\\boxed{(75*8-200/2)/5}')).correct).toBe(false); // 200 not available
    expect((await verify('\\boxed{25/2*8}')).correct).toBe(true); // 12.5 * 8 = 100 exactly, no float error
  });

  it('says why a wrong value is wrong', async () => {
    expect(await verify('\\boxed{75+25-2}')).toMatchObject({ correct: false, extracted: '75+25-2', reason: 'evaluates to 98, target 100' });
    expect(await verify('\\boxed{75/2}')).toMatchObject({ correct: false, reason: 'evaluates to 75/2, target 100' });
  });

  it('rejects reused and unavailable numbers', async () => {
    expect(await verify('\\boxed{75+25/25}')).toMatchObject({ correct: false, reason: 'uses 25 more often than given' });
    expect(await verify('\\boxed{93+7}')).toMatchObject({ correct: false, reason: 'uses 93 which is not available' });
    expect(await verify('\\boxed{100}')).toMatchObject({ correct: false, reason: 'uses 100 which is not available' });
  });

  it('treats the whole trimmed response as the expression when nothing is boxed', async () => {
    expect(await verify('  (75-25)*2 \n')).toEqual({ correct: true, extracted: '(75-25)*2', normalized: '(75-25)*2' });
    expect(await verify('The answer is (75-25)*2')).toMatchObject({ correct: false, extracted: 'The answer is (75-25)*2', reason: expect.stringContaining('invalid character') });
    expect(await verify('   ')).toMatchObject({ correct: false, extracted: null, reason: 'invalid expression: empty expression' });
  });

  it('uses the last boxed answer, with nested braces', async () => {
    expect((await verify('\\boxed{75+25} no wait \\boxed{75-25}')).correct).toBe(false);
    expect((await verify('\\boxed{75-25} no wait \\boxed{75+25}')).correct).toBe(true);
    const nested = await verify('\\boxed{\\text{{75+25}}}');
    expect(nested).toMatchObject({ correct: false, extracted: '\\text{{75+25}}', reason: expect.stringContaining("invalid character '\\'") });
  });

  it('rejects garbage without throwing', async () => {
    expect(await verify('\\boxed{(75-25*2}')).toMatchObject({ correct: false, reason: expect.stringContaining('unbalanced') });
    expect(await verify(`\\boxed{${'1+'.repeat(500)}1}`)).toMatchObject({ correct: false, reason: expect.stringContaining('longer than 200') });
    expect(await verify('\\boxed{75/(25-25)}')).toMatchObject({ correct: false, reason: 'invalid expression: division by zero' });
  });

  it('rejects a problem without numbers as a schema error, not a verdict', async () => {
    const bad: Problem = { ...problem, numbers: undefined };
    await expect(verifier.verify(bad, '\\boxed{1}')).rejects.toBeInstanceOf(AppError);
    await expect(verifier.verify(bad, '\\boxed{1}')).rejects.toMatchObject({ kind: 'schema', retriable: false });
  });

  it('judges synchronously through judgeCountdown', () => {
    expect(judgeCountdown([3, 3, 8], 24, '\\boxed{3*8}').correct).toBe(true);
    expect(judgeCountdown([3, 3, 8], 24, '\\boxed{3*3*8}').reason).toBe('evaluates to 72, target 24');
  });
});
