import { describe, expect, it } from 'vitest';
import { ANSWER_OFFSET, applyAction, countdownDomain, describeCountdownStep, initialState, replaySteps } from '../../../domains/countdown/index.js';
import { STEP_DELIMITER } from '../../../operators/mcts/policy.js';

describe('countdownDomain', () => {
  it('exposes the verifier and a difficulty-driven generator', async () => {
    expect(countdownDomain.name).toBe('countdown');
    expect(countdownDomain.verifier.name).toBe('countdown');
    const problems = countdownDomain.generate?.({ count: 5, seed: 2, difficulty: 5 }) ?? [];
    expect(problems).toHaveLength(5);
    for (const p of problems) {
      expect(p.numbers).toHaveLength(5);
      const meta = JSON.parse(p.meta_json ?? '{}') as { solution: string };
      expect((await countdownDomain.verifier.verify(p, `\\boxed{${meta.solution}}`)).correct).toBe(true);
    }
    expect(countdownDomain.generate?.({ count: 3, seed: 2 }).every((p) => p.numbers?.length === 4)).toBe(true);
  });

  it('prompts with the exact step and answer formats', () => {
    const p = countdownDomain.generate?.({ count: 1, seed: 4, difficulty: 4 })[0];
    if (p === undefined) throw new Error('no problem');
    const prompt = countdownDomain.prompt(p);
    expect(prompt.startsWith(p.question)).toBe(true);
    expect(prompt).toContain('Step 1: 75 - 25 = 50. Remaining: 50, 8, 3.');
    expect(prompt).toContain('Step 3: 100 = (75-25)*2. The answer is \\boxed{(75-25)*2}.');
    expect(prompt).toContain('blank line');
    expect(prompt).toContain(`equals ${p.target}`);
    // The examples in the prompt are themselves in the replayable format.
    const example = replaySteps({ ...p, numbers: [75, 25, 8, 3], target: 50 }, ['Step 1: 75 - 25 = 50. Remaining: 50, 8, 3.']);
    expect('error' in example).toBe(false);
    // A model that follows the prompt's format on this problem produces steps that replay.
    const solution = (p.solution ?? '').split(STEP_DELIMITER);
    expect(replaySteps(p, solution)).toMatchObject({ answered: expect.any(String) });
  });

  it('describes steps for backtrack sentences', () => {
    expect(countdownDomain.describeStep('Step 2: 75 - 25 = 50. Remaining: 50, 8, 3.')).toBe('computed 75 - 25 = 50');
    expect(describeCountdownStep('## Step 1: 6 × 4 = 24.')).toBe('computed 6 * 4 = 24');
    expect(describeCountdownStep('Step 3: 100 = (75-25)*2. The answer is \\boxed{(75-25)*2}.')).toBe('answered (75-25)*2');
    expect(describeCountdownStep('Step 4: Let me think again.')).toBe('Let me think again');
    const started = performance.now();
    expect(describeCountdownStep('1'.repeat(100_000)).length).toBe(400);
    expect(performance.now() - started).toBeLessThan(200);
    const p = { id: 'x', domain: 'countdown', source: 't', question: 'q', answer: '24', numbers: [6, 4, 1], target: 24 };
    const applied = applyAction(initialState(p), (0 * 6 + 1) * 4 + 2);
    expect(`Let's go back to where we ${countdownDomain.describeStep(applied.step)}.`).toBe("Let's go back to where we computed 6 * 4 = 24.");
    expect(countdownDomain.describeStep(applyAction(applied.state, ANSWER_OFFSET).step)).toBe('answered 6*4');
  });
});
