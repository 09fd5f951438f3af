import { firstValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { defaultLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { linearizeTrees } from '../../../operators/linearize/linearizeTrees.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import type { Verifier } from '../../../operators/verify/verifier.js';
import { buildTree, testDomain, testVerifier } from '../../helpers/treeArbitraries.js';

describe('linearizeTrees', () => {
  it('emits one Result per tree: traces, [] for invalid, a failure carrying the tree for a bad one', async () => {
    const metrics = new InMemoryMetrics();
    const good = await labelTree(buildTree([{ step: 'A.', children: [{ step: '\\boxed{3}' }] }, { step: '\\boxed{1}' }], { treeId: 'good' }), testVerifier);
    const invalid = await labelTree(buildTree([{ step: '\\boxed{1}' }], { treeId: 'invalid' }), testVerifier);
    // A terminal that was expanded: n* below a wrong terminal cannot be reached by an honest backtrack.
    const expanded = await labelTree(buildTree([{ step: '\\boxed{1}', children: [{ step: '\\boxed{3}' }] }], { treeId: 'expanded' }), testVerifier);
    const out = await firstValueFrom(
      from([good, invalid, expanded]).pipe(linearizeTrees({ ...defaultLinearizeConfig, kMix: [0, 1] }, { domain: testDomain, verifier: testVerifier, metrics }), toArray()),
    );
    expect(out.map((r) => (r.ok ? r.value.map((t) => t.variant).join(',') : `${r.error.kind}:${r.input?.tree_id}`))).toEqual(['direct,search', '', 'linearize:expanded']);
    expect(metrics.counter('linearize.invalid_trees')).toBe(1);
    expect(metrics.counter('linearize.traces')).toBe(2);
  });

  it('turns a re-verification failure of the verifier into a failed Result', async () => {
    const tree = await labelTree(buildTree([{ step: '\\boxed{3}' }]), testVerifier);
    const throwing: Verifier = { ...testVerifier, verify: async () => { throw new Error('verifier crashed'); } };
    const [r] = await firstValueFrom(from([tree]).pipe(linearizeTrees(defaultLinearizeConfig, { domain: testDomain, verifier: throwing }), toArray()));
    expect(r).toMatchObject({ ok: false, error: { kind: 'linearize', message: 'verifier crashed' }, input: { tree_id: 'tree_test' } });
  });

  it('keeps input order and the same traces whatever the concurrency', async () => {
    const trees = await Promise.all(
      [1, 2, 3, 4].map((i) => labelTree(buildTree([{ step: `s${i}.`, children: [{ step: '\\boxed{3}' }, { step: '\\boxed{2}' }] }], { treeId: `t${i}` }), testVerifier)),
    );
    const run = (concurrency: number) => firstValueFrom(from(trees).pipe(linearizeTrees({ ...defaultLinearizeConfig, concurrency }, { domain: testDomain, verifier: testVerifier }), toArray()));
    const one = await run(1);
    const four = await run(4);
    expect(one.map((r) => (r.ok ? r.value[0]?.tree_id : null))).toEqual(['t1', 't2', 't3', 't4']);
    const ids = (rs: typeof one) => rs.flatMap((r) => (r.ok ? r.value.map((t) => t.trace_id) : [])).sort();
    expect(ids(four)).toEqual(ids(one));
    // Per tree: a direct trace and two search traces (k = 1 and k = 2 both pick the one wrong
    // answer: the same node path, so the second is skipped); the repeat of k = 1 is skipped too.
    expect(ids(one)).toHaveLength(8);
  });
});
