import { describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { defaultLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { filterBySelfEval, indexTree, linearizeTree, type SolutionJudge } from '../../../operators/linearize/index.js';
import { collectTerminals } from '../../../operators/linearize/terminals.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import type { Problem } from '../../../schemas/problem.js';
import { buildTree, testDomain, testVerifier, type NodeSpec } from '../../helpers/treeArbitraries.js';

// Two correct terminals (5 under A, 6 under B... both answer 3) and one wrong one.
const spec: NodeSpec[] = [
  { step: 'Step A.', r: 1, children: [{ step: 'So \\boxed{3}.' }] },
  { step: 'Step B.', r: 0.5, children: [{ step: 'Hence \\boxed{3}.' }] },
  { step: 'Step D.', r: 0.2, children: [{ step: 'So \\boxed{4}.' }] },
];

/** Approves solutions containing `approve`; records what it was asked. */
function judgeThat(approve: string, asked: { solution: string; n: number; seed: number }[] = [], shortBy = 0): SolutionJudge {
  return {
    judge: async (_problem: Problem, solution: string, n: number, seed: number) => {
      asked.push({ solution, n, seed });
      return Array.from({ length: n - shortBy }, () => solution.includes(approve));
    },
  };
}

describe('self-evaluation filter (ASTRO-METHOD §3.2)', () => {
  it('asks N judgments of each correct root→terminal solution and keeps only unanimous approvals', async () => {
    const tree = await labelTree(buildTree(spec), testVerifier);
    const index = indexTree(tree.nodes);
    const { correct } = collectTerminals(index);
    expect(correct).toHaveLength(2);
    const asked: { solution: string; n: number; seed: number }[] = [];
    const metrics = new InMemoryMetrics();
    const kept = await filterBySelfEval(tree.problem, index, correct, { judgments: 8, seed: 1 }, { judge: judgeThat('Step B.', asked), metrics });
    expect(kept.map((n) => n.step)).toEqual(['Hence \\boxed{3}.']);
    expect(asked.map((a) => a.solution).sort()).toEqual(['Step A.\n\nSo \\boxed{3}.', 'Step B.\n\nHence \\boxed{3}.']);
    expect(asked.every((a) => a.n === 8)).toBe(true);
    expect(metrics.counter('linearize.self_eval_rejected')).toBe(1);
    expect(metrics.counter('linearize.self_eval_judged')).toBe(2);
  });

  it('one dissent, or fewer judgments than asked, rejects', async () => {
    const tree = await labelTree(buildTree(spec), testVerifier);
    const index = indexTree(tree.nodes);
    const { correct } = collectTerminals(index);
    let call = 0;
    const dissent: SolutionJudge = { judge: async (_p, _s, n) => Array.from({ length: n }, (_, i) => !(i === 7 && call++ === 0)) };
    expect(await filterBySelfEval(tree.problem, index, correct, { judgments: 8, seed: 1 }, { judge: dissent })).toHaveLength(1);
    expect(await filterBySelfEval(tree.problem, index, correct, { judgments: 8, seed: 1 }, { judge: judgeThat('Step', [], 1) })).toEqual([]);
  });

  it('in linearizeTree: traces end only at approved terminals; a tree with none approved gives no traces', async () => {
    const tree = await labelTree(buildTree(spec), testVerifier);
    const config = { ...defaultLinearizeConfig, kMix: [0, 0, 0, 1, 1, 1], seed: 5 };
    const traces = await linearizeTree(tree, config, { domain: testDomain, verifier: testVerifier, selfEval: { config: { judgments: 4, seed: 2 }, judge: judgeThat('Step B.') } });
    expect(traces.length).toBeGreaterThan(0);
    for (const t of traces) expect(t.completion).toContain('Hence \\boxed{3}.');
    const plain = await linearizeTree(tree, config, { domain: testDomain, verifier: testVerifier });
    expect(new Set(traces.map((t) => t.linearizer_config_hash))).not.toEqual(new Set(plain.map((t) => t.linearizer_config_hash)));
    const metrics = new InMemoryMetrics();
    const none = await linearizeTree(tree, config, { domain: testDomain, verifier: testVerifier, metrics, selfEval: { config: { judgments: 4, seed: 2 }, judge: judgeThat('nothing') } });
    expect(none).toEqual([]);
    expect(metrics.counter('linearize.self_eval_empty')).toBe(1);
  });
});
