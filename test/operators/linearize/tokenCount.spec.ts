import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ESTIMATED_TOKENS, surelyWithin } from '../../../operators/linearize/tokenCount.js';

describe('surelyWithin', () => {
  it('is true exactly when the UTF-8 byte length is within the cap', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.integer({ min: 1, max: 200 }), (text, cap) => {
        expect(surelyWithin(text, cap)).toBe(Buffer.byteLength(text, 'utf8') <= cap);
      }),
      { numRuns: 500, seed: 8192 },
    );
    expect(surelyWithin('é'.repeat(5), 9)).toBe(false); // 10 bytes
    expect(surelyWithin('abc', 3)).toBe(true);
  });
});

describe('ESTIMATED_TOKENS', () => {
  it('is four characters per token, rounded up, and says it is an estimate', () => {
    expect([ESTIMATED_TOKENS.count(''), ESTIMATED_TOKENS.count('abcd'), ESTIMATED_TOKENS.count('abcde')]).toEqual([0, 1, 2]);
    expect(ESTIMATED_TOKENS.exact).toBe(false);
  });
});
