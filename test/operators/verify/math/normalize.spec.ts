import { describe, expect, it } from 'vitest';
import { normalizeAnswer } from '../../../../operators/verify/math/normalize.js';

describe('normalizeAnswer', () => {
  it.each([
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})'],
    ['\\dfrac{3}{4}', '\\frac{3}{4}'],
    ['\\tfrac12', '\\frac12'],
    ['90^{\\circ}', '90^\\circ'],
    ['45\\%', '45%'],
    ['\\$18.90', '18.90'],
    ['$5$', '5'],
    ['10\\text{ inches}', '10'],
    ['5\\text{ cm}^2', '5'],
    ['15\\mbox{ cm}^2', '15'],
    ['125\\textnormal{ miles}', '125'],
    ['\\frac{1}{3} \\textbf{meters}', '\\frac{1}{3}'],
    ['10 square units', '10'],
    ['10weeks', '10'],
    ['28 percent', '28%'],
    ['28 pct', '28%'],
    ['\\text{Evelyn}', 'Evelyn'],
    ['\\textbf{(B)}', '(B)'],
    ['\\mathrm{E}', 'E'],
    ['3.', '3'],
    ['185\\', '185'],
    ['.5', '0.5'],
    ['10,\\!080', '10080'],
    ['14{,}916', '14916'],
    ['11,\\! 111,\\! 111,\\! 100', '11111111100'],
    ['1, 2, 3, \\dots', '1, 2, 3'],
    ['6 \\text{ and } 8', '6,8'],
    ['19, 46, and 82', '19, 46,82'],
    ['1 1/2', '1\\frac{1}{2}'],
    ['2^6 3^5 5^4', '2^6 3^5 5^4'],
    ['\\cot x', '\\cot x'],
    ['08:34 \\text{P.M.}', '20:34'],
    ['20:34:00', '20:34'],
    ['12:00', '12:00'],
    ['\\\\frac{1}{5}', '\\frac{1}{5}'],
    ['\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}', '\\begin{pmatrix}1\\\\2\\end{pmatrix}'],
    ['x \\geq 5', 'x\\geq 5'],
  ])('%s → %s', (raw, want) => {
    expect(normalizeAnswer(raw)).toBe(want);
  });

  it('keeps letters that are variables: a product glued to a number is not a unit', () => {
    expect(normalizeAnswer('2ab')).toBe('2ab');
    expect(normalizeAnswer('10m')).toBe('10m');
    expect(normalizeAnswer('3 \\sin x')).toBe('3\\sin x');
  });
});
