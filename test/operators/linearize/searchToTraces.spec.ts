import { describe, expect, it } from 'vitest';
import { countdownDomain } from '../../../domains/countdown/index.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { DEFAULT_SEARCH_CONFIG } from '../../../operators/mcts/searchConfig.js';
import { searchTree } from '../../../operators/mcts/search.js';
import { defaultLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { linearizeTree } from '../../../operators/linearize/linearizeTree.js';
import { normalizeAnswer } from '../../../operators/linearize/lastBoxed.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import type { Problem } from '../../../schemas/problem.js';
import { Trace } from '../../../schemas/trace.js';
import { buildTree, traceWalkViolations } from '../../helpers/treeArbitraries.js';
import { ToyPolicy, toyDomain, toyProblem, toyVerifier } from '../../helpers/toyDomain.js';

describe('search → verify → linearize', () => {
  it('real MCTS trees (toy domain) linearize into valid traces, with every drop counted', async () => {
    const metrics = new InMemoryMetrics();
    const config = { ...DEFAULT_SEARCH_CONFIG, k: 4, rollouts: 4, iterations: 16, maxDepth: 8 };
    let traces = 0;
    let backtracks = 0;
    let valid = 0;
    for (let target = 2; target <= 9; target += 1) {
      const search = await searchTree(toyProblem(target), { ...config, seed: target }, { policy: new ToyPolicy(), verifier: toyVerifier, clock: () => 1_700_000_000_000 });
      const tree = await labelTree(search, toyVerifier);
      // Search labelled terminals with the same verifier, on the same step text: nothing to relabel.
      expect(tree.relabelled).toBe(0);
      const out = await linearizeTree(tree, { ...defaultLinearizeConfig, ablation: true, seed: 1 }, { domain: toyDomain, verifier: toyVerifier, metrics });
      if (tree.valid) valid += 1;
      else expect(out).toEqual([]);
      for (const trace of out) {
        Trace.parse(trace);
        expect(traceWalkViolations(tree, trace)).toEqual([]);
        expect(normalizeAnswer(trace.answer)).toBe(String(target));
        traces += 1;
        backtracks += trace.num_backtracks;
      }
    }
    expect(valid).toBeGreaterThan(3);
    expect(traces).toBeGreaterThan(valid * 2);
    expect(backtracks).toBeGreaterThan(0);
    expect(metrics.counter('linearize.traces')).toBe(traces);
    expect(metrics.counter('linearize.trees') + metrics.counter('linearize.invalid_trees')).toBe(8);
    expect(metrics.counter('linearize.reverify_failed')).toBe(0);
  });

  it('Countdown golden: the domain describes the branching step', async () => {
    const problem: Problem = { id: 'cd1', domain: 'countdown', source: 'unit', question: 'Use 75, 25, 2, 8 to make 100.', answer: '100', numbers: [75, 25, 2, 8], target: 100 };
    const right = 'Step 3: 100 = (75-25)*2. The answer is \\boxed{(75-25)*2}.';
    const wrong = 'Step 3: 58 * 2 = 116. The answer is \\boxed{(75-25+8)*2}.';
    const search = buildTree(
      [
        {
          step: 'Step 1: 75 - 25 = 50. Remaining: 50, 2, 8.',
          children: [
            { step: 'Step 2: 50 * 2 = 100. Remaining: 100, 8.', children: [{ step: right, recorded: true }] },
            { step: 'Step 2: 50 + 8 = 58. Remaining: 58, 2.', children: [{ step: wrong, recorded: false }] },
          ],
        },
      ],
      { problem },
    );
    const tree = await labelTree(search, countdownDomain.verifier);
    expect([tree.valid, tree.num_correct_terminals, tree.num_incorrect_terminals, tree.relabelled]).toEqual([true, 1, 1, 0]);
    const [trace] = await linearizeTree(tree, { ...defaultLinearizeConfig, kMix: [1] }, { domain: countdownDomain, verifier: countdownDomain.verifier });
    expect(trace?.completion).toBe(
      [
        'Step 1: 75 - 25 = 50. Remaining: 50, 2, 8.',
        'Step 2: 50 + 8 = 58. Remaining: 58, 2.',
        wrong,
        "But wait, are we solving the problem correctly so far? Hmm... I'm not sure if we're solving the problem correctly so far. Let's go back to where we computed 75 - 25 = 50.",
        'Step 2: 50 * 2 = 100. Remaining: 100, 8.',
        right,
        'But wait, are we solving the problem correctly so far? Hmm... Our solution seems to be correct so far.',
        'Therefore, the final answer is \\boxed{(75-25)*2}.',
      ].join('\n\n'),
    );
    expect(trace?.answer).toBe('(75-25)*2');
    expect(trace?.prompt).toBe(countdownDomain.prompt(problem));
    expect(trace?.verifier).toBe('countdown@1.0.0');
  });
});
