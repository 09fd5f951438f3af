import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { grpoAdvantages } from '../../../operators/rl/grpoAdvantages.js';

describe('grpoAdvantages', () => {
  it('normalizes a group by its mean and population std', () => {
    const adv = grpoAdvantages([1, -1, -1, -1]);
    expect(adv.skipped).toBe(false);
    if (adv.skipped) return;
    // mean -0.5, std sqrt(0.75)
    expect(adv.advantages[0]).toBeCloseTo(1.5 / Math.sqrt(0.75), 10);
    expect(adv.advantages[1]).toBeCloseTo(-0.5 / Math.sqrt(0.75), 10);
  });

  it('skips (and names why) groups with equal rewards and empty groups', () => {
    expect(grpoAdvantages([1, 1, 1, 1])).toEqual({ skipped: true, reason: 'equal_rewards' });
    expect(grpoAdvantages([-1, -1, -1, -1])).toEqual({ skipped: true, reason: 'equal_rewards' });
    expect(grpoAdvantages([0.1 + 0.2, 0.3])).toEqual({ skipped: true, reason: 'equal_rewards' });
    expect(grpoAdvantages([])).toEqual({ skipped: true, reason: 'empty' });
  });

  it('gives zero-mean, unit-std advantages that keep the reward order', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(1, -1), { minLength: 2, maxLength: 16 }), (rewards) => {
        const adv = grpoAdvantages(rewards);
        if (new Set(rewards).size === 1) return adv.skipped;
        if (adv.skipped) return false;
        const a = adv.advantages;
        const mean = a.reduce((s, x) => s + x, 0) / a.length;
        const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
        const ordered = rewards.every((r, i) => rewards.every((q, j) => (r > q ? (a[i] ?? 0) > (a[j] ?? 0) : true)));
        return Math.abs(mean) < 1e-9 && Math.abs(std - 1) < 1e-9 && ordered;
      }),
    );
  });
});
