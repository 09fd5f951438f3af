import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareAnswers, type AnswerText } from '../../../../operators/verify/math/compare.js';

const eq = (g: string | AnswerText, p: string | AnswerText) => compareAnswers(g, p);

describe('compareAnswers: equal forms', () => {
  it.each([
    // numbers
    ['\\frac{1}{2}', '0.5', 'numeric'],
    ['1.5\\times10^{3}', '1500', 'numeric'],
    ['\\frac{1}{3}', '0.333333', 'numeric'],
    ['\\frac{1}{7}', '0.142857', 'numeric'],
    ['123456789012345678901234567890', '123456789012345678901234567890.0', 'numeric'],
    ['8,250,000', '8250000', 'numeric'],
    ['2 500', '2500', 'numeric'],
    ['3\\frac{1}{4}', '3.25', 'numeric'],
    ['5 3/4', '5.75', 'numeric'],
    ['2^{10}', '1024', 'numeric'],
    ['1500', '1.5e3', 'numeric'],
    ['\\frac{3}{4}', '3:4', 'numeric'],
    ['6!', '720', 'numeric'],
    // closed forms and expressions
    ['3\\sqrt{13}', '\\sqrt{117}', 'numeric'],
    ['\\frac{\\sqrt{3}}{2}', '0.8660254', 'numeric'],
    ['\\pi/2', '\\frac{\\pi}{2}', 'numeric'],
    ['6-5i', '-5i+6', 'numeric'],
    ['2+3i', 'i(3-2i)', 'numeric'],
    ['x^2+2x+1', '(x+1)^2', 'sampling'],
    ['(a+3)(a+3)', '(a+3)^2', 'sampling'],
    ['\\cot x', '\\frac{\\cos x}{\\sin x}', 'sampling'],
    ['\\sin(90^\\circ - t)', '\\cos t', 'sampling'],
    ['\\frac{y+5}{3}', '\\frac{y}{3}+\\frac{5}{3}', 'sampling'],
    // percentages
    ['35\\%', '0.35', 'numeric'],
    ['35\\%', '35', 'numeric'],
    ['35\\%', '35 percent', 'string'],
    // structures
    ['(3, \\frac{\\pi}{2})', '\\left(3,\\pi/2\\right)', 'numeric'],
    ['(-\\infty, 2] \\cup (5, \\infty)', '(5,\\infty)\\cup(-\\infty,2]', 'set'],
    ['4, 9, 11', '11, 4, 9', 'structure'],
    ['\\{1, -3\\}', '-3, 1', 'structure'],
    ['(2, 5)', '{2, 5}', 'numeric'],
    ['\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}', '\\left[\\begin{array}{cc}1 & 2\\\\ 3 & \\frac{8}{2}\\end{array}\\right]', 'numeric'],
    ['\\begin{pmatrix}2&4\\\\6&8\\end{pmatrix}', '2\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}', 'numeric'],
    ['\\begin{pmatrix} 3 \\\\ -1 \\end{pmatrix}', '(3, -1)', 'numeric'],
    ['2 \\pm \\sqrt{7}', '2+\\sqrt{7}, 2-\\sqrt{7}', 'structure'],
    ['\\pm 17', '\\{17, -17\\}', 'structure'],
    // labels and equations
    ['m = 4', '4', 'numeric'],
    ['4', 'm = 4', 'numeric'],
    ['(a,b) = (1,5)', '(1, 5)', 'numeric'],
    ['PQ = 7, RS = 9', '7, 9', 'structure'],
    ['b_2 = 8, b_{10} = 3', 'b_{10} = 3, b_2 = 8', 'structure'],
    ['t = 2, 5, 9', '9, 5, 2', 'structure'],
    ['y = 3x - 1', '3x - y - 1 = 0', 'equation'],
    ['4x - 2y + z = 7', '-8x + 4y - 2z + 14 = 0', 'equation'],
    ['y = \\frac{4}{3}', 'y = 1+1 = \\frac{4}{3} \\approx 1.33', 'numeric'],
    // relations
    ['t \\ge 3', '3 \\le t', 'relation'],
    ['t < 4', '-t > -4', 'relation'],
    ['t < 4', '2t - 8 < 0', 'relation'],
    ['-1 \\le x \\le 6', '[-1, 6]', 'relation'],
    ['2 < g(t) < 5', '(2, 5)', 'relation'],
    ['2 \\le |z| \\le 3', '[-3,-2] \\cup [2,3]', 'relation'],
    ['x \\ne 4', 'x != 4', 'relation'],
    ['t \\le 1 \\text{ or } t \\ge 3', '(-\\infty,1] \\cup [3,\\infty)', 'relation'],
    // text, choices, units
    ['\\text{(D)}', 'D', 'string'],
    ['\\text{odd}', 'odd', 'string'],
    ['42\\text{ cm}^2', '42', 'string'],
    ['42 km', '42', 'string'],
    ['08:15 \\text{ P.M.}', '20:15', 'string'],
  ])('%s = %s (%s)', (g, p, method) => {
    const c = eq(g, p);
    expect(c.equal).toBe(true);
    expect(c.method).toBe(method);
  });

  it('reads a decimal comma in prose, not in LaTeX', () => {
    expect(eq({ text: '2.35' }, { text: '2,35', plain: true }).equal).toBe(true);
    expect(eq({ text: '0.25' }, { text: '0,25', plain: false }).equal).toBe(true);
    expect(eq({ text: '-2,1' }, { text: '-2.1', plain: false }).equal).toBe(false);
    expect(eq({ text: '-2,1' }, { text: '1, -2' }).equal).toBe(true);
  });
});

describe('compareAnswers: different values', () => {
  it.each([
    ['2', '3'],
    ['\\frac{1}{3}', '0.33'],
    ['\\frac{2}{3}', '\\frac{3}{2}'],
    ['-4', '4'],
    ['7', '7.001'],
    ['(1, 2)', '(2, 1)'],
    ['[1, 2]', '[1, 2)'],
    ['[x, x+2]', '[x+2, x]'],
    ['3, 5, 7', '3, 5'],
    ['x^2+1', 'x^2+2'],
    ['|x|', 'x'],
    ['2\\sqrt{2}', '\\sqrt{6}'],
    ['6-5i', '6+5i'],
    ['\\pi', '3.14'],
    ['40\\pi', '125.66'],
    ['25, 618', '25618'],
    ['\\text{(C)}', 'D'],
    ['\\begin{pmatrix} 1 & 2 \\end{pmatrix}', '\\begin{pmatrix} 2 & 1 \\end{pmatrix}'],
    ['\\begin{pmatrix}1&2&3\\\\4&5&6\\\\7&8&9\\end{pmatrix}', '3'],
    ['\\pm 9', '9'],
    ['x = 3', 'y = 3'],
    ['\\sin(t) = \\frac{3}{5}', '\\cos(t) = \\frac{3}{5}'],
    ['5 = 2a + b', '2a + b'],
    ['2u + v = 6', '6'],
    ['f(s)', 'f(t)'],
    ['t > 2', 't < 2'],
    ['t \\ge 2', 't \\le 2'],
    ['t < 3', 't > -3'],
    ['[-1, 6]', '-1 \\le x \\le 6'],
    ['\\text{odd}', '\\text{even}'],
    ['12:00', '1:00'],
    ['5', ''],
  ])('%s ≠ %s', (g, p) => {
    expect(eq(g, p).equal).toBe(false);
  });

  it('never lets a last-number fallback match a gold that is not a plain number', () => {
    expect(eq({ text: '\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}' }, { text: '1', fallback: true })).toMatchObject({ equal: false, method: 'fallback' });
    expect(eq({ text: 'x + 1' }, { text: 'x + 1', fallback: true }).equal).toBe(false);
    expect(eq({ text: '12' }, { text: '12', fallback: true }).equal).toBe(true);
    expect(eq({ text: 'k = 12' }, { text: '12', fallback: true }).equal).toBe(true);
  });

  it('refuses over-long inputs without parsing them, and says when only a CAS could tell', () => {
    expect(eq('1'.repeat(5000), '1'.repeat(5000))).toMatchObject({ equal: false, method: 'too-long' });
    expect(eq('\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}', '-2')).toMatchObject({ equal: false, method: 'unparsed', needsCas: true });
    // Guarded inputs are settled inline: no CAS is ever asked about them.
    expect(eq('3', '(99!)!')).toMatchObject({ equal: false, method: 'guard', needsCas: false });
  });
});

describe('compareAnswers: properties', () => {
  it('a fraction equals itself as a/b, as \\dfrac and as a rounded decimal, and differs from its successor', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (n, d) => {
        const frac = n < 0 ? `-\\frac{${-n}}{${d}}` : `\\frac{${n}}{${d}}`;
        expect(eq(frac, `${n}/${d}`).equal).toBe(true);
        expect(eq(`${n}/${d}`, frac.replace('\\frac', '\\dfrac')).equal).toBe(true);
        expect(eq(frac, (n / d).toFixed(6)).equal).toBe(true);
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

  it('a polynomial equals its expansion in any order of terms, and not after changing one coefficient', () => {
    fc.assert(
      fc.property(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -9, max: 9 }), fc.integer({ min: 1, max: 9 }), (a, b, bump) => {
        const factored = `(x${a < 0 ? a : `+${a}`})(x${b < 0 ? b : `+${b}`})`;
        const expanded = `${a * b} + x^2 + ${a + b}x`;
        expect(eq(factored, expanded).equal).toBe(true);
        expect(eq(factored, `${a * b + bump} + x^2 + ${a + b}x`).equal).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
