import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareAnswers } from '../../../../operators/verify/math/compare.js';
import { createCas } from '../../../../operators/verify/math/symbolic.js';

const cas = createCas();
const eq = (g: string, p: string) => compareAnswers(g, p, undefined, { cas });

describe('compareAnswers: equal forms', () => {
  it.each([
    ['\\frac{1}{2}', '0.5', 'numeric'],
    ['\\frac{1}{2}', '1/2', 'numeric'],
    ['1.5\\times10^{3}', '1500', 'numeric'],
    ['2e-3', '0.002', 'numeric'],
    ['\\frac{1}{3}', '0.333333', 'numeric'],
    ['123456789012345678901234567890', '123456789012345678901234567890.0', 'numeric'],
    ['3\\sqrt{13}', '\\sqrt{117}', 'symbolic'],
    ['\\frac{\\sqrt{3}}{2}', '\\sqrt{3}/2', 'symbolic'],
    ['\\pi/2', '\\frac{\\pi}{2}', 'symbolic'],
    ['6-5i', '-5i+6', 'symbolic'],
    ['x^2+2x+1', '(x+1)^2', 'symbolic'],
    ['\\cot x', '\\frac{\\cos x}{\\sin x}', 'symbolic'],
    ['(3, \\frac{\\pi}{2})', '\\left(3,\\pi/2\\right)', 'structure'],
    ['[-2, 7)', '[-2,7)', 'string'],
    ['(-\\infty, 2] \\cup (5, \\infty)', '(5,\\infty)\\cup(-\\infty,2]', 'structure'],
    ['3, 5, 7', '7, 3, 5', 'structure'],
    ['\\{1, -2\\}', '-2, 1', 'structure'],
    ['x = 5', '5', 'string'],
    ['\\text{(C)}', 'C', 'choice'],
    ['\\textbf{(B)}', '\\mathbf{B}', 'choice'],
    ['\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}', '\\begin{pmatrix}1 & 2\\\\ 3 & \\frac{8}{2}\\end{pmatrix}', 'structure'],
    ['10\\%', '0.1', 'numeric'],
    ['10\\%', '10', 'string'],
  ])('%s = %s (%s)', (g, p, method) => {
    const c = eq(g, p);
    expect(c.equal).toBe(true);
    expect(c.method).toBe(method);
  });
});

describe('compareAnswers: different values', () => {
  it.each([
    ['2', '3'],
    ['\\frac{1}{3}', '0.33'],
    ['\\frac{2}{3}', '\\frac{3}{2}'],
    ['-4', '4'],
    ['(1, 2)', '(2, 1)'],
    ['[1, 2]', '[1, 2)'],
    ['3, 5, 7', '3, 5'],
    ['x^2+1', 'x^2+2'],
    ['2\\sqrt{2}', '\\sqrt{6}'],
    ['6-5i', '6+5i'],
    ['\\text{(C)}', 'D'],
    ['\\begin{pmatrix} 1 & 2 \\end{pmatrix}', '\\begin{pmatrix} 2 & 1 \\end{pmatrix}'],
    ['\\pi', '3.14'],
    ['5', ''],
  ])('%s ≠ %s', (g, p) => {
    expect(eq(g, p).equal).toBe(false);
  });
  it('refuses over-long inputs without parsing them', () => {
    const c = eq('1'.repeat(5000), '1'.repeat(5000));
    expect(c).toMatchObject({ equal: false, method: 'too-long' });
  });
});

describe('compareAnswers: properties', () => {
  it('a fraction equals itself written as a/b and as \\dfrac, and differs from its successor', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (n, d) => {
        const frac = n < 0 ? `-\\frac{${-n}}{${d}}` : `\\frac{${n}}{${d}}`;
        expect(eq(frac, `${n}/${d}`).equal).toBe(true);
        expect(eq(`${n}/${d}`, frac.replace('\\frac', '\\dfrac')).equal).toBe(true);
        expect(eq(frac, `${n + d}/${d}`).equal).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
  it('is symmetric on integers and decimals', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 }), (a, b) => {
        expect(eq(String(a), `${b}.0`).equal).toBe(eq(`${b}.0`, String(a)).equal);
        expect(eq(String(a), `${b}.0`).equal).toBe(a === b);
      }),
      { numRuns: 200 },
    );
  });
});
