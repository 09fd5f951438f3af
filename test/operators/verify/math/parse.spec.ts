import { describe, expect, it } from 'vitest';
import type { Node } from '../../../../operators/verify/math/ast.js';
import { parseLatex } from '../../../../operators/verify/math/parse.js';
import { toLatex } from '../../../../operators/verify/math/print.js';
import { ParseError } from '../../../../operators/verify/math/tokens.js';

const kind = (s: string): string => parseLatex(s).t;

describe('parseLatex', () => {
  it('reads numbers exactly and remembers written decimals', () => {
    expect(parseLatex('0.25')).toEqual({ t: 'num', n: 1n, d: 4n, float: true });
    expect(parseLatex('123456789012345678901234567890')).toEqual({ t: 'num', n: 123456789012345678901234567890n, d: 1n, float: false });
    expect(parseLatex('2.5\\times10^{-3}')).toEqual({ t: 'num', n: 1n, d: 400n, float: true });
    expect(parseLatex('918\\frac{1}{2}')).toEqual({ t: 'num', n: 1837n, d: 2n, float: false });
  });

  it('reads the structure of an answer', () => {
    expect(kind('1, 2, 3')).toBe('list');
    expect(kind('\\{1, 2\\}')).toBe('set');
    expect(kind('(1, 2]')).toBe('tuple');
    expect(kind('\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}')).toBe('matrix');
    expect(kind('x \\le 5')).toBe('rel');
    expect(kind('0 < f(x) < 1')).toBe('rel');
    expect(kind('(-\\infty, 1) \\cup (2, \\infty)')).toBe('setop');
    expect(kind('x \\in [0, 1]')).toBe('in');
    expect(kind('1 \\pm \\sqrt{19}')).toBe('pm');
    expect(kind('7:32')).toBe('ratio');
    expect(kind('p=5,q=2;p=7,q=2')).toBe('list');
  });

  it('knows functions, implicit products, shorthand arguments and subscripts', () => {
    expect(toLatex(parseLatex('\\sin^2 x'))).toBe('(\\sin(x))^{2}');
    expect(toLatex(parseLatex('\\frac12'))).toBe('\\frac{1}{2}');
    expect(toLatex(parseLatex('\\sqrt[3]{x}'))).toBe('\\sqrt[3]{x}');
    expect(parseLatex('a_{37}')).toEqual({ t: 'sym', name: 'a_37' });
    expect(parseLatex('204_5')).toEqual({ t: 'sym', name: '204_5' });
    expect(parseLatex('f(x)')).toEqual({ t: 'apply', name: 'f', args: [{ t: 'sym', name: 'x' }] });
    expect((parseLatex('2x(x+1)') as Extract<Node, { t: 'mul' }>).args).toHaveLength(3);
    expect(parseLatex('|x-2|')).toMatchObject({ t: 'fn', name: 'abs' });
    expect(parseLatex('90^\\circ')).toMatchObject({ t: 'fn', name: 'deg' });
  });

  it('refuses what it does not read, and deep nesting, with a ParseError', () => {
    for (const bad of ['\\int_0^1 x dx', '(1, 2', '\\frac{1}', '{'.repeat(100) + '1' + '}'.repeat(100), '1 @ 2']) {
      expect(() => parseLatex(bad), bad).toThrow(ParseError);
    }
  });
});
