import { describe, expect, it } from 'vitest';
import { normalizeAnswer } from '../../../../operators/verify/math/normalize.js';

describe('normalizeAnswer (MATH conventions)', () => {
  it.each([
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})'],
    ['\\dfrac{3}{4}', '\\frac{3}{4}'],
    ['\\tfrac12', '\\frac{1}{2}'],
    ['\\frac{\\sqrt3}2', '\\frac{\\sqrt{3}}{2}'],
    ['11\\sqrt2', '11\\sqrt{2}'],
    ['90^\\circ', '90'],
    ['90^{\\circ}', '90'],
    ['45\\%', '45'],
    ['\\$18.90', '18.90'],
    ['$5$', '5'],
    ['10\\text{ inches}', '10'],
    ['5\\text{ cm}^2', '5'],
    ['\\text{Evelyn}', 'Evelyn'],
    ['\\textbf{(B)}', '(B)'],
    ['3.', '3'],
    ['1,000,000', '1000000'],
    ['10,\\!080', '10080'],
    ['11,\\! 111,\\! 111,\\! 100', '11111111100'],
    ['(2,12) \\cup (12,102)', '(2,12)\\cup(12,102)'],
    ['1, 2, 3, \\dots', '1,2,3'],
    ['.5', '0.5'],
    ['x \\in [1, 2]', '[1,2]'],
    ['\\cot x', '\\cot x'],
    ['\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}', '\\begin{pmatrix}1\\\\2\\end{pmatrix}'],
    ['6 \\! - \\! 5i', '6-5i'],
  ])('%s → %s', (raw, want) => {
    expect(normalizeAnswer(raw)).toBe(want);
  });
});
