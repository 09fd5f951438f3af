import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { searchTreeParallel } from '../../../operators/mcts/parallelSearch.js';
import { searchTree } from '../../../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from '../../../operators/mcts/searchConfig.js';
import { checkTreeInvariants } from '../../../operators/mcts/treeInvariants.js';
import { SearchTree } from '../../../schemas/searchTree.js';
import { toyProblem, ToyPolicy, toyVerifier } from '../../helpers/toyDomain.js';

const clock = (): number => 1_000;
const config: SearchConfig = { ...DEFAULT_SEARCH_CONFIG, k: 4, rollouts: 3, iterations: 16, maxDepth: 8, seed: 3 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('searchTreeParallel', () => {
  it('with one iteration in flight (searchTree) builds the same tree however slowly the policy answers', async () => {
    for (const target of [3, 5, 8]) {
      const problem = toyProblem(target);
      const quick = await searchTree(problem, config, { policy: new ToyPolicy({ scores: 'logprob' }), verifier: toyVerifier, clock });
      // Answers take 0-2 ms depending on the call: any overlap of iterations would change the tree.
      const slowPolicy = new ToyPolicy({ scores: 'logprob', delay: async (call) => sleep((call.states[0]?.length ?? 0) % 3) });
      const slow = await searchTreeParallel(problem, { ...config, parallelIterations: 1 }, { policy: slowPolicy, verifier: toyVerifier, clock });
      expect(slow).toEqual(quick);
    }
  });

  it('keeps several expansions of one tree in flight, and the tree stays sound', async () => {
    let inFlight = 0;
    let peak = 0;
    const policy = new ToyPolicy({
      delay: async (call) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        // Later calls finish first sometimes: completions arrive out of order.
        await sleep(call.kind === 'propose' ? 2 : 1 + (call.states[0]?.length ?? 0) % 3);
        inFlight -= 1;
      },
    });
    const tree = await searchTreeParallel(toyProblem(9), { ...config, iterations: 24, parallelIterations: 6 }, { policy, verifier: toyVerifier, clock });
    expect(peak).toBeGreaterThan(1);
    expect(checkTreeInvariants(tree)).toEqual([]);
    expect(SearchTree.safeParse(tree).success).toBe(true);
    expect(tree.stats.iterations).toBe(24);
    // The paper's backup: one visit per iteration along its path, whatever the completion order.
    expect(tree.nodes[0]?.visits).toBe(25);
    // Legacy backup in parallel: 1 + every expansion's children + one per revisit or empty expansion.
    const legacy = await searchTreeParallel(toyProblem(9), { ...config, iterations: 24, parallelIterations: 6, backup: 'legacy', exhausted: 'revisit' }, { policy, verifier: toyVerifier, clock });
    expect(checkTreeInvariants(legacy)).toEqual([]);
    expect(legacy.nodes[0]?.visits).toBe(legacy.nodes.length + legacy.nodes.filter((n) => n.visits > 1 && n.terminal).reduce((a, n) => a + n.visits - 1, 0) + emptyRevisits(legacy));
  });

  it('records its parallelism in the tree id, never colliding with a sequential tree', async () => {
    const problem = toyProblem(4);
    const a = await searchTreeParallel(problem, { ...config, parallelIterations: 1 }, { policy: new ToyPolicy(), verifier: toyVerifier, clock });
    const b = await searchTreeParallel(problem, { ...config, parallelIterations: 4 }, { policy: new ToyPolicy(), verifier: toyVerifier, clock });
    expect(a.tree_id).not.toBe(b.tree_id);
  });

  it('records the versions a backend says answered the tree (a model swapped mid-tree: both, oldest first), else the policy version', async () => {
    const problem = toyProblem(5);
    const answered = (versions: readonly string[]) => Object.assign(new ToyPolicy(), { takeUsage: () => ({ promptTokens: 0, completionTokens: 0, calls: 1, versions }) });
    const plain = await searchTreeParallel(problem, { ...config, parallelIterations: 1 }, { policy: new ToyPolicy(), verifier: toyVerifier, clock });
    const none = await searchTreeParallel(problem, { ...config, parallelIterations: 1 }, { policy: answered([]), verifier: toyVerifier, clock });
    const swapped = await searchTreeParallel(problem, { ...config, parallelIterations: 1 }, { policy: answered(['a@v1.aaaa', 'a@v2.bbbb']), verifier: toyVerifier, clock });
    expect(plain.policy_version).toBe('toy@1');
    expect(none.policy_version).toBe('toy@1');
    expect(none.tree_id).toBe(plain.tree_id);
    expect(swapped.policy_version).toBe('a@v1.aaaa+a@v2.bbbb');
    expect(swapped.tree_id).not.toBe(plain.tree_id);
  });

  it('reports a policy failure after the other iterations settle', async () => {
    const policy = new ToyPolicy({ failOn: (call) => (call.kind === 'propose' && call.states[0]?.length === 1 ? new Error('boom') : undefined) });
    await expect(searchTreeParallel(toyProblem(6), { ...config, parallelIterations: 4 }, { policy, verifier: toyVerifier, clock })).rejects.toThrow(/boom/);
  });

  it('holds the invariants for any parallelism and seed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2, max: 9 }), async (parallelIterations, seed, target) => {
        const policy = new ToyPolicy({ scores: 'prior', delay: async (call) => sleep((call.options.seed % 3) as number) });
        const tree = await searchTreeParallel(toyProblem(target), { ...config, seed, iterations: 12, parallelIterations }, { policy, verifier: toyVerifier, clock });
        expect(checkTreeInvariants(tree)).toEqual([]);
        expect(tree.stats.iterations).toBeLessThanOrEqual(12);
        expect(tree.nodes[0]?.visits).toBe(tree.stats.iterations + 1);
      }),
      { numRuns: 25 },
    );
  });
});

// Visits spent on nodes that stayed leaves without being terminal (empty expansions, depth-cap dead ends).
function emptyRevisits(tree: SearchTree): number {
  const hasChild = new Set(tree.nodes.map((n) => n.parent));
  return tree.nodes.filter((n) => n.id !== 0 && !n.terminal && !hasChild.has(n.id)).reduce((a, n) => a + n.visits - 1, 0);
}
