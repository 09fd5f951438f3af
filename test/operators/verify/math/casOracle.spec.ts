import { describe, expect, it } from 'vitest';
import { casRefusal } from '../../../../operators/verify/math/casGuard.js';
import { createCasOracle } from '../../../../operators/verify/math/casOracle.js';
import { DEFAULT_COMPARE_CONFIG } from '../../../../operators/verify/math/compare.js';

describe('createCasOracle', () => {
  it('answers the same whatever it was asked before: every question runs in its own scope', () => {
    const fresh = createCasOracle(DEFAULT_COMPARE_CONFIG);
    const alone = fresh('(r+5)(r+5)', '(r+5)^2');
    const used = createCasOracle(DEFAULT_COMPARE_CONFIG);
    // `r_{0}` declares r as a list in compute-engine; before the scopes, (r+5)^2 then failed.
    used('r_{0}', '2');
    used('x_{1}', 'x');
    expect(used('(r+5)(r+5)', '(r+5)^2')).toBe(alone);
    expect(used('\\frac{\\sqrt{3}}{2}', '\\sqrt{3}/2')).toBe(true);
  });

  it('refuses what the guard refuses without asking the engine', () => {
    const oracle = createCasOracle(DEFAULT_COMPARE_CONFIG);
    expect(oracle('(20!)!', '3')).toBeUndefined();
    expect(oracle('x'.repeat(DEFAULT_COMPARE_CONFIG.maxCasChars + 1), 'x')).toBeUndefined();
  });
});

describe('casRefusal', () => {
  it.each([
    ['(99!)!', 'factorial'],
    ['n!', 'factorial'],
    ['21!', 'factorial'],
    ['\\Gamma(10^9)', 'gamma'],
    ['\\int_0^1 x\\,dx', 'integral'],
    ['2^{2^{2}}', 'power tower'],
    ['2^2^2', 'power tower'],
    ['10^{100}', 'exponent'],
    ['1'.repeat(31), 'digits'],
  ])('refuses %s (%s)', (latex, why) => {
    expect(casRefusal(latex, 300)).toMatch(new RegExp(why));
  });

  it.each(['5!', '(x+1)^{99}', '\\frac{\\sqrt{3}}{2}', 'x != 3', '\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}'])('lets %s through', (latex) => {
    expect(casRefusal(latex, 300)).toBeNull();
  });
});
