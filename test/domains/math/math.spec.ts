import { describe, expect, it } from 'vitest';
import { domainOf } from '../../../domains/registry.js';
import { describeMathStep, mathDomain, mathPrompt } from '../../../domains/math/index.js';
import { goBackSentence } from '../../../operators/linearize/phrases.js';
import type { Problem } from '../../../schemas/problem.js';

const problem: Problem = { id: 'm1', domain: 'math', source: 'math500', question: 'Compute $\\frac{1}{2} + \\frac{1}{4}$.', answer: '\\frac34' };

describe('math domain', () => {
  it('is registered under its name', () => {
    expect(domainOf('math')).toBe(mathDomain);
    expect(mathDomain.generate).toBeUndefined();
  });

  it('asks for "## Step k:" paragraphs separated by a blank line and a final \\boxed{}', () => {
    const prompt = mathPrompt(problem);
    expect(prompt).toContain('## Step k:');
    expect(prompt).toContain('blank line');
    expect(prompt).toContain('\\boxed{}');
    expect(prompt.endsWith(`Problem: ${problem.question}`)).toBe(true);
  });

  it('verifies with the math verifier: equivalent forms are correct, the last box decides', async () => {
    expect(mathDomain.verifier.name).toBe('math');
    expect((await mathDomain.verifier.verify(problem, '## Step 2: So the sum is \\boxed{0.75}.')).correct).toBe(true);
    expect((await mathDomain.verifier.verify(problem, '\\boxed{3/4} no wait \\boxed{1}')).correct).toBe(false);
    expect((await mathDomain.verifier.verify(problem, 'no answer here at all, just words')).correct).toBe(false);
  });

  it('describes a step for a backtrack sentence: its number and first sentence, boxes unwrapped, cut at 80 chars', () => {
    expect(describeMathStep('## Step 2: We have that $r = 3$. Also the angle is $\\pi/2$.')).toBe('reached step 2 ("We have that $r = 3$")');
    expect(describeMathStep('## Step 3: The answer is \\boxed{5}.')).toBe('reached step 3 ("The answer is {5}")');
    const long = describeMathStep(`## Step 1: ${'x'.repeat(200)}`);
    expect(long.length).toBeLessThan(110);
    expect(long).toContain('…');
    expect(describeMathStep('Just some text.')).toBe('reached this step ("Just some text")');
    // It reads as a sentence after "Let's go back to where we".
    expect(goBackSentence(describeMathStep('## Step 1: Let $x = 2$.'))).toBe('Let\'s go back to where we reached step 1 ("Let $x = 2$").');
  });
});
