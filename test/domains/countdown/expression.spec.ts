import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateExpression, formatRational, isInteger, rationalEquals, type Rational } from '../../../domains/countdown/expression.js';
import { extractLastBoxed } from '../../../domains/countdown/boxed.js';

const value = (text: string): string => {
  const r = evaluateExpression(text);
  if (!r.ok) throw new Error(r.reason);
  return formatRational(r.value);
};
const reason = (text: string): string => {
  const r = evaluateExpression(text);
  if (r.ok) throw new Error(`expected ${text} to be invalid`);
  return r.reason;
};

describe('evaluateExpression', () => {
  it('evaluates with precedence, associativity and exact rationals', () => {
    expect(value('(75-25)*2')).toBe('100');
    expect(value(' 1 + 2 * 3 ')).toBe('7');
    expect(value('10-3-2')).toBe('5');
    expect(value('100/5/2')).toBe('10');
    expect(value('7/2')).toBe('7/2');
    expect(value('1/3+1/6')).toBe('1/2');
    expect(value('2-7')).toBe('-5');
    expect(value('((((8))))')).toBe('8');
    expect(value('0')).toBe('0');
    expect(value('99999999999*99999999999')).toBe('9999999999800000000001'); // beyond 2^53: exact
  });

  it('returns the multiset of literals in order of appearance', () => {
    const r = evaluateExpression('(75-25)*2+25');
    expect(r.ok && r.numbers).toEqual([75, 25, 2, 25]);
  });

  it('explains invalid input', () => {
    expect(reason('')).toBe('empty expression');
    expect(reason('   ')).toBe('empty expression');
    expect(reason('2^3')).toContain("invalid character '^'");
    expect(reason('3.5*2')).toContain("invalid character '.'");
    expect(reason('(1+2')).toContain('unbalanced parentheses');
    expect(reason('1+2)')).toContain('unbalanced parentheses');
    expect(reason(')(')).toContain('unbalanced parentheses');
    expect(reason('4/(2-2)')).toBe('division by zero');
    expect(reason('-3+5')).toContain('expected a number');
    expect(reason('3+')).toContain('expected a number');
    expect(reason('3 4')).toContain('expected an operator');
    expect(reason('3(4)')).toContain('expected an operator');
    expect(reason('007')).toContain('leading zero');
    expect(reason('1'.repeat(201))).toContain('longer than 200');
    expect(reason(`${'('.repeat(40)}1${')'.repeat(40)}`)).toContain('nested deeper than 32');
    expect(reason('12345678901234567890')).toContain('too large');
    expect(reason('１+2')).toContain('invalid character');
  });

  it('honours custom limits', () => {
    expect(evaluateExpression('1+2+3', { maxLength: 4 }).ok).toBe(false);
    expect(evaluateExpression('((1))', { maxDepth: 1 }).ok).toBe(false);
    expect(evaluateExpression('((1))', { maxDepth: 2 }).ok).toBe(true);
  });
});

// Random expression trees, rendered fully parenthesized, evaluated independently with rationals.
type Tree = { readonly leaf: number } | { readonly op: '+' | '-' | '*' | '/'; readonly left: Tree; readonly right: Tree };
const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ leaf: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({ op: fc.constantFrom('+' as const, '-' as const, '*' as const, '/' as const), left: tie('tree'), right: tie('tree') }),
  ),
})).tree;

const render = (t: Tree, spaced: boolean): string => ('leaf' in t ? String(t.leaf) : spaced ? `( ${render(t.left, spaced)} ${t.op} ${render(t.right, spaced)} )` : `(${render(t.left, spaced)}${t.op}${render(t.right, spaced)})`);

// Reference evaluation as [num, den] pairs without reduction (null on division by zero).
const evalTree = (t: Tree): [bigint, bigint] | null => {
  if ('leaf' in t) return [BigInt(t.leaf), 1n];
  const l = evalTree(t.left);
  const r = evalTree(t.right);
  if (l === null || r === null) return null;
  const [a, b] = l;
  const [c, d] = r;
  switch (t.op) {
    case '+':
      return [a * d + c * b, b * d];
    case '-':
      return [a * d - c * b, b * d];
    case '*':
      return [a * c, b * d];
    default:
      return c === 0n ? null : [a * d, b * c];
  }
};
const leaves = (t: Tree): number[] => ('leaf' in t ? [t.leaf] : [...leaves(t.left), ...leaves(t.right)]);

describe('evaluateExpression properties', () => {
  it('agrees with an independent rational evaluation of random expression trees', () => {
    fc.assert(
      fc.property(treeArb, fc.boolean(), (tree, spaced) => {
        const text = render(tree, spaced);
        const r = evaluateExpression(text, { maxLength: 100_000, maxDepth: 1000 });
        const expected = evalTree(tree);
        if (expected === null) {
          expect(r).toEqual({ ok: false, reason: 'division by zero' });
          return;
        }
        if (!r.ok) throw new Error(r.reason);
        const [num, den] = expected;
        // Cross-multiplication: equal as rationals, and the result is reduced with a positive denominator.
        expect(r.value.num * den).toBe(num * r.value.den);
        expect(r.value.den > 0n).toBe(true);
        expect(r.numbers).toEqual(leaves(tree));
      }),
      { numRuns: 400 },
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.stringMatching(/^[0-9+\-*/() ]{0,250}$/)), (text) => {
        const r = evaluateExpression(text);
        expect(typeof r.ok).toBe('boolean');
        if (r.ok) {
          expect(text).toMatch(/^[0-9+\-*/() ]+$/);
          expect(isInteger(r.value) || r.value.den > 1n).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('stays fast on huge and deeply nested input', () => {
    const huge = '('.repeat(1_000_000) + '1' + ')'.repeat(1_000_000);
    const started = performance.now();
    expect(evaluateExpression(huge).ok).toBe(false);
    expect(evaluateExpression(huge, { maxLength: 3_000_000 }).ok).toBe(false); // depth cap, no stack overflow
    expect(evaluateExpression('9*'.repeat(1_000_000) + '9').ok).toBe(false); // rejected by length before any arithmetic
    // The worst product the default cap admits is a few hundred digits: still instant.
    expect(evaluateExpression(`${'9999999*'.repeat(24)}9999999`).ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('compares rationals', () => {
    const half: Rational = { num: 1n, den: 2n };
    expect(rationalEquals(half, { num: 1n, den: 2n })).toBe(true);
    expect(rationalEquals(half, { num: 2n, den: 4n })).toBe(false); // callers compare reduced values only
    expect(formatRational({ num: -3n, den: 1n })).toBe('-3');
  });
});

describe('extractLastBoxed', () => {
  it('takes the last boxed with nested braces, skipping unclosed ones', () => {
    expect(extractLastBoxed('no answer')).toBeNull();
    expect(extractLastBoxed('\\boxed{1} then \\boxed{2}')).toBe('2');
    expect(extractLastBoxed('\\boxed{\\frac{1}{2}}')).toBe('\\frac{1}{2}');
    expect(extractLastBoxed('\\boxed{a} and \\boxed{b')).toBe('a');
    expect(extractLastBoxed('\\boxed{}')).toBe('');
    expect(extractLastBoxed('}{ \\boxed{x}}')).toBe('x');
  });

  it('is linear on adversarial input', () => {
    const text = '\\boxed{'.repeat(200_000);
    const started = performance.now();
    expect(extractLastBoxed(text)).toBeNull();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
