import { describe, expect, it } from 'vitest';
import { extractAnswer, extractAnswers } from '../../../../operators/verify/math/extract.js';
import { findBoxes, joinBoxes } from '../../../../operators/verify/math/boxes.js';
import { findMath } from '../../../../operators/verify/math/mathSpans.js';
import { undoubleEscapes } from '../../../../operators/verify/math/escapes.js';

const boxed = (text: string): string | null => joinBoxes(text, findBoxes(text));

describe('boxes', () => {
  it('takes the last box with nested braces, \\fbox and the space form', () => {
    expect(boxed('first \\boxed{1} then, a long way further on, we find that \\boxed{\\frac{1}{2}}.')).toBe('\\frac{1}{2}');
    expect(boxed('\\boxed{\\left\\{ 1, 2 \\right\\}}')).toBe('\\left\\{ 1, 2 \\right\\}');
    expect(boxed('so \\fbox{42}')).toBe('42');
    expect(boxed('$\\boxed 5$')).toBe('5');
    expect(boxed('no box here')).toBeNull();
  });

  it('joins boxes that form one answer: adjacent, or separated by a comma / and / or', () => {
    expect(boxed('$\\boxed{1}\\boxed{2}$')).toBe('1,2');
    expect(boxed('\\boxed{1} and \\boxed{2} and \\boxed{3}')).toBe('1,2,3');
    expect(boxed('$$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$$')).toBe('(2, 2),(6, 2)');
    expect(boxed('the pairs \\boxed{(7, 1)}, \\boxed{(1, 7)}')).toBe('(7, 1),(1, 7)');
  });

  it('does not join a box the text revises or one far away, and counts a repeated box once', () => {
    expect(boxed('First I thought it was \\boxed{A}, but then I realized it is \\boxed{B}')).toBe('B');
    expect(boxed('\\boxed{3/4} no wait \\boxed{1}')).toBe('1');
    expect(boxed('\\boxed{1} no no no no no \\boxed{2}')).toBe('2');
    expect(boxed(`\\boxed{5}.${' Then some more reasoning.'.repeat(4)}\n\n**Final Answer**\n\\boxed{5}`)).toBe('5');
    expect(boxed('\\boxed{7}, \\boxed{7}')).toBe('7');
  });

  it('reads a box left open at the end of a cut-off text, and is linear on thousands of unbalanced boxes', () => {
    expect(boxed('so \\boxed{1, 2')).toBe('1, 2');
    expect(boxed('\\boxed{3}. After checking it again more carefully, we find \\boxed{4')).toBe('4');
    const hostile = '\\boxed{\\frac{1}{2'.repeat(20_000);
    const t0 = performance.now();
    findBoxes(hostile);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('math segments', () => {
  it('finds $…$, $$…$$, \\(…\\) and \\[…\\]; an escaped \\$ and a $ across a line break are not delimiters', () => {
    expect(findMath('a $x$ b $$y$$ c \\(z\\) d \\[w\\]').map((s) => s.inner)).toEqual(['x', 'y', 'z', 'w']);
    expect(findMath('Answer $ \\frac{1}{2} \\$ = \\frac{10}{9} $').map((s) => s.inner)).toEqual([' \\frac{1}{2} \\$ = \\frac{10}{9} ']);
    expect(findMath('It costs $5.\nThen $x$').map((s) => s.inner)).toEqual(['x']);
  });
});

describe('double escapes', () => {
  it('reads commands escaped twice (JSON dumps) and written-out line breaks, keeping matrix row breaks', () => {
    expect(undoubleEscapes('\\\\left(\\\\frac{1}{5},\\\\frac{1}{6}\\\\right)')).toBe('\\left(\\frac{1}{5},\\frac{1}{6}\\right)');
    expect(undoubleEscapes('\\\\dfrac{1}{2} +\\frac{1}{72}')).toBe('\\dfrac{1}{2} +\\frac{1}{72}');
    expect(undoubleEscapes('so.\\n\\nTherefore $x \\neq 1$')).toBe('so.\n\nTherefore $x \\neq 1$');
    expect(undoubleEscapes('\\begin{pmatrix}1\\\\2\\end{pmatrix}')).toBe('\\begin{pmatrix}1\\\\2\\end{pmatrix}');
    expect(undoubleEscapes('a \\\\ \\sqrt{3}')).toBe('a \\\\ \\sqrt{3}');
  });
});

describe('extractAnswer', () => {
  it.each([
    ['x \\boxed{7}\n#### 9', '7', 'boxed'],
    ['She makes 9 * 2 = $18.\n#### 18', '18', 'gsm8k'],
    ['Long reasoning. The final answer is $\\frac{3}{4}$. I hope it is correct.', '\\frac{3}{4}', 'final-answer'],
    ['Final Answer: The largest $n$ is 34.', '34', 'final-answer'],
    ['The answer is -50.', '-50', 'final-answer'],
    ['Answer \\[ 9 \\]', '9', 'final-answer'],
    ['  (1, 2) ', '(1, 2)', 'whole'],
    ['28 percent', '28 percent', 'whole'],
    ['10 square units', '10 square units', 'whole'],
    ['Evelyn', 'Evelyn', 'whole'],
    ['\\frac{\\sqrt{3}}{2}', '\\frac{\\sqrt{3}}{2}', 'whole'],
    ['$1$ and $2$ and $3$', '$1$ and $2$ and $3$', 'whole'],
    ['So the roots are $1$ and $2$, which we check in the original equation to be sure.', '1, 2', 'math'],
    ['the number is not 10 which is 1,000.99\u20ac', '1,000.99', 'last-number'],
    ['Soucis : 2,74 $ a..', '2,74', 'last-number'],
    ['The speed is 50 km/h', '50', 'last-number'],
  ])('%j → %j (%s)', (text, answer, method) => {
    expect(extractAnswer(text)).toMatchObject({ answer, method });
  });

  it('lets the last statement of the answer win over earlier intermediate boxes', () => {
    const text = 'interest $= \\boxed{200}$ and then $= \\boxed{255}$ So she has $10,455. Final Answer: The final answer is $10,455$. I hope it is correct.';
    expect(extractAnswer(text)).toMatchObject({ answer: '10,455', method: 'final-answer' });
    // Words after the phrase ("our answer is correct") do not outrank the box.
    expect(extractAnswer('so \\boxed{44}. We check: so our answer is correct.')).toMatchObject({ answer: '44', method: 'boxed' });
  });

  it('marks prose numbers as plain text (a decimal comma may be meant) and boxes as LaTeX', () => {
    expect(extractAnswer('it is 1000,99')?.plain).toBe(true);
    expect(extractAnswer('\\boxed{-2,1}')?.plain).toBe(false);
  });

  it('finds nothing in empty or answer-less text', () => {
    expect(extractAnswer('   ')).toBeNull();
    expect(extractAnswer('AZYUK2A and more words here')).toBeNull();
    expect(extractAnswers('no answer here at all, just words')).toEqual([]);
  });
});
