import { describe, expect, it } from 'vitest';
import { formatPolicyVersion, judgeStaleness, mayAdmit, parsePolicyVersionNumber, policyLag } from '../../../operators/rl/staleness.js';

const config = { maxPolicyLag: 2, maxRecordsPerVersion: 3 };

describe('staleness rules', () => {
  it('formats and parses versioned policy names; the shipped network is version 0', () => {
    const sha = 'ab'.repeat(32);
    expect(formatPolicyVersion('countdown-mlp', 12, sha)).toBe('countdown-mlp@v12.abababababab');
    expect(parsePolicyVersionNumber('countdown-mlp@v12.abababababab')).toBe(12);
    expect(parsePolicyVersionNumber('countdown-mlp@2e73c95ef150')).toBe(0);
    expect(parsePolicyVersionNumber('llama@v3')).toBe(3);
  });

  it('records up to the lag bound are fresh, older ones stale', () => {
    expect(policyLag(5, 3)).toBe(0);
    expect(judgeStaleness(3, 5, config)).toEqual({ fresh: true, lag: 2 });
    expect(judgeStaleness(2, 5, config)).toEqual({ fresh: false, lag: 3 });
  });

  it('producers admit work until the per-version budget is spent', () => {
    expect([0, 1, 2, 3, 4].map((n) => mayAdmit(n, config))).toEqual([true, true, true, false, false]);
  });
});
