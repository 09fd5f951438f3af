import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compareAnswers } from '../../../../operators/verify/math/compare.js';
import { extractAnswers } from '../../../../operators/verify/math/extract.js';
import { createMathVerifier, DEFAULT_MATH_VERIFIER_CONFIG } from '../../../../operators/verify/math/mathVerifier.js';
import type { Problem } from '../../../../schemas/problem.js';
import { CasPool } from '../../../../streams/verifier/casPool.js';

// The verifier's bound (2 s) plus what a loaded 2-core machine adds to a timer and a reply.
const BOUND_MS = DEFAULT_MATH_VERIFIER_CONFIG.timeoutMs;
const SLACK_MS = 3000;
// The inline checks (no CAS) are cheap by construction: linear scans, a depth-capped parser,
// O(1) numeric operations. This is their budget per call on a loaded machine.
const INLINE_MS = 750;

const pool = new CasPool();
const verifier = createMathVerifier({}, { cas: pool });
afterAll(() => pool.close());

const problem = (answer: string): Problem => ({ id: 'p', domain: 'math', source: 'fuzz', question: 'q', answer });

async function timedVerify(gold: string, response: string): Promise<{ ms: number; correct: boolean; method: string | undefined }> {
  const t0 = performance.now();
  const v = await verifier.verify(problem(gold), response);
  return { ms: performance.now() - t0, correct: v.correct, method: v.method };
}

const BIG = '9'.repeat(10_000);
const MB = 1 << 20;

describe('math verifier fuzz: every call returns within the bound', () => {
  it.each([
    ['(99!)!', '3', '\\boxed{(99!)!}'],
    ['((10!)!)!', '3', '\\boxed{((10!)!)!}'],
    ['\\Gamma(10^9)', '3', '\\boxed{\\Gamma(10^9)}'],
    ['power tower', '3', '\\boxed{2^{2^{2^{2^{2^2}}}}}'],
    ['huge exponent', '10^{100000001}', '\\boxed{10^{100000000}}'],
    ['1000000!', '3', 'so \\boxed{1000000!}'],
    ['10,000-digit numbers', BIG, `\\boxed{${BIG}}`],
    ['10,000-digit number against a tower', BIG, '\\boxed{10^{10^{4}}-1}'],
    ['1 MB of digits', '1', '1'.repeat(MB)],
    ['1 MB inside a box', '1', `\\boxed{${'9'.repeat(MB)}}`],
    ['1 MB of open braces', '1', '{'.repeat(MB / 2) + '}'.repeat(MB / 2)],
    ['1 MB of dollars', '1', '$'.repeat(MB)],
    ['1 MB of unbalanced boxes', '\\frac12', '\\boxed{\\frac{1}{2'.repeat(MB / 16)],
    ['1 MB of prose', '7', `${'The answer is not here. '.repeat(MB / 24)} so \\boxed{7}`],
    ['deep nesting', '2', '\\sqrt{'.repeat(5000) + '2' + '}'.repeat(5000)],
    ['many variables', 'a+b+c+d+e+f+g+h', 'h+g+f+e+d+c+b+a'],
    ['a long list', Array.from({ length: 200 }, (_, i) => String(i)).join(','), Array.from({ length: 200 }, (_, i) => String(199 - i)).join(',')],
    ['an unreadable pair for the CAS', '-2', '\\boxed{\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}'],
  ])('%s', async (_name, gold, response) => {
    const r = await timedVerify(gold, response);
    expect(typeof r.correct).toBe('boolean');
    expect(typeof r.method).toBe('string');
    expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS);
  });

  it('judges the dangerous forms not equal without any CAS call: the guards refuse them first', async () => {
    const before = pool.stats().calls;
    for (const bad of ['(99!)!', '((10!)!)!', '\\Gamma(10^9)', '2^{2^{2^{2^{2^2}}}}', '(20!)!']) {
      expect(await verifier.verify(problem('3'), `\\boxed{${bad}}`)).toMatchObject({ correct: false, method: 'guard' });
    }
    expect(pool.stats().calls).toBe(before);
  });

  it('random LaTeX token soups: inline comparison stays cheap, the full verifier stays within the bound', async () => {
    const TOKENS = ['\\frac', '\\sqrt', '{', '}', '(', ')', '[', ']', '\\{', '\\}', '^', '_', '1', '2', '9', 'x', 'y', 'i', '\\pi', '+', '-', '*', '/', ',', '=', '<', '\\le', '\\cup', '\\left(', '\\right)', '\\text{', '\\boxed{', '\\infty', '.', ' ', '\\', '\\begin{pmatrix}', '&', '\\\\', '\\end{pmatrix}', '!', '%', '$', '999999', '\\sin', '\\int', '^{1000}', '\\pm', '|', ':', ';', '\\det', '\\sum_{k=1}^{n}'];
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(''));
    let worstInline = 0;
    let worstCall = 0;
    await fc.assert(
      fc.asyncProperty(soup, soup, async (a, b) => {
        const t0 = performance.now();
        compareAnswers(a, b);
        compareAnswers(a, a);
        extractAnswers(a);
        worstInline = Math.max(worstInline, (performance.now() - t0) / 2);
        const r = await timedVerify(a, b);
        worstCall = Math.max(worstCall, r.ms);
        expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS);
      }),
      { numRuns: 300, seed: 4 },
    );
    console.log(`fuzz: worst inline comparison ${worstInline.toFixed(1)} ms, worst verification ${worstCall.toFixed(0)} ms`);
    expect(worstInline).toBeLessThan(INLINE_MS);
  });

  it('arbitrary unicode responses never throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 400, unit: 'binary' }), fc.string({ maxLength: 60 }), async (response, gold) => {
        const r = await timedVerify(gold, response);
        expect(typeof r.correct).toBe('boolean');
        expect(r.ms).toBeLessThan(BOUND_MS + SLACK_MS);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('finds the final box of a long solution even after 100k characters of trailing text', async () => {
    expect((await timedVerify('7', `so \\boxed{7}.${' And more.'.repeat(10_000)}`)).correct).toBe(true);
  });
});
