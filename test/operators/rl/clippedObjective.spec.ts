import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clippedSurrogate, clippedSurrogateGradient, DEFAULT_CLIP_EPSILON } from '../../../operators/rl/clippedObjective.js';

describe('clipped surrogate (ε = 0.2)', () => {
  it('is ρ·A inside the clip range', () => {
    expect(DEFAULT_CLIP_EPSILON).toBe(0.2);
    expect(clippedSurrogate(Math.log(1.1), 0, 2)).toBeCloseTo(2.2, 10);
    expect(clippedSurrogate(Math.log(0.9), 0, -1)).toBeCloseTo(-0.9, 10);
  });

  it('caps the gain of a positive advantage at 1 + ε and of a negative one at 1 − ε', () => {
    expect(clippedSurrogate(Math.log(2), 0, 1)).toBeCloseTo(1.2, 10);
    expect(clippedSurrogateGradient(Math.log(2), 0, 1)).toBe(0);
    expect(clippedSurrogate(Math.log(0.5), 0, -1)).toBeCloseTo(-0.8, 10);
    expect(clippedSurrogateGradient(Math.log(0.5), 0, -1)).toBe(0);
  });

  it('never clips a move that makes things worse (pessimistic bound)', () => {
    // Positive advantage, ratio fell below 1 − ε: the unclipped (smaller) term stays, with its gradient.
    expect(clippedSurrogate(Math.log(0.5), 0, 1)).toBeCloseTo(0.5, 10);
    expect(clippedSurrogateGradient(Math.log(0.5), 0, 1)).toBeCloseTo(0.5, 10);
  });

  it('gradient agrees with a finite difference away from the clip boundaries', () => {
    fc.assert(
      fc.property(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), (logRatio, adv) => {
        const ratio = Math.exp(logRatio);
        if (Math.abs(ratio - 0.8) < 1e-3 || Math.abs(ratio - 1.2) < 1e-3) return true;
        const h = 1e-6;
        const numeric = (clippedSurrogate(logRatio + h, 0, adv) - clippedSurrogate(logRatio - h, 0, adv)) / (2 * h);
        return Math.abs(numeric - clippedSurrogateGradient(logRatio, 0, adv)) < 1e-4;
      }),
    );
  });
});
