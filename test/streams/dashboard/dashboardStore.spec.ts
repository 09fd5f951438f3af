import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SearchTree } from '../../../schemas/searchTree.js';
import type { Trace } from '../../../schemas/trace.js';
import { DashboardStore, timeline } from '../../../streams/dashboard/dashboardStore.js';
import { arbSearchTree, buildTree } from '../../helpers/treeArbitraries.js';

const T0 = 1_700_000_000_000;
// Gold answer '3': one correct and one wrong terminal, or only a wrong one.
const solved = (id: string, at: number, version: string): SearchTree => ({ ...buildTree([{ step: 'a \\boxed{3}' }, { step: 'b \\boxed{4}' }], { treeId: id }), created_at: at, policy_version: version });
const unsolved = (id: string, at: number, version: string): SearchTree => ({ ...buildTree([{ step: 'b \\boxed{4}' }], { treeId: id }), created_at: at, policy_version: version });

const trace = (treeId: string, id: string, backtracks: number): Trace => ({
  trace_id: id, tree_id: treeId, problem_id: 'p', domain: 'countdown', source: 's', problem_json: '{}', prompt: 'q', completion: 'c', messages: [], answer: '3', correct: true,
  variant: backtracks === 0 ? 'direct' : 'search', k: backtracks, num_backtracks: backtracks, num_reflections: 0, node_path: [0, 1], policy_version: 'v', linearizer: 'l', linearizer_config_hash: 'h', verifier: 'x', created_at: T0,
});

describe('DashboardStore', () => {
  it('counts trees, valid trees, traces by variant and backtracks; a replaced record is not counted twice', () => {
    const store = new DashboardStore();
    store.addTree(solved('t1', T0, 'm@v1.aa'));
    store.addTree(unsolved('t2', T0 + 1000, 'm@v1.aa'));
    store.addTree(solved('t1', T0, 'm@v1.aa'));
    store.addTrace(trace('t1', 'a', 0));
    store.addTrace(trace('t1', 'b', 2));
    store.addTrace(trace('t1', 'b', 2));
    const o = store.overview();
    expect(o.counts).toMatchObject({ trees: 2, valid_trees: 1, traces: 2 });
    expect(o.variants).toEqual({ direct: 1, search: 1 });
    expect(o.backtracks).toEqual({ '0': 1, '2': 1 });
    store.removeTree('t2');
    store.removeTrace('t1', 'a');
    expect(store.overview().counts).toMatchObject({ trees: 1, traces: 1 });
  });

  it('groups trees per policy version in version order, with solve and valid counts', () => {
    const store = new DashboardStore();
    store.addTree(solved('a', T0 + 5000, 'm@v2.bb'));
    store.addTree(unsolved('b', T0, 'm@v1.aa'));
    store.addTree(solved('c', T0 + 100, 'm@v1.aa'));
    expect(store.overview().by_policy.map((p) => [p.policy_version, p.trees, p.valid, p.terminals, p.correct_terminals])).toEqual([
      ['m@v1.aa', 2, 1, 3, 1],
      ['m@v2.bb', 1, 1, 2, 1],
    ]);
  });

  it('keeps whole trees up to its bound, newest kept, while every tree is still summarized', () => {
    const store = new DashboardStore(2);
    for (const id of ['a', 'b', 'c']) store.addTree(solved(id, T0, 'm'));
    expect(store.tree('a')).toBeUndefined();
    expect(store.tree('c')?.tree_id).toBe('c');
    expect(store.findTrees('', 10).map((t) => t.tree_id).sort()).toEqual(['a', 'b', 'c']);
  });

  it('dead letters: counted by stage and kind, the newest first', () => {
    const store = new DashboardStore();
    for (const [i, kind] of ['decode', 'schema', 'decode'].entries()) {
      store.addDeadLetter({ source_topic: 't', source_partition: 0, source_offset: i, key: null, value_base64: '', stage: 'search', error_kind: kind, retriable: false, reason: `r${i}`, failed_at: T0 + i });
    }
    const d = store.overview().dead_letters;
    expect(d.total).toBe(3);
    expect(d.by_kind).toEqual([{ stage: 'search', kind: 'decode', count: 2 }, { stage: 'search', kind: 'schema', count: 1 }]);
    expect(d.recent.map((r) => r['reason'])).toEqual(['r2', 'r1', 'r0']);
  });
});

describe('timeline', () => {
  it('puts every tree in exactly one bucket of a round width, at most ~60 buckets', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbSearchTree({ maxNodes: 6 }), fc.integer({ min: 0, max: 10 * 86_400_000 })), { minLength: 1, maxLength: 20 }), (items) => {
        const store = new DashboardStore();
        items.forEach(([tree, offset], i) => store.addTree({ ...tree, tree_id: `t${i}`, created_at: T0 + offset }));
        const summaries = store.findTrees('', 100);
        const { bucket_ms, points } = timeline(summaries, []);
        expect(points.reduce((a, p) => a + p.trees, 0)).toBe(items.length);
        expect(points.length).toBeLessThanOrEqual(61);
        for (const s of summaries) {
          const p = points.find((x) => s.created_at >= x.t && s.created_at < x.t + bucket_ms);
          expect(p).toBeDefined();
        }
      }),
    );
  });
});
