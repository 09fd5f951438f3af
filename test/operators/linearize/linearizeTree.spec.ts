import { describe, expect, it } from 'vitest';
import { stableId } from '../../../operators/common/hash.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { defaultLinearizeConfig, linearizeConfigHash, linearizerId, type LinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { linearizeTree } from '../../../operators/linearize/linearizeTree.js';
import { countBacktracks, countReflections } from '../../../operators/linearize/phrases.js';
import type { TokenCounter } from '../../../operators/linearize/tokenCount.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import type { Verifier } from '../../../operators/verify/verifier.js';
import type { NodeSpec } from '../../helpers/treeArbitraries.js';
import { Trace } from '../../../schemas/trace.js';
import { buildTree, testDomain, testVerifier } from '../../helpers/treeArbitraries.js';

// 0 ─┬─ 1 A (R 1) ─┬─ 2 B (R .9) ── 3 \boxed{5} wrong       Q(A) = 3.8/5 = .76, Q(B) = .45
//    │             └─ 4 C (R .9) ── 5 \boxed{3} n*          Q(C) = .95
//    └─ 6 D (R .2) ── 7 \boxed{4} wrong                     Q(D) = .1
const golden: NodeSpec[] = [
  { step: 'Step A.', r: 1, children: [{ step: 'Step B.', r: 0.9, children: [{ step: 'So \\boxed{5}.' }] }, { step: 'Step C.', r: 0.9, children: [{ step: 'So \\boxed{3}.' }] }] },
  { step: 'Step D.', r: 0.2, children: [{ step: 'So \\boxed{4}.' }] },
];
const deps = { domain: testDomain, verifier: testVerifier };
const verified = (children: readonly NodeSpec[], verifier: Verifier = testVerifier) => labelTree(buildTree(children), verifier);
const cfg = (over: Partial<LinearizeConfig>): LinearizeConfig => ({ ...defaultLinearizeConfig, ...over });

const OPEN = 'But wait, are we solving the problem correctly so far? Hmm...';
const DOUBT = "I'm not sure if we're solving the problem correctly so far.";
const OK = 'Our solution seems to be correct so far.';

describe('linearizeTree: golden traces', () => {
  it('search trace with k = 2: restart, branch-point backtrack, final reflection and answer', async () => {
    const tree = await verified(golden);
    const config = cfg({ kMix: [2], seed: 11 });
    const [trace, ...rest] = await linearizeTree(tree, config, deps);
    expect(rest).toEqual([]);
    expect(trace?.completion).toBe(
      [
        'Step D.',
        'So \\boxed{4}.',
        `${OPEN} ${DOUBT} Let's restart our solution from the beginning.`,
        'Step A.',
        'Step B.',
        'So \\boxed{5}.',
        `${OPEN} ${DOUBT} Let's go back to where we reached step a.`,
        'Step C.',
        'So \\boxed{3}.',
        `${OPEN} ${OK}`,
        'Therefore, the final answer is \\boxed{3}.',
      ].join('\n\n'),
    );
    const prompt = 'Solve: What is 1 + 2?';
    expect(trace).toEqual({
      trace_id: stableId('trace', 'tree_test', linearizeConfigHash(config), 0),
      tree_id: 'tree_test',
      problem_id: 'p1',
      domain: 'test',
      source: 'unit',
      problem_json: JSON.stringify(tree.problem),
      prompt,
      completion: trace?.completion,
      messages: [{ role: 'user', content: prompt }, { role: 'assistant', content: trace?.completion }],
      answer: '3',
      correct: true,
      variant: 'search',
      k: 2,
      num_backtracks: 2,
      num_reflections: 3,
      node_path: [0, 6, 7, 0, 1, 2, 3, 1, 4, 5],
      policy_version: 'test-policy@1',
      linearizer: linearizerId,
      linearizer_config_hash: linearizeConfigHash(config),
      verifier: 'test-boxed@1.0.0',
      created_at: tree.created_at,
    });
    expect(() => Trace.parse(trace)).not.toThrow();
  });

  it('positive reflections after high-Q intermediate nodes, spaced by reflectionEverySteps', async () => {
    const tree = await verified(golden);
    const [every1] = await linearizeTree(tree, cfg({ kMix: [2], reflectionEverySteps: 1 }), deps);
    expect(every1?.completion.split('\n\n')).toEqual([
      'Step D.', // Q .1: no reflection
      'So \\boxed{4}.',
      `${OPEN} ${DOUBT} Let's restart our solution from the beginning.`,
      'Step A.',
      `${OPEN} ${OK}`, // Q .76 ≥ .75
      'Step B.', // Q .45
      'So \\boxed{5}.',
      `${OPEN} ${DOUBT} Let's go back to where we reached step a.`,
      'Step C.',
      `${OPEN} ${OK}`, // Q .95
      'So \\boxed{3}.',
      `${OPEN} ${OK}`, // always after the final step
      'Therefore, the final answer is \\boxed{3}.',
    ]);
    expect(every1?.num_reflections).toBe(5);
    const [strict] = await linearizeTree(tree, cfg({ kMix: [2], reflectionEverySteps: 1, reflectionMinQ: 0.8 }), deps);
    expect(countReflections(strict?.completion ?? '')).toBe(4);
  });

  it('direct trace and its ablation twin', async () => {
    const tree = await verified(golden);
    const traces = await linearizeTree(tree, cfg({ kMix: [0], ablation: true }), deps);
    expect(traces.map((t) => t.variant)).toEqual(['direct', 'direct_ablation']);
    expect(traces[0]?.completion).toBe(['Step A.', 'Step C.', 'So \\boxed{3}.', `${OPEN} ${OK}`, 'Therefore, the final answer is \\boxed{3}.'].join('\n\n'));
    expect(traces[1]?.completion).toBe(['Step A.', 'Step C.', 'So \\boxed{3}.', 'Therefore, the final answer is \\boxed{3}.'].join('\n\n'));
    expect(traces.map((t) => [t.k, t.num_backtracks, t.num_reflections])).toEqual([[0, 0, 1], [0, 0, 0]]);
    expect(traces[1]?.node_path).toEqual([0, 1, 4, 5]);
    expect(new Set(traces.map((t) => t.trace_id)).size).toBe(2);
  });
});

describe('linearizeTree: choices and counted drops', () => {
  it('default mix on the golden tree: 1 direct + 3 search on distinct paths; the ablation arm has one direct path to offer', async () => {
    const metrics = new InMemoryMetrics();
    const traces = await linearizeTree(await verified(golden), cfg({ ablation: true, seed: 3 }), { ...deps, metrics });
    expect(traces.map((t) => `${t.variant}:${t.k}`)).toEqual(['direct:0', 'search:1', 'search:1', 'search:2', 'direct_ablation:0']);
    for (const t of traces) {
      expect(t.num_backtracks).toBe(countBacktracks(t.completion));
      expect(t.num_backtracks).toBe(t.k);
    }
    // The two k = 1 traces visit the two different wrong answers: no node path twice.
    expect(new Set(traces.map((t) => `${t.variant}|${t.node_path.join(',')}`)).size).toBe(traces.length);
    expect(new Set(traces.map((t) => t.completion)).size).toBe(traces.length);
    expect(metrics.counter('linearize.traces')).toBe(5);
    expect(metrics.counter('linearize.k_reduced')).toBe(0);
    // One correct terminal: one direct path, so three of the four written traces have no ablation match.
    expect(metrics.counter('linearize.ablation_unmatched')).toBe(3);
  });

  it('never repeats a node path: fewer traces when the tree has fewer, counted', async () => {
    const metrics = new InMemoryMetrics();
    // One correct terminal and one wrong answer: one direct path and one search path exist.
    const tree = await verified([{ step: 'Step A.', children: [{ step: 'So \\boxed{3}.' }, { step: 'So \\boxed{4}.' }] }]);
    const traces = await linearizeTree(tree, cfg({ kMix: [0, 0, 1, 1, 2], ablation: true }), { ...deps, metrics });
    expect(traces.map((t) => `${t.variant}:${t.k}`)).toEqual(['direct:0', 'search:1', 'direct_ablation:0']);
    expect(metrics.counter('linearize.repeat_skipped')).toBe(3);
    expect(metrics.counter('linearize.ablation_unmatched')).toBe(1);
  });

  it('matches the ablation arm with distinct direct paths, its own n* first', async () => {
    const tree = await verified([{ step: 'a \\boxed{3}' }, { step: 'b \\boxed{3}' }, { step: 'c \\boxed{3}' }, { step: 'w \\boxed{1}' }]);
    const traces = await linearizeTree(tree, cfg({ kMix: [1, 1, 1], ablation: true, seed: 4 }), deps);
    const search = traces.filter((t) => t.variant === 'search');
    const ablation = traces.filter((t) => t.variant === 'direct_ablation');
    expect(search).toHaveLength(3);
    expect(ablation).toHaveLength(3);
    expect(new Set(ablation.map((t) => t.completion)).size).toBe(3);
    expect(ablation[0]?.node_path.at(-1)).toBe(search[0]?.node_path.at(-1));
  });

  it('an invalid tree gives no traces and is counted', async () => {
    const metrics = new InMemoryMetrics();
    const tree = await verified([{ step: 'So \\boxed{4}.' }]);
    expect(tree.valid).toBe(false);
    expect(await linearizeTree(tree, defaultLinearizeConfig, { ...deps, metrics })).toEqual([]);
    expect(metrics.counter('linearize.invalid_trees')).toBe(1);
  });

  it('no wrong terminal: only the direct trace, skipped search traces counted', async () => {
    const metrics = new InMemoryMetrics();
    const traces = await linearizeTree(await verified([{ step: 'Step A.', children: [{ step: '\\boxed{3}' }] }]), cfg({ ablation: true }), { ...deps, metrics });
    expect(traces.map((t) => t.variant)).toEqual(['direct', 'direct_ablation']);
    expect(metrics.counter('linearize.search_skipped_no_wrong')).toBe(3);
  });

  it('repeated wrong answers (up to spacing) count once: k is reduced and counted', async () => {
    const metrics = new InMemoryMetrics();
    const tree = await verified([{ step: 'x \\boxed{4}' }, { step: 'y \\boxed{ 4 }' }, { step: 'z \\boxed{3}' }]);
    const traces = await linearizeTree(tree, cfg({ kMix: [2, 3] }), { ...deps, metrics });
    expect(traces.map((t) => t.k)).toEqual([1, 1]);
    expect(metrics.counter('linearize.k_reduced')).toBe(2);
  });

  it('re-verification drops a trace whose last box is wrong', async () => {
    const metrics = new InMemoryMetrics();
    // Labelled by a verifier that accepts everything, re-verified by the real one: n* = \boxed{9} fails.
    const lenient: Verifier = { ...testVerifier, verify: async (p, r) => ({ ...(await testVerifier.verify(p, r)), correct: true }) };
    const tree = await verified([{ step: 'So \\boxed{9}.' }], lenient);
    expect(await linearizeTree(tree, cfg({ kMix: [0] }), { ...deps, metrics })).toEqual([]);
    expect(metrics.counter('linearize.reverify_failed')).toBe(1);
  });

  it('drops and counts traces over maxTraceChars', async () => {
    const metrics = new InMemoryMetrics();
    const traces = await linearizeTree(await verified(golden), cfg({ kMix: [0, 2], maxTraceChars: 200 }), { ...deps, metrics });
    expect(traces.map((t) => t.variant)).toEqual(['direct']);
    expect(metrics.counter('linearize.too_long')).toBe(1);
  });

  it('drops and counts traces over maxTraceTokens, counted by the given tokenizer or an estimate marked as such', async () => {
    const tree = await verified(golden);
    const words: TokenCounter = { name: 'words', exact: true, count: (text) => text.split(/\s+/u).filter((w) => w.length > 0).length };
    // Direct trace: 20 words of completion + 5 of prompt; the k = 2 search trace is longer.
    const metrics = new InMemoryMetrics();
    const traces = await linearizeTree(tree, cfg({ kMix: [0, 2], maxTraceTokens: 40 }), { ...deps, metrics, tokenizer: words });
    expect(traces.map((t) => t.variant)).toEqual(['direct']);
    expect(words.count(`${traces[0]?.prompt} ${traces[0]?.completion}`)).toBeLessThanOrEqual(40);
    expect(metrics.counter('linearize.too_long_tokens')).toBe(1);
    expect(metrics.counter('linearize.token_counts.exact')).toBe(2);
    expect(metrics.counter('linearize.token_counts.estimated')).toBe(0);
    const estimated = new InMemoryMetrics();
    await linearizeTree(tree, cfg({ kMix: [0, 2], maxTraceTokens: 40 }), { ...deps, metrics: estimated });
    expect(estimated.counter('linearize.token_counts.estimated')).toBe(2);
    // Short traces are never tokenized: they cannot reach the cap (a token covers at least a byte).
    const unused: TokenCounter = { name: 'unused', exact: true, count: () => { throw new Error('should not be called'); } };
    const all = new InMemoryMetrics();
    expect(await linearizeTree(tree, cfg({ kMix: [0, 2] }), { ...deps, metrics: all, tokenizer: unused })).toHaveLength(2);
    expect(all.counter('linearize.token_counts.exact')).toBe(0);
  });

  it('is deterministic for a seed, and picks n* among several correct terminals, each once', async () => {
    const tree = await verified([{ step: 'a \\boxed{3}' }, { step: 'b \\boxed{3}' }, { step: 'c \\boxed{3}' }, { step: 'w \\boxed{1}' }]);
    const run = (seed: number) => linearizeTree(tree, cfg({ kMix: Array(12).fill(0), seed }), deps);
    expect(await run(5)).toEqual(await run(5));
    const targets = (await run(5)).map((t) => t.node_path.at(-1));
    expect([...targets].sort()).toEqual([1, 2, 3]);
    const firsts = new Set<number | undefined>();
    for (let seed = 0; seed < 20; seed += 1) firsts.add((await run(seed))[0]?.node_path.at(-1));
    expect(firsts.size).toBeGreaterThan(1);
  });
});
