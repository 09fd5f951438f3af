import { describe, expect, it } from 'vitest';
import { mathDomain } from '../../../domains/math/index.js';
import { checkTreeInvariants } from '../../../operators/mcts/treeInvariants.js';
import { searchTree } from '../../../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG } from '../../../operators/mcts/searchConfig.js';
import { isTerminalStep } from '../../../operators/mcts/policy.js';
import type { Problem } from '../../../schemas/problem.js';
import { createDryRunPolicy, DRY_RUN_POLICY_VERSION, referenceSteps } from '../../../streams/policies/dryRunPolicy.js';

const problem: Problem = {
  id: 'd1',
  domain: 'math',
  source: 'test',
  question: 'What is $2 \\cdot 3 + 4$?',
  answer: '10',
  solution: 'First, $2 \\cdot 3 = 6$.\n\nThen $6 + 4 = 10$, so the answer is $\\boxed{10}$.\n\nA remark after the answer.',
};
const opts = { seed: 1, temperature: 1, topP: 1 };

describe('dry-run policy', () => {
  it('turns the reference solution into "## Step k:" steps ending at the first box, with the gold answer boxed last', () => {
    const steps = referenceSteps(problem);
    expect(steps).toEqual(['## Step 1: First, $2 \\cdot 3 = 6$.', '## Step 2: Then $6 + 4 = 10$, so the answer is $10$. The final answer is \\boxed{10}.']);
    expect(referenceSteps({ answer: '7' })).toEqual(['## Step 1: The final answer is \\boxed{7}.']);
    expect(referenceSteps({ answer: '7', solution: 'Only prose.\n\nMore prose.' })).toEqual(['## Step 1: Only prose.', '## Step 2: More prose. The final answer is \\boxed{7}.']);
  });

  it('with no mistakes follows the reference exactly, and its rollouts verify', async () => {
    const policy = createDryRunPolicy({ mistakeRate: 0 });
    const [first = []] = await policy.proposeSteps([{ problem, steps: [] }], 3, opts);
    expect(new Set(first.map((p) => p.text))).toEqual(new Set([referenceSteps(problem)[0]]));
    const [rollouts = []] = await policy.rollout([{ problem, steps: [] }], 4, opts);
    for (const r of rollouts) expect((await mathDomain.verifier.verify(problem, r.text)).correct).toBe(true);
  });

  it('makes at least one of k siblings a mistake', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const [proposals = []] = await createDryRunPolicy({ mistakeRate: 0.1 }).proposeSteps([{ problem, steps: [] }], 8, { ...opts, seed });
      expect(new Set(proposals.map((p) => p.text)).size).toBeGreaterThanOrEqual(2);
    }
  });

  it('injects mistakes at the configured rate; a branch that left the reference ends in a wrong answer', async () => {
    const policy = createDryRunPolicy({ mistakeRate: 0.5 });
    const [proposals = []] = await policy.proposeSteps([{ problem, steps: [] }], 200, opts);
    const ref = referenceSteps(problem)[0];
    const mistakes = proposals.filter((p) => p.text !== ref).length;
    expect(mistakes).toBeGreaterThan(70);
    expect(mistakes).toBeLessThan(130);
    const wrong = proposals.find((p) => p.text !== ref)!.text;
    const [rollouts = []] = await createDryRunPolicy({ mistakeRate: 0 }).rollout([{ problem, steps: [wrong] }], 3, opts);
    for (const r of rollouts) expect((await mathDomain.verifier.verify(problem, r.text)).correct).toBe(false);
  });

  it('is deterministic for a seed, proposes nothing after an answer, and respects the rollout step cap', async () => {
    const a = await createDryRunPolicy().rollout([{ problem, steps: [] }], 5, opts);
    const b = await createDryRunPolicy().rollout([{ problem, steps: [] }], 5, opts);
    expect(a).toEqual(b);
    const answered = referenceSteps(problem);
    expect(isTerminalStep(answered[1]!)).toBe(true);
    expect(await createDryRunPolicy().proposeSteps([{ problem, steps: answered }], 2, opts)).toEqual([[]]);
    const [capped = []] = await createDryRunPolicy({ mistakeRate: 0 }).rollout([{ problem, steps: [] }], 1, { ...opts, maxSteps: 1 });
    expect(capped[0]?.truncated).toBe(true);
  });

  it('gives MCTS trees with correct and wrong terminals, marked synthetic', async () => {
    const tree = await searchTree(problem, { ...DEFAULT_SEARCH_CONFIG, iterations: 16, seed: 3 }, { policy: createDryRunPolicy(), verifier: mathDomain.verifier, clock: () => 0 });
    expect(checkTreeInvariants(tree)).toEqual([]);
    expect(tree.policy_version).toBe(DRY_RUN_POLICY_VERSION);
    expect(tree.policy_version).toMatch(/^dry-run@.*synthetic/);
    expect(tree.nodes.some((n) => n.correct === true)).toBe(true);
    const wrongAnswers = new Set(tree.nodes.filter((n) => n.correct === false).map((n) => n.answer));
    expect(wrongAnswers.size).toBeGreaterThanOrEqual(2);
  });
});
