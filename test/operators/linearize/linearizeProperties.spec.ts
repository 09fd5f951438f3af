import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { linearizeTree } from '../../../operators/linearize/linearizeTree.js';
import type { LinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { lastBoxed, normalizeAnswer } from '../../../operators/linearize/lastBoxed.js';
import { POSITIVE_REFLECTION, countBacktracks, countReflections } from '../../../operators/linearize/phrases.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import { Trace } from '../../../schemas/trace.js';
import type { VerifiedTree } from '../../../schemas/verifiedTree.js';
import { arbSearchTree, buildTree, testDomain, testVerifier, traceWalkViolations } from '../../helpers/treeArbitraries.js';

const arbConfig: fc.Arbitrary<LinearizeConfig> = fc.record({
  kMix: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 5 }),
  reflectionMinQ: fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
  reflectionEverySteps: fc.integer({ min: 1, max: 4 }),
  ablation: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  maxTraceTokens: fc.constant(8192),
});

const deps = { domain: testDomain, verifier: testVerifier };
const isWrong = (tree: VerifiedTree, id: number): boolean => tree.nodes[id]?.terminal === true && tree.nodes[id]?.correct === false;

describe('linearizeTree properties', () => {
  it('every trace is a valid walk ending at a correct terminal, with distinct wrong answers and honest counts', async () => {
    // The generator must actually exercise search traces with several backtracks.
    const seen = { valid: 0, search: 0, multi: 0 };
    await fc.assert(
      fc.asyncProperty(arbSearchTree({ maxNodes: 30 }), arbConfig, async (search, config) => {
        const tree = await labelTree(search, testVerifier);
        const metrics = new InMemoryMetrics();
        const traces = await linearizeTree(tree, config, { ...deps, metrics });
        if (!tree.valid) {
          expect(traces).toEqual([]);
          return;
        }
        seen.valid += 1;
        for (const trace of traces) {
          if (trace.variant === 'search') seen.search += 1;
          if (trace.k >= 2) seen.multi += 1;
          Trace.parse(trace);
          expect(trace.answer).toBe(lastBoxed(trace.completion));
          expect(normalizeAnswer(trace.answer)).toBe('3');
          expect((await testVerifier.verify(tree.problem, trace.completion)).correct).toBe(true);
          expect(traceWalkViolations(tree, trace)).toEqual([]);
          expect(trace.num_backtracks).toBe(countBacktracks(trace.completion));
          expect(trace.num_reflections).toBe(countReflections(trace.completion));
          const wrong = trace.node_path.filter((id) => isWrong(tree, id)).map((id) => normalizeAnswer(tree.nodes[id]?.answer ?? ''));
          expect(new Set(wrong).size).toBe(wrong.length);
          expect(wrong.length).toBe(trace.k);
          expect(trace.num_backtracks).toBe(trace.k);
          if (trace.variant === 'direct_ablation') expect(countReflections(trace.completion)).toBe(0);
          else expect(trace.completion.endsWith(`${POSITIVE_REFLECTION}\n\nTherefore, the final answer is \\boxed{${trace.answer}}.`)).toBe(true);
        }
        // The k mix: at most one trace per entry, search traces reduced to the distinct wrong answers
        // available, in entry order; an entry without a trace is counted (no wrong terminal, or no
        // node path left that another trace of the tree did not take).
        const distinctWrong = new Set(tree.nodes.filter((n) => n.terminal && n.correct === false).map((n) => normalizeAnswer(n.answer ?? ''))).size;
        const expected = config.kMix.map((k) => (k === 0 ? 'direct:0' : `search:${Math.min(k, distinctWrong)}`));
        const main = traces.filter((t) => t.variant !== 'direct_ablation');
        let at = 0;
        for (const t of main) {
          while (at < expected.length && expected[at] !== `${t.variant}:${t.k}`) at += 1;
          expect(at, `${t.variant}:${t.k} out of order in ${expected.join(' ')}`).toBeLessThan(expected.length);
          at += 1;
        }
        const skipped = metrics.counter('linearize.repeat_skipped') + metrics.counter('linearize.search_skipped_no_wrong');
        // Distinct paths can still read the same (arbitrary trees may hold siblings with equal text): dropped, counted.
        const sameText = metrics.counter('linearize.repeat_text_dropped');
        expect(main.length + skipped).toBeLessThanOrEqual(config.kMix.length);
        expect(main.length + skipped + sameText).toBeGreaterThanOrEqual(config.kMix.length);
        // No node path and no completion twice; every correct terminal's direct path used before a direct entry is skipped.
        expect(new Set(main.map((t) => t.node_path.join(','))).size).toBe(main.length);
        expect(new Set(traces.map((t) => t.completion)).size).toBe(traces.length);
        const correct = tree.nodes.filter((n) => n.terminal && n.correct === true).length;
        const directs = main.filter((t) => t.variant === 'direct').length;
        expect(directs).toBeLessThanOrEqual(correct);
        if (sameText === 0 && config.kMix.filter((k) => k === 0).length > directs) expect(directs).toBe(correct);
        if (!config.ablation) expect(traces.length).toBe(main.length);
        else if (sameText === 0) expect(traces.length - main.length).toBe(Math.min(main.length, correct));
        else expect(traces.length - main.length).toBeLessThanOrEqual(Math.min(main.length, correct));
        expect(new Set(traces.map((t) => t.trace_id)).size).toBe(traces.length);
      }),
      { numRuns: 200 },
    );
    expect(seen.valid).toBeGreaterThan(30);
    expect(seen.search).toBeGreaterThan(50);
    expect(seen.multi).toBeGreaterThan(20);
  });

  it('is deterministic: the same tree and config give identical traces', async () => {
    await fc.assert(
      fc.asyncProperty(arbSearchTree({ withCorrect: true }), arbConfig, async (search, config) => {
        const tree = await labelTree(search, testVerifier);
        expect(await linearizeTree(tree, config, deps)).toEqual(await linearizeTree(structuredClone(tree), { ...config }, deps));
      }),
      { numRuns: 60 },
    );
  });

  it('n* and wrong terminals vary with the seed (sampling is not stuck)', async () => {
    const tree = await labelTree(
      buildTree([{ step: 'a \\boxed{3}' }, { step: 'b \\boxed{3}' }, { step: 'S.', children: [{ step: 'w \\boxed{1}' }, { step: 'x \\boxed{2}' }] }, { step: 'y \\boxed{4}' }]),
      testVerifier,
    );
    const targets = new Set<number>();
    const wrongs = new Set<number>();
    for (let seed = 0; seed < 30; seed += 1) {
      for (const t of await linearizeTree(tree, { kMix: [1], reflectionMinQ: 0.75, reflectionEverySteps: 3, ablation: false, seed, maxTraceTokens: 8192 }, deps)) {
        targets.add(t.node_path.at(-1) ?? -1);
        t.node_path.filter((id) => isWrong(tree, id)).forEach((id) => wrongs.add(id));
      }
    }
    expect([...targets].sort()).toEqual([1, 2]);
    expect([...wrongs].sort()).toEqual([4, 5, 6]);
  });
});
