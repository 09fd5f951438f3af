import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareAnswers } from '../../../../operators/verify/math/compare.js';
import { extractAnswer } from '../../../../operators/verify/math/extract.js';
import { createMathVerifier } from '../../../../operators/verify/math/mathVerifier.js';
import { createCas } from '../../../../operators/verify/math/symbolic.js';

// One call may never take longer than this (the CAS is in-process; see compare.ts).
const PER_CALL_MS = 1000;
const cas = createCas();

const TOKENS = ['\\frac', '\\sqrt', '{', '}', '(', ')', '[', ']', '\\{', '\\}', '^', '_', '1', '2', '9', 'x', 'y', 'i', '\\pi', '+', '-', '*', '/', ',', '=', '\\cup', '\\left(', '\\right)', '\\text{', '\\boxed{', '\\infty', '.', ' ', '\\', '\\begin{pmatrix}', '&', '\\\\', '\\end{pmatrix}', '!', '%', '$', '999999', '\\sin', '\\int', '^{1000}'];
const latex = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(''));

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

describe('math verifier fuzz: never hangs, never throws', () => {
  it('random LaTeX token soup, compared against itself and against another soup', () => {
    let worst = 0;
    fc.assert(
      fc.property(latex, latex, (a, b) => {
        const r1 = timed(() => compareAnswers(a, b, undefined, { cas }));
        const r2 = timed(() => compareAnswers(a, a, undefined, { cas }));
        worst = Math.max(worst, r1.ms, r2.ms);
        expect(typeof r1.value.equal).toBe('boolean');
        expect(r1.ms).toBeLessThan(PER_CALL_MS);
        expect(r2.ms).toBeLessThan(PER_CALL_MS);
      }),
      { numRuns: 300, seed: 4 },
    );
    console.log(`fuzz worst call: ${worst.toFixed(1)} ms`);
  });

  it.each([
    ['huge input', '1'.repeat(1_000_000), '1'],
    ['deep braces', '{'.repeat(50_000) + '}'.repeat(50_000), '1'],
    ['unbalanced braces', '\\boxed{\\frac{1}{2'.repeat(2000), '\\frac12'],
    ['unbalanced box at the very start', '\\boxed{\\frac{1}{2', '2'],
    ['power tower', '2^{2^{2^{2^{2^{2}}}}}', '3'],
    ['huge exponent', '10^{100000000}', '10^{100000001}'],
    ['factorial', '1000000!', '3'],
    ['many variables', 'a+b+c+d+e+f+g+h', 'h+g+f+e+d+c+b+a'],
    ['long sum', Array.from({ length: 140 }, (_, i) => `x^${i % 9}`).join('+'), 'x'],
    ['nested sqrt', '\\sqrt{'.repeat(200) + '2' + '}'.repeat(200), '2'],
  ])('%s returns in time', async (_name, gold, pred) => {
    const v = createMathVerifier();
    const t0 = performance.now();
    const verdict = await v.verify({ id: 'p', domain: 'math', source: 'fuzz', question: 'q', answer: gold.slice(0, 5000) }, `\\boxed{${pred}} ${gold}`);
    expect(performance.now() - t0).toBeLessThan(PER_CALL_MS);
    expect(typeof verdict.correct).toBe('boolean');
    const t1 = performance.now();
    extractAnswer(gold);
    compareAnswers(gold, pred, undefined, { cas });
    expect(performance.now() - t1).toBeLessThan(PER_CALL_MS);
  });
});

describe('math verifier fuzz: arbitrary unicode strings', () => {
  it('extraction and comparison never throw and stay within the time bound', async () => {
    const v = createMathVerifier();
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 400, unit: 'binary' }), fc.string({ maxLength: 60 }), async (response, gold) => {
        const t0 = performance.now();
        const verdict = await v.verify({ id: 'p', domain: 'math', source: 'fuzz', question: 'q', answer: gold }, response);
        expect(typeof verdict.correct).toBe('boolean');
        expect(performance.now() - t0).toBeLessThan(PER_CALL_MS);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('finds the final box of a long solution even after 100k characters of trailing text', async () => {
    const v = createMathVerifier();
    const verdict = await v.verify({ id: 'p', domain: 'math', source: 'fuzz', question: 'q', answer: '7' }, `so \\boxed{7}.${' And more.'.repeat(10_000)}`);
    expect(verdict.correct).toBe(true);
  });
});

describe('math verifier: CAS budget on structured answers', () => {
  it('two 60-item lists needing the CAS finish quickly: calls are capped per comparison', () => {
    const gold = Array.from({ length: 60 }, (_, i) => `\\sqrt{${i + 2}}x^{${(i % 5) + 1}}`);
    const commuted = [...gold].reverse().map((t) => t.replace(/^(\\sqrt\{\d+\})(x\^\{\d\})$/, '$2$1'));
    const t0 = performance.now();
    const c = compareAnswers(gold.join(','), commuted.join(','), undefined, { cas });
    expect(performance.now() - t0).toBeLessThan(PER_CALL_MS);
    // Past the budget the verdict is a deterministic "not equal", never a hang.
    expect(c).toMatchObject({ equal: false, method: 'structure' });
    // A reordered list of identical items needs no CAS call at all.
    const d = compareAnswers(gold.join(','), [...gold].reverse().join(','), undefined, { cas });
    expect(d).toMatchObject({ equal: true, method: 'structure' });
    // And a short commuted list is within budget.
    expect(compareAnswers(gold.slice(0, 4).join(','), commuted.slice(-4).join(','), undefined, { cas }).equal).toBe(true);
  });
});
