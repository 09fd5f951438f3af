import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { deriveSeed } from '../../../operators/common/rng.js';
import { selectCandidates } from '../../../operators/mcts/candidates.js';
import type { Policy, Rollout, SampleOptions, SearchState, StepProposal } from '../../../operators/mcts/policy.js';
import { searchTree } from '../../../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from '../../../operators/mcts/searchConfig.js';
import { nodeQ } from '../../../operators/mcts/selection.js';
import { checkTreeInvariants } from '../../../operators/mcts/treeInvariants.js';
import { SearchTree, type TreeNode } from '../../../schemas/searchTree.js';
import { addStep, answerStep, toyProblem, ToyPolicy, toyVerifier } from '../../helpers/toyDomain.js';

const clock = (): number => 1_000;
const small: SearchConfig = { ...DEFAULT_SEARCH_CONFIG, k: 4, rollouts: 3, iterations: 10, maxDepth: 8, seed: 11 };

/** A policy answering from fixed tables keyed by the state's steps joined with '|'. */
class ScriptedPolicy implements Policy {
  readonly version = 'scripted@1';
  readonly calls: { kind: 'propose' | 'rollout'; states: string[]; n: number; options: SampleOptions }[] = [];
  constructor(
    private readonly steps: Record<string, string[]>,
    private readonly rollouts: Record<string, Rollout[]>,
  ) {}
  async proposeSteps(states: readonly SearchState[], n: number, options: SampleOptions): Promise<StepProposal[][]> {
    this.calls.push({ kind: 'propose', states: states.map((s) => s.steps.join('|')), n, options });
    return states.map((s) => (this.steps[s.steps.join('|')] ?? []).map((text) => ({ text })));
  }
  async rollout(states: readonly SearchState[], n: number, options: SampleOptions): Promise<Rollout[][]> {
    this.calls.push({ kind: 'rollout', states: states.map((s) => s.steps.join('|')), n, options });
    return states.map((s) => this.rollouts[s.steps.join('|')] ?? []);
  }
  usage() {
    return { promptTokens: 0, completionTokens: 0, calls: this.calls.length };
  }
}

const pick = (n: TreeNode) => ({ id: n.id, parent: n.parent, visits: n.visits, value_sum: n.value_sum, rollout_estimate: n.rollout_estimate });

describe('searchTree on a hand-computed tree', () => {
  const problem = toyProblem(2, 'p2');
  const a2 = addStep(0, 2);
  const right = { text: answerStep(2), truncated: false };
  const wrong = { text: answerStep(0), truncated: false };
  const policy = (): ScriptedPolicy =>
    new ScriptedPolicy(
      { '': [a2, ` ${a2}\n`, answerStep(0)], [a2]: [answerStep(2)] },
      { '': [right, wrong], [a2]: [right, { text: 'Add 1: total 3.', truncated: true }] },
    );
  const config: SearchConfig = { ...DEFAULT_SEARCH_CONFIG, k: 3, rollouts: 2, iterations: 3, maxDepth: 5, seed: 5 };

  it('expands, scores and backs up exactly as ASTRO §2', async () => {
    const p = policy();
    const metrics = new InMemoryMetrics();
    const tree = await searchTree(problem, config, { policy: p, verifier: toyVerifier, clock, metrics });
    // Root: R .5 from 1 of 2 rollouts; its evaluation is its first visit (N 1, Q .5).
    // it1: expand the root: Add 2 (R .5; the truncated rollout counts 0) and \boxed{0} (R 0), both
    //      unvisited. Backup [0]: N(root) 2, Q(root) = (0 + .5) / (0 + 1) = .5.
    // it2: PUCT at N 2: Add 2 = .5 + .5·√2/1 > \boxed{0} = 0 + .5·√2/1 -> expand Add 2 -> \boxed{2}
    //      (R 1, unvisited). Backup [0, 1]: N(1) 1, Q(1) = .5; N(root) 3, Q = (.5 + .5·1) / (1 + 1) = .5.
    // it3: Add 2 (.5 + .5·√3/2 ≈ .93) beats \boxed{0} (.5·√3/1 ≈ .87); under it the unvisited
    //      \boxed{2} (Q = R = 1) is visited for the first time. Backup [0, 1, 3]: N(3) 1, Q(3) 1;
    //      N(1) 2, Q(1) = (1·1 + .5) / (1 + 1) = .75; N(root) 4, Q = (.75·2 + 0·0 + .5) / (2 + 1) = 2/3.
    expect(tree.nodes.map(pick)).toEqual([
      { id: 0, parent: -1, visits: 4, value_sum: expect.closeTo((4 * 2) / 3, 12), rollout_estimate: 0.5 },
      { id: 1, parent: 0, visits: 2, value_sum: 1.5, rollout_estimate: 0.5 },
      { id: 2, parent: 0, visits: 0, value_sum: 0, rollout_estimate: 0 },
      { id: 3, parent: 1, visits: 1, value_sum: 1, rollout_estimate: 1 },
    ]);
    expect(tree.nodes.map((n) => [n.step, n.terminal, n.expanded, n.answer, n.correct, n.rollouts, n.prior])).toEqual([
      ['', false, true, null, null, 2, 1],
      [a2, false, true, null, null, 2, 0.5],
      [answerStep(0), true, false, '0', false, 0, 0.5],
      [answerStep(2), true, false, '2', true, 0, 1],
    ]);
    expect(checkTreeInvariants(tree)).toEqual([]);
    expect(tree.settings).toMatchObject({ backup: 'paper', exhausted: 'skip' });
    expect([metrics.counter('mcts.expansions'), metrics.counter('mcts.first_visits'), metrics.counter('mcts.revisits')]).toEqual([2, 1, 0]);
    // One proposeSteps per expansion, one batched rollout call per expansion with non-terminal children (+ the root).
    expect(p.calls.map((c) => [c.kind, c.states, c.n, c.options.seed, c.options.maxSteps])).toEqual([
      ['rollout', [''], 2, deriveSeed(5, 'p2', 0, 'rollout'), 5],
      ['propose', [''], 3, deriveSeed(5, 'p2', 0, 'expand'), undefined],
      ['rollout', [a2], 2, deriveSeed(5, 'p2', 1, 'rollout'), 4],
      ['propose', [a2], 3, deriveSeed(5, 'p2', 1, 'expand'), undefined],
    ]);
    expect(tree.stats).toEqual({ iterations: 3, step_samples: 4, rollouts: 4, policy_calls: 4, prompt_tokens: 0, completion_tokens: 0, duration_ms: 0 });
    expect(tree.search_verifier).toBe('toy-verifier@1');
    expect(tree.policy_version).toBe('scripted@1');
  });

  it('with the legacy backup builds the tree recorded before the paper backup (children born visited)', async () => {
    const tree = await searchTree(problem, { ...config, backup: 'legacy', exhausted: 'revisit' }, { policy: policy(), verifier: toyVerifier, clock });
    // it1: root (R .5) expands to Add 2 (R .5) and \boxed{0} (R 0), each born with one visit.
    // it2: Add 2 is expanded -> \boxed{2} (R 1). it3: the terminal \boxed{2} is revisited.
    expect(tree.nodes.map(pick)).toEqual([
      { id: 0, parent: -1, visits: 5, value_sum: 3, rollout_estimate: 0.5 },
      { id: 1, parent: 0, visits: 3, value_sum: 2.5, rollout_estimate: 0.5 },
      { id: 2, parent: 0, visits: 1, value_sum: 0, rollout_estimate: 0 },
      { id: 3, parent: 1, visits: 2, value_sum: 2, rollout_estimate: 1 },
    ]);
    expect(tree.settings).toMatchObject({ backup: 'legacy', exhausted: 'revisit' });
    expect(checkTreeInvariants(tree)).toEqual([]);
  });

  it('ends the search early once nothing is left to expand (an empty expansion), and revisits with exhausted: revisit', async () => {
    const p = new ScriptedPolicy({ '': ['  ', ''] }, { '': [right, wrong, wrong, wrong] });
    const metrics = new InMemoryMetrics();
    const tree = await searchTree(problem, { ...config, rollouts: 4, iterations: 6 }, { policy: p, verifier: toyVerifier, clock, metrics });
    expect(tree.nodes).toHaveLength(1);
    expect(tree.nodes[0]).toMatchObject({ visits: 2, value_sum: 0.25 * 2, expanded: true, rollouts: 4 });
    expect(tree.stats.iterations).toBe(1);
    expect(metrics.counter('mcts.exhausted_trees')).toBe(1);
    expect(checkTreeInvariants(tree)).toEqual([]);
    const revisited = await searchTree(problem, { ...config, rollouts: 4, iterations: 6, exhausted: 'revisit' }, { policy: p, verifier: toyVerifier, clock });
    expect(revisited.nodes[0]).toMatchObject({ visits: 7, value_sum: 0.25 * 7, expanded: true });
    expect(revisited.stats.iterations).toBe(6);
    expect(p.calls.filter((c) => c.kind === 'propose')).toHaveLength(2);
    expect(checkTreeInvariants(revisited)).toEqual([]);
  });

  it('passes rolloutMaxSteps and temperature/top-p to the policy', async () => {
    const p = policy();
    await searchTree(problem, { ...config, rolloutMaxSteps: 7, temperature: 0.6, topP: 0.9 }, { policy: p, verifier: toyVerifier, clock });
    expect(p.calls.every((c) => c.options.temperature === 0.6 && c.options.topP === 0.9)).toBe(true);
    expect(p.calls.filter((c) => c.kind === 'rollout').map((c) => c.options.maxSteps)).toEqual([7, 7]);
  });
});

describe('searchTree depth cap', () => {
  it('makes non-terminal nodes at the cap dead ends with R = 0 and no rollouts, each visited at most once', async () => {
    const policy = new ToyPolicy();
    const tree = await searchTree(toyProblem(5), { ...small, maxDepth: 1, iterations: 6 }, { policy, verifier: toyVerifier, clock });
    expect(Math.max(...tree.nodes.map((n) => n.depth))).toBe(1);
    const deadEnds = tree.nodes.filter((n) => n.depth === 1 && !n.terminal);
    expect(deadEnds.length).toBeGreaterThan(0);
    for (const n of deadEnds) expect(n).toMatchObject({ rollout_estimate: 0, rollouts: 0, value_sum: 0, expanded: false });
    expect(policy.calls.filter((c) => c.kind === 'rollout')).toHaveLength(1); // the root's only
    expect(policy.calls.filter((c) => c.kind === 'propose')).toHaveLength(1);
    // One expansion, then first visits of the leaves until the budget or the leaves run out.
    const leaves = tree.nodes.length - 1;
    expect(tree.stats.iterations).toBe(Math.min(6, 1 + leaves));
    expect(tree.nodes.slice(1).filter((n) => n.visits === 1)).toHaveLength(tree.stats.iterations - 1);
    expect(tree.nodes.every((n) => n.id === 0 || n.visits <= 1)).toBe(true);
    expect(tree.nodes[0]?.visits).toBe(tree.stats.iterations + 1);
    expect(checkTreeInvariants(tree)).toEqual([]);
  });
});

describe('searchTree properties (toy domain)', () => {
  const configArb = fc.record({
    k: fc.integer({ min: 1, max: 6 }),
    rollouts: fc.integer({ min: 0, max: 4 }),
    iterations: fc.integer({ min: 1, max: 14 }),
    maxDepth: fc.integer({ min: 1, max: 7 }),
    cPuct: fc.double({ min: 0, max: 3, noNaN: true }),
    temperature: fc.constant(1),
    topP: fc.constant(0.95),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    backup: fc.constantFrom('paper' as const, 'legacy' as const),
    exhausted: fc.constantFrom('skip' as const, 'revisit' as const),
  });
  const scoresArb = fc.constantFrom('none' as const, 'logprob' as const, 'prior' as const);

  it('keeps every invariant, validates, and makes exactly the expected policy calls', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, scoresArb, fc.integer({ min: 1, max: 9 }), async (config, scores, target) => {
        const problem = toyProblem(target);
        const policy = new ToyPolicy({ scores });
        const metrics = new InMemoryMetrics();
        const tree = await searchTree(problem, config, { policy, verifier: toyVerifier, clock, metrics });
        expect(checkTreeInvariants(tree)).toEqual([]);
        expect(() => SearchTree.parse(tree)).not.toThrow();
        for (const n of tree.nodes) {
          expect(nodeQ(n)).toBeGreaterThanOrEqual(0);
          expect(nodeQ(n)).toBeLessThanOrEqual(1 + 1e-12);
          expect(n.depth).toBeLessThanOrEqual(config.maxDepth);
        }
        // Every iteration is one of these; skipping spent subtrees leaves no revisits, and the
        // budget is used up unless the whole tree was spent.
        const kinds = ['mcts.expansions', 'mcts.expansions_empty', 'mcts.first_visits', 'mcts.revisits'].map((k) => metrics.counter(k));
        expect(kinds.reduce((a, b) => a + b, 0)).toBe(tree.stats.iterations);
        if (config.exhausted === 'skip') {
          expect(metrics.counter('mcts.revisits')).toBe(0);
          expect(tree.stats.iterations === config.iterations || metrics.counter('mcts.exhausted_trees') === 1).toBe(true);
        } else expect(tree.stats.iterations).toBe(config.iterations);
        if (config.backup === 'paper') expect(tree.nodes[0]?.visits).toBe(tree.stats.iterations + 1);
        const stepsOf = (id: number): string[] => {
          const out: string[] = [];
          for (let n = tree.nodes[id]; n !== undefined && n.parent >= 0; n = tree.nodes[n.parent]) out.unshift(n.step);
          return out;
        };
        const key = (steps: readonly string[]): string => JSON.stringify(steps);
        const expanded = tree.nodes.filter((n) => n.expanded);
        const proposes = policy.calls.filter((c) => c.kind === 'propose');
        // Exactly one proposeSteps (one state, n = k) per expanded node, seeded by that node's id.
        expect(proposes.map((c) => key(c.states[0] ?? [])).sort()).toEqual(expanded.map((n) => key(stepsOf(n.id))).sort());
        expect(proposes.every((c) => c.states.length === 1 && c.n === config.k)).toBe(true);
        for (const n of expanded) {
          const call = proposes.find((c) => key(c.states[0] ?? []) === key(stepsOf(n.id)));
          expect(call?.options.seed).toBe(deriveSeed(config.seed, problem.id, n.id, 'expand'));
        }
        // Every node is a kept proposal of its parent's one call: rollouts never become nodes.
        let childCount = 0;
        for (const n of expanded) {
          const call = proposes.find((c) => key(c.states[0] ?? []) === key(stepsOf(n.id)));
          const [proposals] = await new ToyPolicy({ scores }).proposeSteps([{ problem, steps: stepsOf(n.id) }], config.k, call?.options ?? { seed: 0, temperature: 1, topP: 1 });
          const { candidates } = selectCandidates(proposals ?? []);
          const kids = tree.nodes.filter((c) => c.parent === n.id);
          expect(kids.map((c) => [c.step, c.prior])).toEqual(candidates.map((c) => [c.text, c.prior]));
          childCount += kids.length;
        }
        expect(tree.nodes.length).toBe(1 + childCount);
        // One batched rollout call per expansion with rollable children (+ the root's), n = M.
        const rolled = tree.nodes.filter((n) => n.rollouts > 0);
        const rollCalls = policy.calls.filter((c) => c.kind === 'rollout');
        if (config.rollouts === 0) expect(rollCalls).toHaveLength(0);
        else {
          const groups = new Map<number, string[]>();
          for (const n of rolled) groups.set(n.parent, [...(groups.get(n.parent) ?? []), key(stepsOf(n.id))]);
          expect(rollCalls.map((c) => c.states.map(key))).toEqual([...groups.values()]);
          expect(rollCalls.every((c) => c.n === config.rollouts)).toBe(true);
          expect(rolled.every((n) => n.rollouts === config.rollouts && (n.id === 0 || (!n.terminal && n.depth < config.maxDepth)))).toBe(true);
        }
        expect(tree.stats).toMatchObject({
          policy_calls: proposes.length + rollCalls.length,
          step_samples: proposes.length * config.k,
          rollouts: rolled.length * config.rollouts,
        });
      }),
      { numRuns: 60, seed: 20260425 },
    );
  });

  it('is deterministic for the same input and seed', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.integer({ min: 1, max: 9 }), async (config, target) => {
        const a = await searchTree(toyProblem(target), config, { policy: new ToyPolicy({ scores: 'logprob' }), verifier: toyVerifier, clock });
        const b = await searchTree(toyProblem(target), config, { policy: new ToyPolicy({ scores: 'logprob' }), verifier: toyVerifier, clock });
        expect(b).toEqual(a);
      }),
      { numRuns: 25, seed: 7 },
    );
  });
});

describe('searchTree ids, stats and failures', () => {
  it('derives tree_id from problem, settings, policy version and seed', async () => {
    const run = (config: SearchConfig, version = 'toy@1') =>
      searchTree(toyProblem(4), config, { policy: new ToyPolicy({ version }), verifier: toyVerifier, clock });
    const base = await run(small);
    expect((await run(small)).tree_id).toBe(base.tree_id);
    expect((await run({ ...small, seed: 12 })).tree_id).not.toBe(base.tree_id);
    expect((await run({ ...small, k: 3 })).tree_id).not.toBe(base.tree_id);
    expect((await run(small, 'toy@2')).tree_id).not.toBe(base.tree_id);
    expect((await run({ ...small, rolloutMaxSteps: 3 })).tree_id).not.toBe(base.tree_id);
    expect((await run({ ...small, backup: 'legacy' })).tree_id).not.toBe(base.tree_id);
    expect((await run({ ...small, exhausted: 'revisit' })).tree_id).not.toBe(base.tree_id);
    expect(base.tree_id).toMatch(/^tree_[0-9a-f]{24}$/);
  });

  it('measures duration with the injected clock and reports metrics', async () => {
    let t = 5_000;
    const metrics = new InMemoryMetrics();
    const tree = await searchTree(toyProblem(6), small, { policy: new ToyPolicy(), verifier: toyVerifier, clock: () => (t += 40), metrics });
    expect(tree.stats.duration_ms).toBe(40);
    expect(tree.created_at).toBe(5_080);
    expect(metrics.counter('mcts.trees')).toBe(1);
    expect(metrics.counter('mcts.iterations')).toBe(tree.stats.iterations);
    expect(metrics.counter('mcts.rollouts')).toBe(tree.stats.rollouts);
    expect(metrics.counter('mcts.step_samples')).toBe(tree.stats.step_samples);
    expect(metrics.counter('mcts.expansions') + metrics.counter('mcts.expansions_empty') + metrics.counter('mcts.first_visits') + metrics.counter('mcts.revisits')).toBe(tree.stats.iterations);
  });

  it('finds correct and wrong terminals on the toy domain with the default budget shape', async () => {
    const tree = await searchTree(toyProblem(5), { ...small, iterations: 32 }, { policy: new ToyPolicy(), verifier: toyVerifier, clock });
    expect(tree.nodes.some((n) => n.terminal && n.correct === true)).toBe(true);
    expect(tree.nodes.some((n) => n.terminal && n.correct === false)).toBe(true);
    expect(checkTreeInvariants(tree)).toEqual([]);
  });

  it('rejects when the policy fails', async () => {
    const policy = new ToyPolicy({ failOn: (c) => (c.kind === 'propose' ? new Error('503 from server') : undefined) });
    await expect(searchTree(toyProblem(3), small, { policy, verifier: toyVerifier, clock })).rejects.toThrow('503 from server');
  });
});
